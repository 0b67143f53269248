"""Staff PIN, the current user, the single-station lock file and audit records."""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import hmac
import json
import os
import secrets
import socket
from datetime import datetime
from pathlib import Path
from typing import Any

from faceattend_tui.files import make_private_dir

from .common import local_now, to_iso
from .models import AuditEntry

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
    import msvcrt

LOCK_NAME = "faceattend.lock"
PIN_SETTING = "staff_pin"
MIN_PIN_LENGTH = 4

# scrypt cost: about 16 MiB and a few tens of milliseconds per check.
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1


# ----- user and audit ---------------------------------------------------------


def current_user() -> str:
    """The login name of the person at the keyboard (the SSH user, even under sudo)."""
    for var in ("SUDO_USER", "LOGNAME", "USER"):
        value = os.environ.get(var)
        if value:
            return value
    try:
        return getpass.getuser()
    except Exception:  # no name for this uid
        return "unknown"


def audit(store, action: str, details: dict[str, Any] | None = None, user: str | None = None) -> AuditEntry:
    """Write an audit record (time, user, action, details) to the store and return it."""
    entry = make_audit(store.now(), action, details, user)
    store.add_audit(entry)
    return entry


def make_audit(when: datetime, action: str, details: dict[str, Any] | None = None,
               user: str | None = None) -> AuditEntry:
    return AuditEntry(time=when, user=user or current_user(), action=action, details=dict(details or {}))


# ----- staff PIN -----------------------------------------------------------------


def hash_pin(pin: str) -> str:
    """Return a self-describing scrypt hash: ``scrypt$n$r$p$salt$hash`` (hex)."""
    if not isinstance(pin, str) or len(pin) < MIN_PIN_LENGTH:
        raise ValueError(f"PIN must be at least {MIN_PIN_LENGTH} characters")
    salt = secrets.token_bytes(16)
    digest = _scrypt(pin, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_pin(pin: str, stored: str) -> bool:
    """Check `pin` against a hash from :func:`hash_pin` in constant time."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = bytes.fromhex(digest)
        actual = _scrypt(pin, bytes.fromhex(salt), int(n), int(r), int(p))
    except (AttributeError, ValueError):
        return False
    return hmac.compare_digest(actual, expected)


def _scrypt(pin: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(pin.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=32)


def pin_required(store) -> bool:
    return bool(store.get_setting(PIN_SETTING))


def check_pin(store, pin: str) -> bool:
    """True when no PIN is set, or when `pin` matches the stored one."""
    stored = store.get_setting(PIN_SETTING)
    return True if not stored else verify_pin(pin, stored)


def set_pin(store, pin: str | None, user: str | None = None) -> None:
    """Set the staff PIN (None clears it); audited."""
    with store.batch():
        store.set_setting(PIN_SETTING, None if pin is None else hash_pin(pin))
        audit(store, "pin.clear" if pin is None else "pin.set", user=user)


# ----- lock file -------------------------------------------------------------------


class LockedError(RuntimeError):
    """Another process holds the data directory."""

    def __init__(self, path: Path, holder: dict[str, Any]):
        self.path = path
        self.holder = holder
        self.pid = holder.get("pid")
        self.user = holder.get("user")
        if self.pid is None:
            message = f"{path} is locked by another process (no details available)"
        else:
            message = (
                f"attendance data is in use by user {self.user or '?'} "
                f"(pid {self.pid} on {holder.get('host') or '?'}, since {holder.get('since') or '?'}); "
                f"lock file {path}"
            )
        super().__init__(message)


class StationLock:
    """A held lock on ``<data>/faceattend.lock``; release it with :meth:`release` or ``with``."""

    def __init__(self, path: Path, fd: int, holder: dict[str, Any]):
        self.path = path
        self.holder = holder
        self._fd: int | None = fd

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is None:
            return
        # Unlink first: whoever locks the old inode next sees it is gone and retries.
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        _unlock(self._fd)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> StationLock:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def acquire_lock(data_root: str | os.PathLike, user: str | None = None) -> StationLock:
    """Lock the data directory for this process, or raise :class:`LockedError`.

    The OS lock dies with its process, so a lock file left by a dead process
    is simply taken over.
    """
    root = Path(data_root)
    make_private_dir(root)
    path = root / LOCK_NAME
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o600)
        if not _try_lock(fd):
            holder = _read_holder(fd)
            os.close(fd)
            raise LockedError(path, holder)
        if _same_file(fd, path):
            break
        # The holder released (and removed) the file between our open and lock.
        _unlock(fd)
        os.close(fd)
    holder = {"pid": os.getpid(), "user": user or current_user(), "host": socket.gethostname(),
              "since": to_iso(local_now())}
    _write_holder(fd, holder)
    return StationLock(path, fd, holder)


def _same_file(fd: int, path: Path) -> bool:
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
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            os.lseek(fd, _WIN_LOCK_OFFSET, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError:
        return False
    return True


def _unlock(fd: int) -> None:
    with contextlib.suppress(OSError):
        if fcntl is not None:
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
