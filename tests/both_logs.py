"""A data root whose log is the TinyDB file or a PostgreSQL database: for tests of rules that hold on both."""

from __future__ import annotations

from pathlib import Path

from faceattend_tui.attendance import backends

BACKENDS = ["tinydb", "postgresql"]  # a test module's `data` fixture takes these as params
DATABASES: dict[Path, str] = {}  # data root -> the PostgreSQL database standing in for its log


def data_root(request, tmp_path: Path) -> Path:
    """The rules hold on both backends: the log file in the data root, or a PostgreSQL database."""
    path = tmp_path / "data"
    if request.param == "postgresql":
        DATABASES[path] = request.getfixturevalue("pg_url")
    return path


def open_store(data: Path, **kwargs):
    return backends.open_store(data, database=DATABASES.get(data, ""), upgrade_mode="auto", **kwargs)
