"""`faceattend db`: the PostgreSQL log shared by several stations (upgrade, import, status).

The URL comes from `--database`, `FACEATTEND_DATABASE` or `database` in faceattend.toml; it is
shown with its password masked.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from faceattend_tui.attendance import StoreError, audit, open_snapshot, open_store
from faceattend_tui.attendance.pgschema import LATEST, mask_url
from faceattend_tui.attendance.staff import ACCOUNTS_SETTING
from faceattend_tui.attendance.tiny.files import LOG_NAME
from faceattend_tui.cli import EXIT_OK, EXIT_SKIPPED, say
from faceattend_tui.cli.records import CommandError, acting
from faceattend_tui.config import Settings

if TYPE_CHECKING:
    from faceattend_tui.attendance import Store
    from faceattend_tui.attendance.pgstore import PgStore

IMPORTED = ".imported.bak"  # the source log after an import: an old copy an erasure names
CHECKED = ("people", "person_groups", "past_groups", "sessions", "expected", "checkins", "marks", "audit", "templates",
           "presence")


def need_database(settings: Settings) -> str:
    if not settings.database:
        raise CommandError("no database: give --database postgresql://user@host/db (or FACEATTEND_DATABASE, or "
                           "database = ... in faceattend.toml)")
    return settings.database


def pg_store(store: Store) -> PgStore:
    """The log of a database URL: open_store and open_snapshot give a PgStore for one."""
    from faceattend_tui.attendance.pgstore import PgStore

    assert isinstance(store, PgStore)
    return store


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    url = need_database(settings)
    try:
        with open_store(settings.data, database=url, station="db upgrade") as store:
            before = pg_store(store).schema_version
            acting(store, "db")
    except StoreError:
        before = None  # a schema too old to read: its own credentials guard it
    mode = "force" if args.force else "auto"
    try:
        with open_store(settings.data, database=url, station="db upgrade", upgrade_mode=mode) as store:
            after = pg_store(store).schema_version
    except StoreError as exc:
        raise CommandError(str(exc)) from None
    say(f"{mask_url(url)}: schema version {after}" + ("" if before == after else " (upgraded)"))
    return EXIT_OK


def cmd_db_status(args: argparse.Namespace, settings: Settings) -> int:
    url = need_database(settings)
    try:
        with open_snapshot(settings.data, database=url) as opened:
            store = pg_store(opened)
            counts = store.counts()
            version = store.schema_version
    except StoreError as exc:
        older = schema_below_latest(url)
        if older is None:
            raise CommandError(str(exc)) from None
        print(f"database: {mask_url(url)}, schema version {older} (this program: {LATEST}); "
              + ("empty: " if older == 0 else "") + "the first station to open it, or `faceattend db upgrade`, "
              "brings it up to date")
        return EXIT_OK
    print(f"database: {mask_url(url)}, schema version {version} (this program: {LATEST})")
    for table, count in counts.items():
        print(f"  {table:14s} {count}")
    return EXIT_OK


def schema_below_latest(url: str) -> int | None:
    """The schema version of a database this program would bring up to date (0: empty), else None."""
    try:
        import psycopg
    except ImportError:  # no PostgreSQL support here: the caller's error says so
        return None

    from faceattend_tui.attendance.pgschema import current_version

    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            version = current_version(conn)
    except psycopg.Error:
        return None
    return version if version < LATEST else None


def cmd_db_import(args: argparse.Namespace, settings: Settings) -> int:
    url = need_database(settings)
    source_root = args.source.expanduser()
    if not (source_root / LOG_NAME).is_file():  # before the lock, which would make the folder
        raise CommandError(f"{source_root}: no attendance log here ({LOG_NAME})")
    with holding(source_root):  # a station writing the log meanwhile would leave its end behind
        code = import_from(source_root, url)
    moved = move_aside(source_root)
    say(f"moved {source_root / LOG_NAME} aside to {moved.name}: the database holds its records now (delete the "
        "copy once the database is backed up; an erasure names it until then)")
    return code


@contextlib.contextmanager
def holding(source_root: Path) -> Iterator[None]:
    """The source log held as a command holds it: refused while a station runs on it."""
    from faceattend_tui.attendance import LockedError, acquire_lock

    try:
        lock = acquire_lock(source_root, what="db import")
    except LockedError as exc:
        raise CommandError(f"{source_root}: {exc}; stop it, then import") from None
    try:
        yield
    finally:
        lock.release()


def move_aside(source_root: Path) -> Path:
    """The imported log (and its journal) renamed, so no door falls back on it unsaid."""
    log = source_root / LOG_NAME
    moved = log.with_name(LOG_NAME + IMPORTED)
    os.replace(log, moved)
    for suffix in (".journal", ".outbox"):  # taken in by the import too
        beside = log.with_suffix(suffix)
        if beside.exists():
            os.replace(beside, beside.with_name(beside.name + IMPORTED))
    return moved


def import_from(source_root: Path, url: str) -> int:
    from faceattend_tui.config import TENSORS_DIR
    from faceattend_tui.station.shared_gallery import sync_gallery

    try:
        source = open_snapshot(source_root)
    except StoreError as exc:
        raise CommandError(f"{source_root}: {exc}") from None
    try:
        actor = acting(source, "db")  # the accounts of the log being copied
    except CommandError:
        source.close()
        raise
    try:
        with source, open_store(source_root, database=url, station="db import", upgrade_mode="auto") as opened:
            target = pg_store(opened)
            if not source.get_setting(ACCOUNTS_SETTING) and target.get_setting(ACCOUNTS_SETTING):
                actor = acting(target, "db")  # the database's own accounts guard an import into it
            expected = source_counts(source)
            left_out, found = target.import_log(source)  # the records' counts as they were committed
            shared = sync_gallery(target, source_root / TENSORS_DIR, "db import")
            expected["templates"] = template_rows(source_root / TENSORS_DIR)
            found["templates"] = target.counts()["templates"]
            audit(target, "db.import", {"from": str(source_root.resolve()), "people": found["people"],
                                        "sessions": found["sessions"]}, actor)  # who moved the log, and when
    except StoreError as exc:
        raise CommandError(str(exc)) from None
    for note in shared.notes:
        say(f"note: {note}")
    return check_counts(expected, left_out, found, url)


def source_counts(store: Store) -> dict[str, int]:
    people, sessions = store.people(), store.sessions()
    return {"people": len(people), "person_groups": sum(len(p.groups) for p in people),
            "past_groups": sum(len(p.past_groups) for p in people), "sessions": len(sessions),
            "expected": sum(len(s.expected) for s in sessions),
            "checkins": sum(len(store.checkins(s.id)) for s in sessions),
            "marks": sum(len(store.marks(s.id)) for s in sessions), "audit": len(store.audit_log()),
            "presence": len(store.presence(date.min, date.max))}


def template_rows(tensors: Path) -> int:
    from faceattend_tui.gallery.templates import load_manifest

    manifest = load_manifest(tensors)
    if manifest is None:
        return 0
    return sum(len(entry.samples) for entry in manifest.people.values() if not entry.stale)


def check_counts(expected: dict[str, int], left_out: dict[str, int], found: dict[str, int], url: str) -> int:
    """One line per table: what the source had, what the database holds now; a difference is an error."""
    wrong = []
    for table in CHECKED:
        want = expected.get(table, 0) - left_out.get(table, 0)
        note = f" ({left_out[table]} of people no longer in the log left out)" if left_out.get(table) else ""
        say(f"  {table:14s} {found.get(table, 0):>8d} of {want}{note}")
        if found.get(table, 0) != want:
            wrong.append(table)
    if wrong:
        raise CommandError(f"the counts in {mask_url(url)} differ from the source: {', '.join(wrong)}")
    say(f"imported into {mask_url(url)}; point every station at it with database = \"...\" in faceattend.toml")
    return EXIT_SKIPPED if any(left_out.values()) else EXIT_OK
