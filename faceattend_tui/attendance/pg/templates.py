"""The gallery's templates shared by the stations (rows are float32 bytes; the gallery code reads them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import contextlib
    from collections.abc import Iterator

    import psycopg


@dataclass(frozen=True)
class TemplateSet:
    """A folder's templates as the database holds them: who made them, and the hash of the set."""

    folder: str
    recognizer: str
    recognizer_sha256: str
    dim: int
    npy_sha256: str  # as the station that stored them computed it; changes whenever the set does
    station: str | None = None


@dataclass(frozen=True)
class TemplateRow:
    embedding: bytes  # dim float32 values, little-endian
    image: str = ""
    photo_sha256: str = ""
    source: str = ""


class TemplateQueries:
    """Template sets and their rows. Uses of the store: _tx."""

    if TYPE_CHECKING:
        @contextlib.contextmanager
        def _tx(self) -> Iterator[psycopg.Connection]: ...

    def template_sets(self) -> dict[str, TemplateSet]:
        """Every folder's template set, without its rows."""
        with self._tx() as conn:
            rows = conn.execute("select folder, recognizer, recognizer_sha256, dim, npy_sha256, station from "
                                "template_sets").fetchall()
        return {r[0]: TemplateSet(*r) for r in rows}

    def template_rows(self, folder: str) -> tuple[TemplateSet, list[TemplateRow]] | None:
        with self._tx() as conn:
            head = conn.execute("select folder, recognizer, recognizer_sha256, dim, npy_sha256, station from "
                                "template_sets where folder = %s", [folder]).fetchone()
            if head is None:
                return None
            rows = conn.execute("select embedding, image, photo_sha256, source from templates where folder = %s "
                                "order by position", [folder]).fetchall()
        return TemplateSet(*head), [TemplateRow(bytes(e), i, p, s) for e, i, p, s in rows]

    def save_templates(self, head: TemplateSet, rows: list[TemplateRow]) -> None:
        """Replace a folder's template set whole."""
        with self._tx() as conn, conn.cursor() as cur:
            cur.execute("insert into template_sets (folder, recognizer, recognizer_sha256, dim, npy_sha256, station, "
                        "changed_at) values (%s, %s, %s, %s, %s, %s, now()) on conflict (folder) do update set "
                        "recognizer = excluded.recognizer, recognizer_sha256 = excluded.recognizer_sha256, "
                        "dim = excluded.dim, npy_sha256 = excluded.npy_sha256, station = excluded.station, "
                        "changed_at = now()",
                        [head.folder, head.recognizer, head.recognizer_sha256, head.dim, head.npy_sha256,
                         head.station])
            cur.execute("delete from templates where folder = %s", [head.folder])
            cur.executemany("insert into templates (folder, position, embedding, image, photo_sha256, source) "
                            "values (%s, %s, %s, %s, %s, %s)",
                            [(head.folder, i, r.embedding, r.image, r.photo_sha256, r.source)
                             for i, r in enumerate(rows)])

    def delete_templates(self, folder: str) -> None:
        with self._tx() as conn:
            conn.execute("delete from template_sets where folder = %s", [folder])
