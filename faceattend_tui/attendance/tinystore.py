"""The attendance log as one TinyDB file in the data root, with a write-ahead journal.

Files (default `<data>/attendance.json`, all mode 0600):

* `attendance.json` - TinyDB tables `meta`, `people`, `sessions`, `checkins`, `marks` and `audit`.
  It is only ever replaced whole: the document goes to a temp file in the same directory, which
  is fsynced and renamed over the log (then the directory is fsynced).
* `attendance.journal` - one JSON line per write (`{"seq": n, "ops": [...]}`), fsynced before the
  write returns. TinyDB rewrites the whole file on every change, which grows with the log (a
  year of a school's check-ins is tens of megabytes); an appended line costs the same at any size.
  The journal is folded into the file (one rewrite, then it is deleted) when the log is opened or
  closed and when it grows past a few megabytes. The file records the last folded `seq`, so a
  line is never applied twice; a torn last line (the writer died mid-write, so that call never
  returned) is dropped, a bad line anywhere else is reported as damage.
* `attendance.outbox` - audit lines from commands that read the log while a station holds it
  (an export while the station runs); the station takes them in when it next opens or closes.

None of these is read past READ_LIMIT (2 GiB): a larger one is an error that says so. A folder,
device or FIFO in their place is refused before it is opened, so nothing waits or reads forever.

Everything is read once at open and kept in memory, indexed by session and person. One process
writes (hold `security.acquire_lock(data_root)`); others may open a read-only snapshot, which
reads the journal and then the file, writes nothing and never takes the lock.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

from tinydb import TinyDB
from tinydb.storages import Storage

from faceattend_tui.filelock import same_file
from faceattend_tui.files import (
    atomic_write,
    error_text,
    fsync_dir,
    make_private_dir,
    open_regular,
    read_regular,
    remove_stale_temps,
)

from .common import Clock, aware, from_iso, local_now, to_iso
from .models import LATE, PRESENT, AuditEntry, Checkin, Mark, Person, Presence, Session, plural
from .security import scrub_audit
from .store import NotFoundError, Store, StoreError
from .upgrade import SCHEMA_VERSION, fold_v1_journal, upgrade_v1, upgrade_v2

LOG_NAME = "attendance.json"
TABLES = ("meta", "people", "sessions", "checkins", "marks", "audit", "presence")
UNCHANGED = "the file was left unchanged"
FOLD_BYTES = 4 << 20  # fold the journal once it holds this much
READ_LIMIT = 2 << 30  # the largest log or journal read (2 GiB); a larger one is refused, not read

_sync = getattr(os, "fdatasync", os.fsync)


def default_path(data_root: str | os.PathLike) -> Path:
    return Path(data_root) / LOG_NAME


# ----- reading the files ----------------------------------------------------------------------


def load_log(path: Path) -> dict | None:
    """Parse and shape-check the log; None when it does not exist."""
    try:
        raw = read_regular(path, READ_LIMIT)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StoreError(f"cannot read attendance log {path}: {exc.strerror or exc}; {UNCHANGED}") from exc
    if not raw.strip():
        raise StoreError(f"attendance log {path} is empty ({plural(len(raw), 'byte')}): it was cut short; restore it "
                         f"from a backup, or move it away to start a new log. {UNCHANGED.capitalize()}")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise StoreError(f"attendance log {path} is not valid JSON ({exc}); {UNCHANGED}") from exc
    _check_shape(path, data)
    return data


def _check_shape(path: Path, data: Any) -> None:
    if not isinstance(data, dict):
        raise StoreError(f"attendance log {path} holds a JSON {type(data).__name__}, not an object; {UNCHANGED}")
    for name, table in data.items():
        if not isinstance(table, dict):
            raise StoreError(f"attendance log {path}: table {name!r} is not an object; {UNCHANGED}")
        for doc_id, doc in table.items():
            if not doc_id.isdigit() or not isinstance(doc, dict):
                raise StoreError(f"attendance log {path}: table {name!r} has a bad record {doc_id!r}; {UNCHANGED}")


def read_lines(path: Path, what: str) -> list[dict]:
    """JSON-object lines of a journal; a torn last line is dropped, a bad line elsewhere raises."""
    try:
        raw = read_regular(path, READ_LIMIT)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise StoreError(f"cannot read {what} {path}: {exc.strerror or exc}; no file was changed") from exc
    lines = raw.split(b"\n")
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    entries = []
    for number, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            if not isinstance(entry, dict):
                raise ValueError("line is not a JSON object")
        except ValueError as exc:
            if number == last:
                break  # torn tail: the writer died before that call returned
            raise StoreError(f"{what} {path} line {number + 1} is corrupt ({exc}); no file was changed") from exc
        entries.append(entry)
    return entries


def append_line(path: Path, entry: dict) -> None:
    """Append one JSON line and fsync it (used for the outbox by readers)."""
    data = (json.dumps(entry, separators=(",", ":")) + "\n").encode("utf-8")
    try:
        fd = open_regular(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            _write_all(fd, data)
            _sync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise StoreError(f"could not write to {path}: {exc.strerror or exc}") from exc


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class MemoryStorage(Storage):
    """TinyDB storage over the in-memory document; `flush` replaces the file atomically."""

    def __init__(self, path: str | os.PathLike, document: dict):
        self.path = Path(path)
        self.document = document

    def read(self) -> dict:
        return self.document

    def write(self, data: dict) -> None:
        self.document = data

    def flush(self) -> None:
        try:
            atomic_write(self.path, json.dumps(self.document, separators=(",", ":")).encode("utf-8"))
        except (OSError, TypeError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise StoreError(f"could not write attendance log {self.path}: {reason}") from exc


# ----- the store ----------------------------------------------------------------------------------


class TinyStore(Store):
    def __init__(self, path: str | os.PathLike, *, clock: Clock | None = None, read_only: bool = False):
        self.path = Path(path)
        self.journal_path = self.path.with_suffix(".journal")
        self.outbox_path = self.path.with_suffix(".outbox")
        self.read_only = read_only
        self._clock = clock or local_now
        self._closed = False
        self._batch: list[list] | None = None
        self._journal_fd: int | None = None
        self._journal_size = 0
        self._pending_fold = False  # the journal grew past FOLD_BYTES: fold after this write
        if not read_only:
            try:
                make_private_dir(self.path.parent)
            except OSError as exc:
                raise StoreError(f"cannot create data directory {self.path.parent}: {exc.strerror or exc}") from exc
        self._load()
        if not read_only:
            self._settle()

    # -- opening

    def _load(self) -> None:
        """Read the journal, then the file (so a fold in between loses nothing), and index them."""
        lines = read_lines(self.journal_path, "journal")
        document = load_log(self.path)
        self._fresh = document is None
        self._upgraded_from = None
        if document is None:
            document = {"meta": {"1": {"schema_version": SCHEMA_VERSION, "created": to_iso(self.now())}}}
        version = _schema_version(self.path, document)
        if version == 1:
            fold_v1_journal(document, lines)
            document, lines, self._upgraded_from = upgrade_v1(document, self.now()), [], 1
        elif version == 2:  # the same records; voided sessions and absence codes may follow
            document, self._upgraded_from = upgrade_v2(document, self.now()), 2
        for name in TABLES:
            document.setdefault(name, {})
        self._db = TinyDB(self.path, storage=MemoryStorage, document=document)
        self._doc = document
        self._index()
        folded = self._meta().get("folded_seq", 0)
        self._seq = folded
        for line in lines:
            if line.get("seq", 0) > folded:
                for op in line.get("ops", []):
                    self._apply(op)
                self._seq = max(self._seq, line["seq"])
        self._pending_lines = bool(lines)

    def _settle(self) -> None:
        """As the writer: keep a backup of an upgraded file, take in the outbox, fold the journal."""
        try:
            self._tidy()
        except OSError as exc:
            self._close_journal()
            raise StoreError(f"cannot open attendance log {self.path} to write: {error_text(exc)}") from exc

    def _tidy(self) -> None:
        if self._upgraded_from is not None:
            backup = self.path.with_name(f"{self.path.name}.schema{self._upgraded_from}.bak")
            shutil.copy2(self.path, backup)
            os.chmod(backup, 0o600)
        self._take_outbox()
        if self._fresh or self._pending_lines or self._upgraded_from is not None:
            self.fold(force=True)  # a new or upgraded log is written even with nothing to fold
        remove_stale_temps(self.path)

    def _index(self) -> None:
        self._people: dict[str, str] = {}  # person id -> doc id
        self._checkins: dict[int, dict[str, str]] = {}  # session -> person -> doc id
        self._marks: dict[int, list[str]] = {}
        self._audit_ids: set[str] = set()
        self._seen: set[str] = set()  # check-in doc ids whose last_seen moved since the last fold
        self._next_ids: dict[str, int] = {}  # next TinyDB doc id per table
        self._presence: dict[tuple[str, str, str], str] = {}  # (person, day, station) -> doc id
        for doc_id, doc in self._table("presence").items():
            self._presence[(doc.get("person_id"), doc.get("day"), doc.get("station") or "")] = doc_id
        for doc_id, doc in self._table("people").items():
            self._people[self._field(doc, "id", str, "people", doc_id)] = doc_id
        for doc_id, doc in self._table("sessions").items():
            self._field(doc, "name", str, "sessions", doc_id)
        for doc_id, doc in self._table("checkins").items():
            session = self._field(doc, "session_id", int, "checkins", doc_id)
            self._checkins.setdefault(session, {})[self._field(doc, "person_id", str, "checkins", doc_id)] = doc_id
        for doc_id, doc in self._table("marks").items():
            self._marks.setdefault(self._field(doc, "session_id", int, "marks", doc_id), []).append(doc_id)
        for doc in self._table("audit").values():
            self._audit_ids.add(doc.get("id"))

    def _field(self, doc: dict, key: str, kind: type, table: str, doc_id: str):
        value = doc.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise StoreError(f"attendance log {self.path}: {table} record {doc_id} has no valid {key}; {UNCHANGED}")
        return value

    # -- closing and folding

    def close(self) -> None:
        if self._closed:
            return
        try:
            if not self.read_only:
                self._take_outbox()
                self.fold()
        except (OSError, StoreError) as exc:
            text = error_text(exc) if isinstance(exc, OSError) else str(exc)
            raise StoreError(f"{text}; the log was left as it was and changes since it was last written stay "
                             f"in {self.journal_path}") from exc
        finally:
            self._closed = True
            self._close_journal()
            self._db.close()

    def fold(self, *, force: bool = False) -> None:
        """Write the whole log (with every journaled change and "last seen" time) and drop the journal.

        Nothing is written when there is nothing to fold, unless `force`.
        """
        self._require_writable()
        if self._batch is not None:
            raise StoreError("the journal cannot be folded inside a batch")
        if (not force and not self._seen and self._seq == self._meta().get("folded_seq", 0)
                and not self.journal_path.exists()):
            return
        self._meta()["folded_seq"] = self._seq
        self._db.storage.flush()
        self._seen.clear()
        self._close_journal()
        if self.journal_path.exists():
            try:
                self.journal_path.unlink()
            except OSError as exc:
                raise StoreError(f"could not remove journal {self.journal_path}: {exc}") from exc
            fsync_dir(self.journal_path.parent)

    def now(self) -> datetime:
        return aware(self._clock())

    # -- writing: every change is a list of ops, journaled, then applied

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        if self._batch is not None:  # nested: part of the outer batch
            yield
            return
        self._batch = []
        try:
            yield
            ops, self._batch = self._batch, None
            if ops:
                self._journal(ops)
        except BaseException:
            self._batch = None
            self._reload()  # what was applied in memory never reached the disk
            raise
        self._after_write()

    def _write(self, *ops: list) -> None:
        self._require_writable()
        if self._batch is not None:
            for op in ops:
                self._apply(op)
            self._batch.extend(ops)
            return
        self._journal(list(ops))
        for op in ops:
            self._apply(op)

    def _journal(self, ops: list[list]) -> None:
        line = (json.dumps({"seq": self._seq + 1, "ops": ops}, separators=(",", ":")) + "\n").encode("utf-8")
        try:
            fd = self._journal_file()
            _write_all(fd, line)
            _sync(fd)
        except OSError as exc:
            self._undo_partial_line()
            raise StoreError(f"could not write to {self.journal_path}: {exc}") from exc
        self._seq += 1
        self._journal_size += len(line)
        if self._journal_size > FOLD_BYTES and self._batch is None:
            self._pending_fold = True

    def _after_write(self) -> None:
        if self._pending_fold and self._batch is None:  # inside a batch: when it ends
            self._pending_fold = False
            self.fold()

    def _journal_file(self) -> int:
        if self._journal_fd is not None and not same_file(self._journal_fd, self.journal_path):
            self._close_journal()
            raise StoreError(f"{self.journal_path} was folded or removed by another process; reopen the log "
                             "(only one station may write to it: hold the data lock)")
        if self._journal_fd is None:
            existed = self.journal_path.exists()
            flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0)
            self._journal_fd = open_regular(self.journal_path, flags)
            self._journal_size = os.fstat(self._journal_fd).st_size
            if not existed:
                fsync_dir(self.journal_path.parent)
        return self._journal_fd

    def _undo_partial_line(self) -> None:
        # A half-written line followed by a good one would read as damage.
        if self._journal_fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._journal_fd, self._journal_size)

    def _close_journal(self) -> None:
        if self._journal_fd is not None:
            os.close(self._journal_fd)
            self._journal_fd = None
        self._journal_size = 0

    def _reload(self) -> None:
        self._close_journal()
        self._load()

    def _require_writable(self) -> None:
        if self._closed:
            raise StoreError(f"attendance log {self.path} is closed")
        if self.read_only:
            raise StoreError(f"attendance log {self.path} is open read-only (a station holds it)")

    # -- applying ops (also when replaying the journal: each is idempotent)

    def _apply(self, op: list) -> None:
        kind, *args = op
        APPLY[kind](self, *args)

    def _put_person(self, doc: dict) -> None:
        doc_id = self._people.get(doc["id"]) or self._new_doc_id("people")
        self._people[doc["id"]] = doc_id
        self._table("people")[doc_id] = doc

    def _rekey_person(self, old: str, new: str) -> None:
        doc_id = self._people.pop(old, None)
        if doc_id is None:
            return
        self._table("people")[doc_id]["id"] = new
        self._people[new] = doc_id
        for people in self._checkins.values():
            if old in people:
                people[new] = people.pop(old)
                self._table("checkins")[people[new]]["person_id"] = new
        for ids in self._marks.values():
            for mark_id in ids:
                mark = self._table("marks")[mark_id]
                if mark["person_id"] == old:
                    mark["person_id"] = new
        for session in self._table("sessions").values():
            session["expected"] = [new if p == old else p for p in session.get("expected", [])]
        for key in [k for k in self._presence if k[0] == old]:
            doc_id = self._presence.pop(key)
            self._table("presence")[doc_id]["person_id"] = new
            self._presence[(new, *key[1:])] = doc_id

    def _erase_person(self, person_id: str, token: str | None = None) -> None:
        doc_id = self._people.pop(person_id, None)
        if doc_id is not None:
            doc = self._table("people").pop(doc_id)
            if token is not None:
                self._scrub_audit(Person.from_doc(doc), token)
        for people in self._checkins.values():
            gone = people.pop(person_id, None)
            if gone is not None:
                del self._table("checkins")[gone]
        marks = self._table("marks")
        for session_id, ids in self._marks.items():
            mine = [i for i in ids if marks[i]["person_id"] == person_id]
            for mark_id in mine:
                del marks[mark_id]
            self._marks[session_id] = [i for i in ids if i not in mine]
        for session in self._table("sessions").values():
            if person_id in session.get("expected", []):
                session["expected"] = [p for p in session["expected"] if p != person_id]
        for key in [k for k in self._presence if k[0] == person_id]:
            del self._table("presence")[self._presence.pop(key)]

    def _scrub_audit(self, person: Person, token: str) -> None:
        audit = self._table("audit")
        changed = scrub_audit(((i, doc.get("details") or {}) for i, doc in audit.items()), person, token)
        for doc_id, details in changed.items():
            audit[doc_id]["details"] = details

    def _put_session(self, doc: dict) -> None:
        self._table("sessions").setdefault(str(doc["id"]), doc)

    def _set_session(self, session_id: int, changes: dict) -> None:
        doc = self._table("sessions").get(str(session_id))
        if doc is None:
            return
        doc.update(changes)
        if "late_after_minutes" in changes:  # lateness follows the new deadline, from the stored times
            session = Session.from_doc(doc)
            for doc_id in self._checkins.get(session_id, {}).values():
                checkin = self._table("checkins")[doc_id]
                checkin["late"] = session.is_late(from_iso(checkin["time"]))

    def _end_session(self, session_id: int, ended_at: str) -> None:
        doc = self._table("sessions").get(str(session_id))
        if doc is not None:
            doc["ended_at"] = ended_at

    def _expect(self, session_id: int, person_ids: list[str]) -> None:
        doc = self._table("sessions").get(str(session_id))
        if doc is not None:
            expected = doc.setdefault("expected", [])
            expected.extend(p for p in person_ids if p not in expected)

    def _put_checkin(self, doc: dict) -> None:
        people = self._checkins.setdefault(doc["session_id"], {})
        if doc["person_id"] not in people:
            doc_id = self._new_doc_id("checkins")
            self._table("checkins")[doc_id] = doc
            people[doc["person_id"]] = doc_id

    def _put_mark(self, doc: dict) -> None:
        ids = self._marks.setdefault(doc["session_id"], [])
        if not any(self._table("marks")[i]["id"] == doc["id"] for i in ids):
            doc_id = self._new_doc_id("marks")
            self._table("marks")[doc_id] = doc
            ids.append(doc_id)

    def _put_audit(self, doc: dict) -> None:
        if doc["id"] not in self._audit_ids:
            self._table("audit")[self._new_doc_id("audit")] = doc
            self._audit_ids.add(doc["id"])

    def _put_setting(self, key: str, value: Any) -> None:
        settings = self._meta().setdefault("settings", {})
        if value is None:
            settings.pop(key, None)
        else:
            settings[key] = value

    def _new_doc_id(self, table: str) -> str:
        counters = self._next_ids
        if table not in counters:
            counters[table] = max((int(k) for k in self._table(table)), default=0) + 1
        doc_id = counters[table]
        counters[table] += 1
        return str(doc_id)

    def _table(self, name: str) -> dict[str, dict]:
        return self._doc[name]

    def _meta(self) -> dict:
        return next(iter(self._table("meta").values()))

    # -- settings

    @property
    def schema_version(self) -> int:
        return self._meta()["schema_version"]

    def get_setting(self, key: str, default: Any = None) -> Any:
        return self._meta().get("settings", {}).get(key, default)

    def set_setting(self, key: str, value: Any) -> None:
        self._write(["setting", key, value])

    def all_settings(self) -> dict[str, Any]:
        return dict(self._meta().get("settings", {}))

    # -- people

    def people(self) -> list[Person]:
        return [self._parse(Person.from_doc, "people", doc_id, doc) for doc_id, doc in self._table("people").items()]

    def person(self, person_id: str) -> Person | None:
        doc_id = self._people.get(person_id)
        return None if doc_id is None else self._parse(Person.from_doc, "people", doc_id,
                                                       self._table("people")[doc_id])

    def save_person(self, person: Person) -> None:
        self.save_people([person])

    def save_people(self, people: list[Person]) -> None:
        if people:
            self._write(*(["person", p.to_doc()] for p in people))
            self._after_write()

    def change_person_id(self, old: str, new: str) -> None:
        if old not in self._people:
            raise NotFoundError(f"no person with id {old!r}")
        if new in self._people:
            raise ValueError(f"id {new!r} is taken by {self.person(new).name}")
        self._write(["rekey", old, new])

    def erase_person(self, person_id: str, token: str | None = None) -> int:
        records = sum(person_id in people for people in self._checkins.values())
        records += sum(self._table("marks")[i]["person_id"] == person_id for ids in self._marks.values() for i in ids)
        self._write(["erase", person_id] + ([token] if token else []))
        self._pending_fold = True  # the journal still holds what was erased: rewrite the file without it
        self._after_write()
        return records

    # -- sessions

    def create_session(self, session: Session) -> Session:
        session.id = max((int(k) for k in self._table("sessions")), default=0) + 1
        session.started_at = aware(session.started_at)
        self._write(["session", session.to_doc()])
        return session

    def end_session(self, session_id: int, ended_at: datetime) -> Session:
        if self.session(session_id) is None:
            raise NotFoundError(f"no session with id {session_id}")
        self._write(["end", session_id, to_iso(ended_at)])
        return self.session(session_id)

    def update_session(self, session_id: int, changes: dict, expected: list[str] | None = None) -> Session:
        if self.session(session_id) is None:
            raise NotFoundError(f"no session with id {session_id}")
        doc = {k: (to_iso(v) if isinstance(v, datetime) else v) for k, v in changes.items()}
        if expected is not None:
            doc["expected"] = list(dict.fromkeys(expected))
        self._write(["session-set", session_id, doc])
        return self.session(session_id)

    def add_expected(self, session_id: int, person_ids: list[str]) -> list[str]:
        session = self.session(session_id)
        if session is None:
            raise NotFoundError(f"no session with id {session_id}")
        expected = set(session.expected)
        new = [p for p in dict.fromkeys(person_ids) if p not in expected]
        if new:
            self._write(["expect", session_id, new])
        return new

    def session(self, session_id: int) -> Session | None:
        doc = self._table("sessions").get(str(session_id))
        return None if doc is None else self._parse(Session.from_doc, "sessions", str(session_id), doc)

    def sessions(self) -> list[Session]:
        found = [self._parse(Session.from_doc, "sessions", i, doc) for i, doc in self._table("sessions").items()]
        return sorted(found, key=lambda s: (s.started_at, s.id))

    def open_sessions(self) -> list[Session]:
        """As Store.open_sessions, parsing only the sessions that have not ended."""
        found = [self._parse(Session.from_doc, "sessions", i, doc)
                 for i, doc in self._table("sessions").items() if doc.get("ended_at") is None]
        return sorted(found, key=lambda s: (s.started_at, s.id))

    # -- check-ins and marks

    def record_checkin(self, checkin: Checkin) -> bool:
        if checkin.person_id in self._checkins.get(checkin.session_id, {}):
            return False
        self._write(["checkin", checkin.to_doc()])
        self._after_write()
        return True

    def touch(self, session_id: int, person_id: str, when: datetime) -> bool:
        doc_id = self._checkins.get(session_id, {}).get(person_id)
        if doc_id is None:
            return False
        doc = self._table("checkins")[doc_id]
        seen = from_iso(doc.get("last_seen"))
        if seen is None or seen < aware(when):
            doc["last_seen"] = to_iso(when)
            self._seen.add(doc_id)
        return True

    def see(self, presence: Presence) -> None:
        known = self._presence.get((presence.person_id, presence.day.isoformat(), presence.station))
        if known is not None:
            old = Presence.from_doc(self._table("presence")[known])
            if old.merged(presence) == old:
                return  # nothing new: no write
        self._write(["presence", presence.to_doc()])

    def presence(self, date_from: date, date_to: date) -> list[Presence]:
        table = self._table("presence")
        found = [self._parse(Presence.from_doc, "presence", i, doc) for i, doc in table.items()
                 if date_from.isoformat() <= doc.get("day", "") <= date_to.isoformat()]
        return sorted(found, key=lambda p: (p.day, p.person_id, p.station))

    def _put_presence(self, doc: dict) -> None:
        key = (doc["person_id"], doc["day"], doc.get("station") or "")
        known = self._presence.get(key)
        if known is None:
            self._presence[key] = doc_id = self._new_doc_id("presence")
            self._table("presence")[doc_id] = doc
            return
        merged = Presence.from_doc(self._table("presence")[known]).merged(Presence.from_doc(doc))
        self._table("presence")[known] = merged.to_doc()

    def checkin(self, session_id: int, person_id: str) -> Checkin | None:
        doc_id = self._checkins.get(session_id, {}).get(person_id)
        return None if doc_id is None else self._parse(Checkin.from_doc, "checkins", doc_id,
                                                       self._table("checkins")[doc_id])

    def checkins(self, session_id: int) -> list[Checkin]:
        table = self._table("checkins")
        found = [self._parse(Checkin.from_doc, "checkins", i, table[i])
                 for i in self._checkins.get(session_id, {}).values()]
        return sorted(found, key=lambda c: (c.time, c.person_id))

    def outcomes(self, session_id: int) -> dict[str, str]:
        """As Store.outcomes, read from the stored records without building them (reports over a year)."""
        checkins, marks = self._table("checkins"), self._table("marks")
        found = {person: LATE if checkins[i].get("late") else PRESENT
                 for person, i in self._checkins.get(session_id, {}).items()}
        for mark in sorted((marks[i] for i in self._marks.get(session_id, [])), key=lambda m: m["at"]):
            found[mark["person_id"]] = mark["status"]
        return found

    def add_mark(self, mark: Mark) -> None:
        self._write(["mark", mark.to_doc()])
        self._after_write()

    def marks(self, session_id: int) -> list[Mark]:
        table = self._table("marks")
        found = [self._parse(Mark.from_doc, "marks", i, table[i]) for i in self._marks.get(session_id, [])]
        return sorted(found, key=lambda m: m.at)

    # -- audit

    def add_audit(self, entry: AuditEntry) -> None:
        if self.read_only:
            append_line(self.outbox_path, entry.to_doc())  # the station takes it in later
            return
        self._write(["audit", entry.to_doc()])
        self._after_write()

    def audit_log(self) -> list[AuditEntry]:
        entries = [self._parse(AuditEntry.from_doc, "audit", i, doc) for i, doc in self._table("audit").items()]
        return sorted(entries, key=lambda a: a.time)

    def _take_outbox(self) -> None:
        taking = self.outbox_path.with_suffix(".outbox-taking")
        with contextlib.suppress(FileNotFoundError):
            os.replace(self.outbox_path, taking)  # readers that append now start a new file
        entries = read_lines(taking, "outbox")
        if entries:
            self._write(*(["audit", doc] for doc in entries if isinstance(doc.get("id"), str)))
        with contextlib.suppress(FileNotFoundError):
            taking.unlink()

    # -- parsing stored records

    def _parse(self, parse, table: str, doc_id: str, doc: dict):
        try:
            return parse(doc)
        except (KeyError, TypeError, ValueError) as exc:
            raise StoreError(f"attendance log {self.path}: {table} record {doc_id} is malformed ({exc})") from exc


APPLY = {
    "person": TinyStore._put_person,
    "rekey": TinyStore._rekey_person,
    "erase": TinyStore._erase_person,
    "session": TinyStore._put_session,
    "end": TinyStore._end_session,
    "session-set": TinyStore._set_session,
    "expect": TinyStore._expect,
    "checkin": TinyStore._put_checkin,
    "mark": TinyStore._put_mark,
    "audit": TinyStore._put_audit,
    "setting": TinyStore._put_setting,
    "presence": TinyStore._put_presence,
}


def _schema_version(path: Path, document: dict) -> int:
    versions = [doc.get("schema_version") for doc in document.get("meta", {}).values()]
    version = versions[0] if versions else None
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise StoreError(f"{path} has no valid schema version and does not look like an attendance log; {UNCHANGED}")
    if version > SCHEMA_VERSION:
        raise StoreError(f"attendance log {path} has schema version {version}, newer than this program understands "
                         f"({SCHEMA_VERSION}); upgrade faceattend. {UNCHANGED.capitalize()}")
    return version


def open_store(data_root: str | os.PathLike, *, clock: Clock | None = None) -> TinyStore:
    """Open (or create) `<data_root>/attendance.json` as its writer (hold the data lock)."""
    return TinyStore(default_path(data_root), clock=clock)


def open_snapshot(data_root: str | os.PathLike, *, clock: Clock | None = None) -> TinyStore:
    """A read-only view of the log as it is now, for exports and reports while a station runs."""
    path = default_path(data_root)
    if not path.exists():  # a device or FIFO is refused by load_log, not reported as missing
        raise StoreError(f"{path}: no attendance log here")
    return TinyStore(path, clock=clock, read_only=True)
