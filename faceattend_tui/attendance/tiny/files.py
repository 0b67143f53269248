"""Reading and writing the log's files: the TinyDB document, JSON-line journals, and the file storage.

None of these is read past READ_LIMIT (2 GiB): a larger one is an error that says so. A folder,
device or FIFO in their place is refused before it is opened, so nothing waits or reads forever.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tinydb.storages import Storage

from faceattend_tui.errors import InputError
from faceattend_tui.filelock import same_file
from faceattend_tui.files import atomic_write, open_regular, read_regular

from ..models import plural
from ..store import StoreError
from ..upgrade import SCHEMA_VERSION

LOG_NAME = "attendance.json"
UNCHANGED = "the file was left unchanged"
READ_LIMIT = 2 << 30  # the largest log or journal read (2 GiB); a larger one is refused, not read

sync = getattr(os, "fdatasync", os.fsync)  # data to the disk before the write returns


def default_path(data_root: str | os.PathLike) -> Path:
    return Path(data_root) / LOG_NAME


def files_as_they_are(*paths: Path) -> tuple[tuple[int, int, int] | None, ...]:
    """What tells whether these files were written since (inode, size, modification time; None: missing)."""
    found: list[tuple[int, int, int] | None] = []
    for path in paths:
        try:
            stat = os.stat(path)
        except OSError:
            found.append(None)
            continue
        found.append((stat.st_ino, stat.st_size, stat.st_mtime_ns))
    return tuple(found)


def load_log(path: Path) -> dict | None:
    """Parse and shape-check the log; None when it does not exist."""
    try:
        raw = read_regular(path, READ_LIMIT)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StoreError(f"cannot read attendance log {path}: {exc.strerror or exc}; {UNCHANGED}") from exc
    if not raw.strip(b" \t\r\n\x00"):  # zero bytes: what a power loss leaves of a file being written
        what = "empty" if not raw.strip() else "only zero bytes"
        raise StoreError(f"attendance log {path} is {what} ({plural(len(raw), 'byte')}): it was cut short; restore "
                         f"it from a backup, or move it away to start a new log. {UNCHANGED.capitalize()}")
    if (zero := raw.find(b"\x00")) >= 0:  # never in JSON: a power loss or a disk fault left them
        raise StoreError(f"attendance log {path} holds zero bytes from byte {zero:,} on: it was damaged (a power "
                         f"loss?); restore it from a backup. {UNCHANGED.capitalize()}")
    try:
        data = json.loads(raw, object_pairs_hook=_once_each)
    except WrittenTwice as exc:  # a record pasted back by hand: one of the two would be dropped at the next write
        raise StoreError(f"attendance log {path} holds {exc} twice in one place (a hand edit?): give one of them "
                         f"another number or take it out; {UNCHANGED}") from None
    except (ValueError, RecursionError) as exc:
        raise StoreError(f"attendance log {path} is not valid JSON ({exc}); {UNCHANGED}") from exc
    _check_shape(path, data)
    return data


class WrittenTwice(InputError):
    """A JSON object that names one key twice."""


def _once_each(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        keys = [key for key, _ in pairs]
        twice = next(key for i, key in enumerate(keys) if key in keys[:i])
        raise WrittenTwice(f"{'record' if twice.isdigit() else 'the key'} {twice[:40]!r}")
    return found


def _check_shape(path: Path, data: Any) -> None:
    if not isinstance(data, dict):
        raise StoreError(f"attendance log {path} holds a JSON {type(data).__name__}, not an object; {UNCHANGED}")
    for name, table in data.items():
        if not isinstance(table, dict):
            raise StoreError(f"attendance log {path}: table {name!r} is not an object; {UNCHANGED}")
        for doc_id, doc in table.items():
            if not doc_id.isdigit() or not isinstance(doc, dict):
                raise StoreError(f"attendance log {path}: table {name!r} has a bad record {doc_id!r}; {UNCHANGED}")


def schema_version_of(path: Path, document: dict) -> int:
    """The log's schema version; an error when it has none or one newer than this program's."""
    versions = [doc.get("schema_version") for doc in document.get("meta", {}).values()]
    version = versions[0] if versions else None
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise StoreError(f"{path} has no valid schema version and does not look like an attendance log; {UNCHANGED}")
    if version > SCHEMA_VERSION:
        raise StoreError(f"attendance log {path} has schema version {version}, newer than this program understands "
                         f"({SCHEMA_VERSION}); upgrade faceattend. {UNCHANGED.capitalize()}")
    return version


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


APPEND_TRIES = 5  # an outbox taken in this many times while a line waited to go in: said, not lost


def append_line(path: Path, entry: dict) -> None:
    """Append one JSON line and fsync it (used for the outbox by readers). The line goes into the file
    the path names once the writer's `take_outbox` is over: never into one it has taken in already."""
    data = (json.dumps(entry, separators=(",", ":")) + "\n").encode("utf-8")
    try:
        for _ in range(APPEND_TRIES):
            fd = open_regular(path, os.O_RDWR | os.O_APPEND | os.O_CREAT)
            try:
                _hold(fd)
                if not same_file(fd, path):  # taken in while this waited: a new outbox
                    continue
                cut_torn_tail(fd)
                write_all(fd, data)
                sync(fd)
                return
            finally:
                os.close(fd)
    except OSError as exc:
        raise StoreError(f"could not write to {path}: {exc.strerror or exc}") from exc
    raise StoreError(f"could not write to {path}: taken in {APPEND_TRIES} times while this waited")


def cut_torn_tail(fd: int, chunk: int = 4096) -> None:
    """End a last line that has no newline before another is appended (glued to it, both would be read
    as damage or not at all): one whole record is kept, as `read_lines` reads it; one torn (its writer died
    before the write returned, so nobody was told it was written) is cut."""
    size = end = os.fstat(fd).st_size
    if size == 0 or _read_at(fd, size - 1, 1) == b"\n":
        return
    start = end
    while start > 0:
        start = max(0, start - chunk)
        newline = _read_at(fd, start, end - start).rfind(b"\n")
        if newline >= 0:
            start += newline + 1
            break
        end = start
    if _whole_record(_read_at(fd, start, size - start)):
        write_all(fd, b"\n")
    else:
        os.ftruncate(fd, start)


def _whole_record(line: bytes) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def _read_at(fd: int, offset: int, size: int) -> bytes:
    os.lseek(fd, offset, os.SEEK_SET)  # appends still go to the end
    return os.read(fd, size)


def take_outbox(path: Path, taking: Path) -> None:
    """Move the outbox to `taking` while no reader is halfway through a line (they hold it as they write);
    readers that come later start a new one."""
    try:
        fd = open_regular(path, os.O_RDONLY)
    except FileNotFoundError:
        return
    try:
        _hold(fd)
        os.replace(path, taking)
    finally:
        os.close(fd)  # the lock goes with it


def _hold(fd: int) -> None:
    """The system's lock on an open file, waited for (none on Windows: there a taker may race a reader)."""
    if os.name != "nt":
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX)


def write_all(fd: int, data: bytes) -> None:
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
