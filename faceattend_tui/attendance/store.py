"""The attendance log: one TinyDB file plus a small check-in journal.

Files at the data root (default ``<data>/attendance.json``):

* ``attendance.json`` - TinyDB tables ``meta``, ``people``, ``sessions``,
  ``checkins`` and ``audit``. It is written by :class:`AtomicJSONStorage`: the
  whole JSON document goes to a temp file in the same directory, which is
  fsynced and renamed over the log (then the directory is fsynced). A reader or
  a crash sees the old file or the new one, never a mix. Mode 0600.
* ``attendance.journal`` - JSON lines, one per check-in or manual mark, each
  fsynced before :meth:`Store.record_checkin` returns.

Why the journal: TinyDB rewrites the whole file on every write. With 5,000
people and 20,000 check-ins the log is about 6 MB and one atomic rewrite took
80-110 ms on the development VM (see ``benchmarks/bench_store.py``), which is
too slow for the camera path and grows with the log. Appending one fsynced line
costs a small write plus an fsync (0.2-4 ms there), whatever the log size.

The journal is folded into the TinyDB file (one atomic rewrite, then the
journal is deleted) when a session stops, when the store is closed and when it
is opened. Folding is idempotent:
check-ins are keyed by (session, person) and audit records by id, so a crash
between the rewrite and the delete only means the same lines are folded again.
A torn last line (the writer was killed mid-write, so that call never returned)
is dropped; a bad line anywhere else is reported as corruption.

Rarer writes (sessions, people, audit, settings) go straight to the TinyDB file.
``Store.batch()`` groups several of them into one rewrite.

Everything is read once at open and kept in memory: the storage caches the
parsed document, and check-ins are indexed by session and person, with running
counts per session. The store is meant to be used from one thread of one
process; hold ``security.acquire_lock(data_root)`` before opening it, because a
second Store on the same files would fold (and delete) the first one's journal.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from tinydb import TinyDB
from tinydb.storages import Storage

from faceattend_tui.files import atomic_write, fsync_dir, make_private_dir, remove_stale_temps

from .common import Clock, aware, local_now
from .models import AuditEntry, Checkin, Counts, Person, Session

SCHEMA_VERSION = 1
LOG_NAME = "attendance.json"
TABLES = ("meta", "people", "sessions", "checkins", "audit")
UNCHANGED = "the file was left unchanged"

_sync = getattr(os, "fdatasync", os.fsync)


class StoreError(Exception):
    """The attendance log cannot be read or written."""


class NotFoundError(LookupError):
    """A person or session that the caller named does not exist."""


def default_path(data_root: str | os.PathLike) -> Path:
    return Path(data_root) / LOG_NAME


def _load_json_file(path: Path) -> dict | None:
    """Parse and shape-check the log; None when it does not exist or is empty."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StoreError(f"cannot read attendance log {path}: {exc.strerror or exc}") from exc
    if not raw.strip():
        return None
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise StoreError(f"attendance log {path} is not valid JSON ({exc}); {UNCHANGED}") from exc
    _check_shape(path, data)
    return data


def _check_shape(path: Path, data: Any) -> None:
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise StoreError(f"attendance log {path} holds a JSON {kind}, not an object; {UNCHANGED}")
    for name, table in data.items():
        if not isinstance(table, dict):
            raise StoreError(f"attendance log {path}: table {name!r} is not an object; {UNCHANGED}")
        for doc_id, doc in table.items():
            if not doc_id.isdigit() or not isinstance(doc, dict):
                raise StoreError(
                    f"attendance log {path}: table {name!r} has a bad record {doc_id!r}; {UNCHANGED}"
                )


class AtomicJSONStorage(Storage):
    """TinyDB storage that keeps the document in memory and replaces the file atomically."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._data: dict | None = _load_json_file(self.path)
        self._batch_depth = 0
        self._dirty = False

    @property
    def in_batch(self) -> bool:
        return self._batch_depth > 0

    def read(self) -> dict | None:
        return self._data

    def write(self, data: dict) -> None:
        self._data = data
        if self._batch_depth:
            self._dirty = True
        else:
            self._flush()

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Hold writes until the outermost block ends; on an error drop them all."""
        self._batch_depth += 1
        try:
            yield
        except BaseException:
            self._batch_depth -= 1
            if not self._batch_depth:
                self._discard()
            raise
        self._batch_depth -= 1
        if not self._batch_depth and self._dirty:
            self._flush()

    def _flush(self) -> None:
        try:
            payload = json.dumps(self._data, separators=(",", ":")).encode("utf-8")
            atomic_write(self.path, payload)
        except (OSError, TypeError, ValueError) as exc:
            self._discard()
            raise StoreError(f"could not write attendance log {self.path}: {exc}") from exc
        self._dirty = False

    def _discard(self) -> None:
        # TinyDB edits the cached dict in place, so go back to what is on disk.
        self._dirty = False
        self._data = _load_json_file(self.path)


