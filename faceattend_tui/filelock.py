"""Lock files that say who holds them: one process at a time, and the others can tell who.

The lock is the operating system's (flock, or a byte range lock on Windows), so it dies with its
process and a file left behind by a dead process is simply taken over. The file holds a small
JSON record of the holder (pid, user, host, since). The folder it lies in is locked too, so a lock
file deleted by hand while its holder runs does not let a second holder in.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import socket
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from faceattend_tui.errors import FaceattendError
from faceattend_tui.files import open_unlinked

if sys.platform == "win32":
    import msvcrt
else:
    import fcntl


def current_user() -> str:
    """The account of the person at the keyboard, as the audit names it: the account this process runs as
    (not LOGNAME or USER, which anyone sets to blame someone else); under sudo, the account that ran sudo."""
    uid = os.getuid() if hasattr(os, "getuid") else None
    if uid == 0 and os.environ.get("SUDO_USER"):
        return os.environ["SUDO_USER"]  # set by sudo: only root could have forged it
    if uid is None:  # Windows: no account database to ask
        try:
            return getpass.getuser()
        except Exception:
            return "unknown"
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except KeyError:  # no name for this uid (a container)
        return f"uid {uid}"


def holder_record(user: str | None = None, what: str = "") -> dict[str, Any]:
    """Who takes a lock: pid, user, host, since, and what for."""
    record = {"pid": os.getpid(), "user": user or current_user(), "host": socket.gethostname(),
              "since": datetime.now().astimezone().isoformat(timespec="seconds")}
    if what:
        record["what"] = what
    return record


class Busy(FaceattendError):
    """Another process holds the lock; `holder` is what it wrote."""

    def __init__(self, path: Path, holder: dict[str, Any]):
        super().__init__(f"{path} is held by {describe(holder)}")
        self.path, self.holder = path, holder


def describe(holder: dict[str, Any]) -> str:
    if holder.get("removed"):
        return "another process, whose lock file was deleted while it runs"
    if holder.get("pid") is None:
        return "another process (no details available)"
    what = f" ({holder['what']})" if holder.get("what") else ""
    return (f"user {holder.get('user') or '?'}{what}, pid {holder['pid']} on {holder.get('host') or '?'} "
            f"since {holder.get('since') or '?'}")


class HeldLock:
    """A held lock file; release it with :meth:`release` or ``with``."""

    def __init__(self, path: Path, fd: int, holder: dict[str, Any], folder_fd: int | None = None,
                 left_by: dict[str, Any] | None = None):
        self.path = path
        self.holder = holder
        self.left_by = left_by or {}  # the holder of a lock file left behind (its process ended without releasing)
        self._fd: int | None = fd
        self._folder_fd = folder_fd

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is None:
            return
        # The folder first: a newcomer meets the file still held and waits, where it met the folder held
        # behind a new file and was told the lock file had been deleted while its holder ran.
        if self._folder_fd is not None:
            _unlock(self._folder_fd)
            os.close(self._folder_fd)
            self._folder_fd = None
        # Then unlink: whoever locks the old inode next sees it is gone and retries.
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        _unlock(self._fd)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> HeldLock:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def hold(path: Path, holder: dict[str, Any]) -> HeldLock:
    """Take the lock at `path` for this process (writing `holder` into it), or raise Busy."""
    path = Path(path)
    while True:
        fd = open_unlinked(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o600)
        if not _try_lock(fd):
            found = _read_holder(fd)
            os.close(fd)
            raise Busy(path, found)
        if same_file(fd, path):
            break
        # The holder released (and removed) the file between our open and lock.
        _unlock(fd)
        os.close(fd)
    try:
        folder_fd = _lock_folder(path)
    except Busy:
        HeldLock(path, fd, holder).release()
        raise
    lock = HeldLock(path, fd, holder, folder_fd, left_by=_read_holder(fd))  # released locks leave no file
    try:
        _write_holder(fd, holder)
    except OSError as exc:  # a full disk: give the lock back rather than hold an empty file
        lock.release()
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    return lock


def _lock_folder(path: Path) -> int | None:
    """The lock on the folder of the lock file `path` (its fd; None where folders cannot be locked),
    or Busy when another process holds it."""
    if sys.platform == "win32":
        return None
    try:
        fd = os.open(path.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return None  # a folder that cannot be opened for reading: the file's lock alone
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise Busy(path, {"removed": True}) from None
    except OSError:  # a file system that cannot lock folders: the file's lock alone, as before
        os.close(fd)
        return None
    return fd


@contextlib.contextmanager
def locked(path: Path) -> Iterator[int]:
    """Open (or create) a small file and hold the operating system's lock on it, waiting for it."""
    fd = open_unlinked(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o600)
    try:
        if sys.platform != "win32":
            fcntl.flock(fd, fcntl.LOCK_EX)
        else:
            os.lseek(fd, _WIN_LOCK_OFFSET, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
        yield fd
    finally:
        _unlock(fd)
        os.close(fd)


def same_file(fd: int, path: str | os.PathLike) -> bool:
    """Whether the open file `fd` is still the file at `path` (not removed or replaced)."""
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (mine.st_dev, mine.st_ino) == (on_disk.st_dev, on_disk.st_ino)


# Windows locks a byte far past the holder text, so others can still read it.
_WIN_LOCK_OFFSET = 1 << 20


def _try_lock(fd: int) -> bool:
    try:
        if sys.platform != "win32":
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            os.lseek(fd, _WIN_LOCK_OFFSET, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError:
        return False
    return True


def _unlock(fd: int) -> None:
    with contextlib.suppress(OSError):
        if sys.platform != "win32":
            fcntl.flock(fd, fcntl.LOCK_UN)
        else:
            os.lseek(fd, _WIN_LOCK_OFFSET, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)


def _read_holder(fd: int) -> dict[str, Any]:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        holder = json.loads(os.read(fd, 4096) or b"{}")
    except (OSError, ValueError):
        return {}
    return holder if isinstance(holder, dict) else {}


def _write_holder(fd: int, holder: dict[str, Any]) -> None:
    data = (json.dumps(holder) + "\n").encode("utf-8")
    os.lseek(fd, 0, os.SEEK_SET)
    os.ftruncate(fd, 0)
    os.write(fd, data)
    os.fsync(fd)


def held_by_a_process(*paths: Path) -> bool | None:
    """Whether a process of this machine holds a lock on any of `paths` now, read from /proc/locks (Linux)
    without taking it; None where that cannot be told (no /proc/locks)."""
    try:
        table = Path("/proc/locks").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    wanted = set()
    for path in paths:
        with contextlib.suppress(OSError):
            info = os.stat(path)
            wanted.add(f"{os.major(info.st_dev):02x}:{os.minor(info.st_dev):02x}:{info.st_ino}")
    held = set()
    for line in table.splitlines():
        parts = line.split()
        where = next((p for p in parts if p.count(":") == 2), None)  # maj:min:inode
        if where is not None and "->" not in parts[1:2]:  # "->": a process waiting for it, not holding it
            major, minor, inode = where.split(":")
            held.add(f"{int(major, 16):02x}:{int(minor, 16):02x}:{inode}")
    return bool(wanted & held)