class Store:
    """Owns the attendance log. All reads and writes go through its methods."""

    def __init__(self, path: str | os.PathLike, *, clock: Clock | None = None):
        self.path = Path(path)
        self.journal_path = self.path.with_suffix(".journal")
        self._clock = clock or local_now
        self._checkins: dict[int, dict[str, Checkin]] = {}
        self._counts: dict[int, Counts] = {}
        self._doc_ids: dict[tuple[int, str], int] = {}
        self._audit_ids: set[str] = set()
        self._pending: dict[tuple[int, str], Checkin] = {}
        self._pending_audit: list[AuditEntry] = []
        self._seen_dirty: set[tuple[int, str]] = set()
        self._journal_fd: int | None = None
        self._journal_size = 0
        self._closed = False
        try:
            make_private_dir(self.path.parent)
        except OSError as exc:
            reason = exc.strerror or exc
            raise StoreError(f"cannot create data directory {self.path.parent}: {reason}") from exc
        self._db = TinyDB(self.path, storage=AtomicJSONStorage)
        self._storage: AtomicJSONStorage = self._db.storage
        self._tables = {name: self._db.table(name, cache_size=0) for name in TABLES}
        try:
            self._open()
        except BaseException:
            self._db.close()
            raise

    def _open(self) -> None:
        fresh = self._check_schema()
        self._index()
        entries = self._read_journal()
        if fresh:
            self._tables["meta"].insert({"schema_version": SCHEMA_VERSION, "created": self._iso_now()})
        for checkin, audit in entries:
            self._apply(checkin)
            self._pending[checkin.key] = checkin
            if audit is not None:
                self._pending_audit.append(audit)
        if self.journal_path.exists():
            self.flush_journal()
        remove_stale_temps(self.path)

    # ----- open / close -------------------------------------------------------

    def close(self) -> None:
        """Fold the journal into the log and release the files."""
        if self._closed:
            return
        try:
            self.flush_journal()
        finally:
            self._closed = True
            self._close_journal()
            self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def now(self) -> datetime:
        return aware(self._clock())

    def _iso_now(self) -> str:
        return self.now().isoformat(timespec="milliseconds")

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Group log writes into one atomic rewrite (not used for check-ins)."""
        with self._storage.batch():
            yield

    def _require_open(self) -> None:
        if self._closed:
            raise StoreError(f"attendance log {self.path} is closed")

    # ----- loading --------------------------------------------------------------

    def _raw(self, table: str) -> dict[str, dict]:
        return (self._storage.read() or {}).get(table, {})

    def _check_schema(self) -> bool:
        """Return True for a new, empty log; raise for one this code cannot use."""
        if not self._storage.read():
            return True
        versions = [doc.get("schema_version") for doc in self._raw("meta").values()]
        version = versions[0] if versions else None
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise StoreError(
                f"{self.path} has no valid schema version and does not look like an attendance log; "
                f"{UNCHANGED}"
            )
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"attendance log {self.path} has schema version {version}, newer than this program "
                f"understands ({SCHEMA_VERSION}); upgrade faceattend. {UNCHANGED.capitalize()}"
            )
        return False

    def _index(self) -> None:
        self._parse_all("people", lambda doc_id, doc: Person.from_doc(doc))
        self._parse_all("sessions", Session.from_doc)
        for doc_id, checkin in self._parse_all("checkins", lambda doc_id, doc: Checkin.from_doc(doc)):
            self._apply(checkin)
            self._doc_ids[checkin.key] = doc_id
        for _, entry in self._parse_all("audit", lambda doc_id, doc: AuditEntry.from_doc(doc)):
            self._audit_ids.add(entry.id)

    def _parse_all(self, table: str, parse) -> list[tuple[int, Any]]:
        parsed = []
        for doc_id, doc in self._raw(table).items():
            try:
                parsed.append((int(doc_id), parse(int(doc_id), doc)))
            except (KeyError, TypeError, ValueError) as exc:
                raise StoreError(
                    f"attendance log {self.path}: {table} record {doc_id} is malformed ({exc}); {UNCHANGED}"
                ) from exc
        return parsed

    def _read_journal(self) -> list[tuple[Checkin, AuditEntry | None]]:
        try:
            raw = self.journal_path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise StoreError(f"cannot read journal {self.journal_path}: {exc.strerror or exc}") from exc
        lines = raw.split(b"\n")
        last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
        entries = []
        for number, line in enumerate(lines):
            if not line.strip():
                continue
            try:
                entries.append(_parse_journal_line(line))
            except (KeyError, TypeError, ValueError) as exc:
                if number == last:
                    break  # torn tail: the writer died before that call returned
                raise StoreError(
                    f"journal {self.journal_path} line {number + 1} is corrupt ({exc}); "
                    f"no file was changed"
                ) from exc
        return entries

    # ----- settings ---------------------------------------------------------------

    def _meta(self) -> tuple[int, dict]:
        doc_id, doc = next(iter(self._raw("meta").items()))
        return int(doc_id), doc

    @property
    def schema_version(self) -> int:
        return self._meta()[1]["schema_version"]

    def get_setting(self, key: str, default: Any = None) -> Any:
        return self._meta()[1].get("settings", {}).get(key, default)

    def set_setting(self, key: str, value: Any) -> None:
        """Store a JSON value under `key`; None removes it."""
        doc_id, doc = self._meta()
        settings = dict(doc.get("settings", {}))
        if value is None:
            settings.pop(key, None)
        else:
            settings[key] = value
        self._tables["meta"].update({"settings": settings}, doc_ids=[doc_id])

    # ----- people -------------------------------------------------------------------

    def _find_person(self, name: str) -> tuple[int, Person] | None:
        for doc_id, doc in self._raw("people").items():
            if doc.get("name") == name:
                return int(doc_id), Person.from_doc(doc)
        return None

    def get_person(self, name: str) -> Person | None:
        found = self._find_person(name)
        return found[1] if found else None

    def people(self, include_deleted: bool = False) -> list[Person]:
        people = [Person.from_doc(doc) for doc in self._raw("people").values()]
        return sorted((p for p in people if include_deleted or not p.deleted), key=lambda p: p.name)

    def roster(self, at: datetime | None = None) -> list[str]:
        """Names on the roster now, or at time `at` (enrolled before it, not deleted by then)."""
        people = self.people(include_deleted=at is not None)
        if at is None:
            return [p.name for p in people]
        return [p.name for p in people if p.on_roster_at(at)]

    def add_person(self, name: str, images: int | None = None) -> Person:
        """Add a person, or bring back / update one with that name."""
        name = _clean_name(name, "person")
        found = self._find_person(name)
        if found is None:
            person = Person(name=name, created=self.now(), images=images)
            self._tables["people"].insert(person.to_doc())
            return person
        doc_id, person = found
        person.deleted, person.deleted_at = False, None
        if images is not None:
            person.images = images
        self._tables["people"].update(person.to_doc(), doc_ids=[doc_id])
        return person

    def sync_people(self, enrolled: dict[str, int]) -> tuple[list[str], list[str]]:
        """Match the people to `enrolled` (name -> image count) in one write: add, update, flag removed.

        Returns the names added and the names flagged deleted. One pass, not a search per name.
        """
        raw = self._raw("people")
        existing = {doc.get("name"): int(doc_id) for doc_id, doc in raw.items()}
        added = [name for name in enrolled if name not in existing]
        removed = []
        now = self.now()
        with self.batch():
            if added:
                self._tables["people"].insert_multiple(
                    [Person(name=_clean_name(n, "person"), created=now, images=enrolled[n]).to_doc() for n in added])
            for name, doc_id in existing.items():
                person = Person.from_doc(raw[str(doc_id)])
                if name in enrolled and (person.images != enrolled[name] or person.deleted):
                    person.images, person.deleted, person.deleted_at = enrolled[name], False, None
                elif name not in enrolled and not person.deleted:
                    person.deleted, person.deleted_at = True, now
                    removed.append(name)
                else:
                    continue
                self._tables["people"].update(person.to_doc(), doc_ids=[doc_id])
        return added, removed

    def delete_person(self, name: str) -> Person:
        """Flag a person as deleted; their past check-ins stay."""
        doc_id, person = self._person_or_raise(name)
        person.deleted, person.deleted_at = True, self.now()
        self._tables["people"].update(person.to_doc(), doc_ids=[doc_id])
        return person

    def _person_or_raise(self, name: str) -> tuple[int, Person]:
        found = self._find_person(name)
        if found is None:
            raise NotFoundError(f"no person named {name!r}")
        return found

    # ----- sessions -------------------------------------------------------------------

    def create_session(
        self,
        name: str,
        started_at: datetime,
        late_after_minutes: float | None = None,
        station: str | None = None,
    ) -> Session:
        name = _clean_name(name, "session")
        session = Session(0, name, aware(started_at), None, late_after_minutes, station)
        session.id = self._tables["sessions"].insert(session.to_doc())
        return session

    def end_session(self, session_id: int, ended_at: datetime) -> Session:
        session = self._session_or_raise(session_id)
        session.ended_at = aware(ended_at)
        self._tables["sessions"].update(session.to_doc(), doc_ids=[session_id])
        return session

    def get_session(self, session_id: int) -> Session | None:
        doc = self._raw("sessions").get(str(session_id))
        return None if doc is None else Session.from_doc(session_id, doc)

    def _session_or_raise(self, session_id: int) -> Session:
        session = self.get_session(session_id)
        if session is None:
            raise NotFoundError(f"no session with id {session_id}")
        return session

    def sessions(self) -> list[Session]:
        """All sessions, oldest first."""
        found = [Session.from_doc(int(i), doc) for i, doc in self._raw("sessions").items()]
        return sorted(found, key=lambda s: (s.started_at, s.id))

    def open_sessions(self) -> list[Session]:
        return [s for s in self.sessions() if s.active]

    # ----- check-ins -------------------------------------------------------------------

    def record_checkin(self, checkin: Checkin, *, replace: bool = False,
                       audit: AuditEntry | None = None) -> bool:
        """Journal a check-in; it is on disk when this returns True.

        Returns False (and writes nothing) when the person already has a record
        in that session and `replace` is false.
        """
        self._require_open()
        if not replace and self.has_checkin(checkin.session_id, checkin.person):
            return False
        checkin = dataclasses.replace(checkin)
        entry: dict[str, Any] = {"checkin": checkin.to_doc()}
        if audit is not None:
            entry["audit"] = audit.to_doc()
        self._append_journal(entry)
        self._apply(checkin)
        self._pending[checkin.key] = checkin
        if audit is not None:
            self._pending_audit.append(audit)
        return True

    def touch(self, session_id: int, person: str, when: datetime) -> bool:
        """Note a later sighting (kept in memory, saved when the journal is folded)."""
        checkin = self._checkins.get(session_id, {}).get(person)
        if checkin is None:
            return False
        if checkin.last_seen is None or when > checkin.last_seen:
            checkin.last_seen = aware(when)
            self._seen_dirty.add(checkin.key)
        return True

    def has_checkin(self, session_id: int, person: str) -> bool:
        return person in self._checkins.get(session_id, {})

    def get_checkin(self, session_id: int, person: str) -> Checkin | None:
        checkin = self._checkins.get(session_id, {}).get(person)
        return None if checkin is None else dataclasses.replace(checkin)

    def checkins(self, session_id: int) -> list[Checkin]:
        """Records of one session, in check-in order."""
        found = self._checkins.get(session_id, {}).values()
        return sorted((dataclasses.replace(c) for c in found), key=lambda c: (c.time, c.person))

    def counts(self, session_id: int) -> Counts:
        """Present / late / marked-absent counts of one session (roster absentees not included)."""
        return dataclasses.replace(self._counts.get(session_id, Counts()))

    def erase_checkins(self, person: str) -> int:
        """Delete every check-in of one person (a deletion the staff asked for); returns how many."""
        self._require_open()
        self.flush_journal()
        keys = [(sid, person) for sid, people in self._checkins.items() if person in people]
        doc_ids = [self._doc_ids.pop(key) for key in keys if key in self._doc_ids]
        if doc_ids:
            self._tables["checkins"].remove(doc_ids=doc_ids)
        for session_id, name in keys:
            old = self._checkins[session_id].pop(name)
            self._counts[session_id].add(old.status, -1)
        return len(keys)

    def _apply(self, checkin: Checkin) -> None:
        people = self._checkins.setdefault(checkin.session_id, {})
        counts = self._counts.setdefault(checkin.session_id, Counts())
        old = people.get(checkin.person)
        if old is not None:
            counts.add(old.status, -1)
        people[checkin.person] = checkin
        counts.add(checkin.status)

    # ----- journal ---------------------------------------------------------------------

    def _append_journal(self, entry: dict) -> None:
        line = (json.dumps(entry, separators=(",", ":")) + "\n").encode("utf-8")
        try:
            fd = self._journal()
            _write_all(fd, line)
            _sync(fd)
        except OSError as exc:
            self._undo_partial_line()
            raise StoreError(f"could not write check-in to {self.journal_path}: {exc}") from exc
        self._journal_size += len(line)

    def _journal(self) -> int:
        if self._journal_fd is None:
            existed = self.journal_path.exists()
            flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0)
            self._journal_fd = os.open(self.journal_path, flags, 0o600)
            self._journal_size = os.fstat(self._journal_fd).st_size
            if not existed:
                fsync_dir(self.journal_path.parent)
        return self._journal_fd

    def _undo_partial_line(self) -> None:
        # A half-written line followed by a good one would read as corruption.
        if self._journal_fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._journal_fd, self._journal_size)

    def _close_journal(self) -> None:
        if self._journal_fd is not None:
            os.close(self._journal_fd)
            self._journal_fd = None

    def flush_journal(self) -> None:
        """Fold journaled check-ins and sightings into the log, then delete the journal."""
        self._require_open()
        if self._storage.in_batch:
            raise StoreError("the journal cannot be folded inside a batch")
        keys = sorted(set(self._pending) | self._seen_dirty)
        audits = [a for a in self._pending_audit if a.id not in self._audit_ids]
        if keys or audits:
            self._write_fold(keys, audits)
        self._close_journal()
        if self.journal_path.exists():
            try:
                self.journal_path.unlink()
            except OSError as exc:
                raise StoreError(f"could not remove journal {self.journal_path}: {exc}") from exc
            fsync_dir(self.journal_path.parent)
        self._pending.clear()
        self._pending_audit.clear()
        self._seen_dirty.clear()

    def _write_fold(self, keys: list[tuple[int, str]], audits: list[AuditEntry]) -> None:
        latest = {key: self._checkins[key[0]][key[1]].to_doc() for key in keys}
        new_keys = [key for key in keys if key not in self._doc_ids]
        old_ids = [self._doc_ids[key] for key in keys if key in self._doc_ids]
        table = self._tables["checkins"]

        def refresh(doc: dict) -> None:
            fresh = latest[(doc["session_id"], doc["person"])]
            doc.clear()
            doc.update(fresh)

        with self._storage.batch():
            new_ids = table.insert_multiple([latest[key] for key in new_keys]) if new_keys else []
            if old_ids:
                table.update(refresh, doc_ids=old_ids)
            if audits:
                self._tables["audit"].insert_multiple([a.to_doc() for a in audits])
        self._doc_ids.update(zip(new_keys, new_ids, strict=True))
        self._audit_ids.update(a.id for a in audits)

    # ----- audit -----------------------------------------------------------------------

    def add_audit(self, entry: AuditEntry) -> None:
        self._tables["audit"].insert(entry.to_doc())
        self._audit_ids.add(entry.id)

    def audit_log(self) -> list[AuditEntry]:
        """Audit records, oldest first, including ones still in the journal."""
        entries = [AuditEntry.from_doc(doc) for doc in self._raw("audit").values()]
        entries += [a for a in self._pending_audit if a.id not in self._audit_ids]
        return sorted(entries, key=lambda a: a.time)


def _parse_journal_line(line: bytes) -> tuple[Checkin, AuditEntry | None]:
    entry = json.loads(line)
    if not isinstance(entry, dict):
        raise ValueError("line is not a JSON object")
    audit = entry.get("audit")
    return Checkin.from_doc(entry["checkin"]), None if audit is None else AuditEntry.from_doc(audit)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _clean_name(name: str, what: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{what} name must be non-empty text")
    return name.strip()


def open_store(data_root: str | os.PathLike, *, clock: Clock | None = None) -> Store:
    """Open (or create) ``<data_root>/attendance.json``."""
    return Store(default_path(data_root), clock=clock)
