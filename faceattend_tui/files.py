"""Writing files safely: private folders, atomic replacement, fsync."""

from __future__ import annotations

import contextlib
import errno
import glob
import itertools
import os
import re
import stat
import time
from collections.abc import Callable, Iterable
from pathlib import Path

NOT_REGULAR = "not a regular file (a folder, device or pipe)"
NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0)
A_LINK = "a link, never followed to write a file of the data folder (remove it)"
WRITING = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def make_private_dir(path: Path, records: bool = True) -> None:
    """Create `path` and any missing parent with mode 0700; existing ones are left as they are. For
    `records` (not a sheet's folder of the user's choosing) a folder the disk makes open to all is refused."""
    path = Path(path)
    if path.is_dir():
        return
    if os.path.lexists(path) and not path.is_dir():  # looked at again: another thread may have just made it
        raise NotADirectoryError(errno.ENOTDIR, "not a folder", str(path))
    make_private_dir(path.parent, records)
    path.mkdir(mode=0o700, exist_ok=True)
    with contextlib.suppress(OSError):
        os.chmod(path, 0o700)
    if records and os.stat(path).st_mode & stat.S_IWOTH:  # a disk that gives every folder to all (exFAT, NTFS)
        with contextlib.suppress(OSError):
            path.rmdir()
        raise PermissionError(errno.EPERM, "the disk lets every user write in every folder it makes (mount it with "
                              "umask=077, or uid= and permissions, to give it an owner)", str(path))


STATION_FILES = ("attendance.json", "attendance.", "station.log", "worker.log", "database_tensor", "database_image",
                 "exports", ".station-cut-off", "faceattend.lock", "erasing.json",
                 "enrolling.json")  # a station's (not settings, models)


def as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def give_back(data: Path, since: float, more: Callable[[], Iterable[str]] = tuple) -> int:
    """What a command run as root made in the data folder of another user (its owner) since `since` (a
    time.time()) is given to that owner: a station running as them could not open a journal or templates
    root left (a nightly export from root's crontab stopped it at its next start). The settings and models
    stay as they are: an administrator may keep those root's on purpose. The folders are walked by their
    descriptors and nothing is followed: that user may swap a folder for a link meanwhile, to have root
    give them its own files. Only folders changed since `since` are looked into (a file root made is a new
    entry of its folder). `more`: other names in the data folder to look into (the station's export_dir),
    asked for only when the folder is another user's.
    Returns how many files and folders changed hands."""
    if not as_root() or os.chown not in os.supports_dir_fd:
        return 0
    try:
        top = os.open(data, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return 0
    try:
        owner = os.fstat(top)
        if owner.st_uid == 0:
            return 0
        wanted = set(more())
        return _give_within(top, [n for n in os.listdir(top) if n.startswith(STATION_FILES) or n in wanted], owner,
                            since)
    finally:
        os.close(top)


def _give_within(folder: int, names: list[str], owner: os.stat_result, since: float) -> int:
    given = 0
    for name in names:
        given += _give(folder, name, owner, since)
        with contextlib.suppress(OSError):
            if not stat.S_ISDIR(os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode):
                continue
            for _, dirs, files, inner in os.fwalk(name, dir_fd=folder, follow_symlinks=False):
                made_here = os.fstat(inner).st_ctime >= since  # else only its folders may hold new entries
                given += sum(_give(inner, entry, owner, since) for entry in (dirs + files if made_here else dirs))
    return given


def _give(folder: int, name: str, owner: os.stat_result, since: float) -> int:
    """1 when root made the entry `name` of `folder` since `since`: it is given to `owner`, never through a
    link; else 0."""
    try:
        info = os.stat(name, dir_fd=folder, follow_symlinks=False)
        if info.st_uid != 0 or info.st_ctime < since:
            return 0
        os.chown(name, owner.st_uid, owner.st_gid, dir_fd=folder, follow_symlinks=False)
        return 1
    except OSError:
        return 0


def unfit_data_folder(path: Path) -> str | None:
    """Why a folder may not hold a station's data (photos, templates, the log), or None: the root of the
    file system (a service started without --data), or a folder every user may write to (/tmp), where
    anyone could put links, settings or models, and whose permissions a station must not narrow."""
    try:
        info = os.stat(path)
        top = Path(path).resolve() == Path(Path(path).resolve().anchor)
    except OSError:
        return None  # not there yet: made private when created
    if top:
        return f"the data folder {path} is the root of the file system: give the data folder with --data"
    if info.st_mode & stat.S_IWOTH:
        return (f"the data folder {Path(path).resolve()} may be written by every user of this machine (like /tmp): "
                "give a folder of its own with --data (the default is the current folder)")
    return None


def foreign_owned(data: Path, models: Iterable[Path] = ()) -> list[Path]:
    """The data folder's settings and models owned by neither this user nor root: whoever owns them decides
    what the station does (its threshold, the model that finds faces). `models`: the files the settings
    name, wherever they are; each is checked with the folder that holds it (its owner may swap it)."""
    if not hasattr(os, "getuid"):
        return []
    named = [part for path in [*models, *sorted((data / "models").glob("*.onnx"))] for part in _chain(Path(path))]
    candidates = dict.fromkeys([data / "faceattend.toml", data / "models", *named])
    found = []
    for path in candidates:
        try:
            owner = os.lstat(path).st_uid
        except OSError:
            continue
        if owner not in (0, os.getuid()):
            found.append(path)
    return found


def _chain(path: Path) -> list[Path]:
    """A model file as named, the folder that holds the name, the file a link there leads to and every
    folder above that one: the owner of any of them may put another model in its place."""
    real = Path(os.path.realpath(path))
    return [path.parent, path, real, *real.parents]


def tighten(path: Path, recursive: bool = True) -> int:
    """Take group and other access away from a folder (0700) and its files (0600); returns how many changed.

    Face photos and templates are biometric data. Only what this user owns is touched.
    """
    path = Path(path)
    if not path.is_dir():
        return 0
    changed = _tighten_one(str(path), 0o700)
    if recursive:
        for root, dirs, files in os.walk(path):  # plain strings: a large roster has many thousand files
            changed += sum(_tighten_one(os.path.join(root, d), 0o700) for d in dirs)
            changed += sum(_tighten_one(os.path.join(root, f), 0o600) for f in files)
    return changed


def tighten_data(root: Path, folders: Iterable[Path]) -> int:
    """The data root itself (not what else is in it) and every file under the private folders."""
    return tighten(root, recursive=False) + sum(tighten(folder) for folder in folders)


def kept_open(folders: Iterable[Path]) -> str:
    """The face data a disk keeps readable by other users whatever is asked (exFAT, FAT and NTFS mounted
    with a umask of 022): said, where narrowing it was tried. "" when every folder is private."""
    for folder in folders:
        with contextlib.suppress(OSError, AttributeError):
            info = os.lstat(folder)  # a link is left as it is, and so is where it leads
            if info.st_uid == os.getuid() and info.st_mode & 0o077 and not stat.S_ISLNK(info.st_mode):
                return (f"{folder} stays readable by other users: its disk ignores permissions (mount it with "
                        "umask=077, or uid= and permissions), or move the data folder")
    return ""


def _tighten_one(path: str, mode: int) -> int:
    try:
        info = os.lstat(path)
        if info.st_uid != os.getuid() or not info.st_mode & 0o077 or stat.S_ISLNK(info.st_mode):
            return 0
        os.chmod(path, stat.S_IMODE(info.st_mode) & mode)
        narrowed = not os.lstat(path).st_mode & 0o077  # exFAT, FAT and NTFS take a chmod and keep the mode
    except (OSError, AttributeError):
        return 0
    return int(narrowed)


def fsync_dir(path: Path) -> None:
    """Flush a directory entry to disk; a no-op where the OS does not allow it."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


LOG_LIMIT = 4 << 20  # bytes a log of the station's reaches before a new one is begun (the last one kept as .1)


def temp_prefix(path: Path) -> str:
    return f".{path.name}."


def temp_name(path: Path) -> str:
    """A new temp file's name beside `path`: `.NAME.`, 12 hex digits, `.tmp`."""
    return f"{temp_prefix(path)}{os.urandom(6).hex()}.tmp"


def own_temps(path: Path, older: bool = False) -> list[Path]:
    """The temp files this program's writes of `path` leave beside it (`temp_name`), never a user's own hidden
    file (".week.csv.original.tmp"); `older`: also those of earlier versions (8 letters and digits), for the
    data folder's own files, where no user keeps theirs."""
    middle = r"([0-9a-f]{12}|[a-z0-9_]{8})" if older else r"[0-9a-f]{12}"
    shape = re.compile(re.escape(temp_prefix(path)) + middle + r"\.tmp")
    with contextlib.suppress(OSError):
        return sorted(p for p in path.parent.glob(f"{glob.escape(temp_prefix(path))}*.tmp")
                      if shape.fullmatch(p.name) and p.is_file() and not p.is_symlink())
    return []


def atomic_write(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write `data` to `path` so readers see either the old or the new file, never a mix.

    The bytes go to a temp file in the same directory, which is fsynced and then
    renamed over the target. On any error the temp file is removed.
    """
    path = Path(path)
    tmp = _finished_temp(path, data, mode)
    try:
        os.replace(tmp, path)
    except OSError as exc:  # said with the file it was for, not the temporary one (a folder in the way)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def _finished_temp(path: Path, data: bytes, mode: int) -> str:
    """A temp file beside `path` holding `data`, fsynced, with `mode`; removed again on any error."""
    fd, tmp = _new_temp(path)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if exc.filename is None:  # a full disk at write(): said with the file it was for
            raise OSError(exc.errno, exc.strerror, str(path)) from None
        raise
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return tmp


def _new_temp(path: Path) -> tuple[int, str]:
    """A new, empty temp file beside `path`, only this user's, opened to write."""
    while True:
        tmp = str(path.parent / temp_name(path))
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600), tmp
        except FileExistsError:
            continue


def write_new(candidates: Iterable[Path], data: bytes, mode: int = 0o600) -> Path:
    """Write `data` complete under the first of `candidates` (names in one folder) that nothing holds.

    A file that appears meanwhile, written by another process, is never replaced: the name is taken
    with a hard link of a finished temp file, which fails where anything exists; where the file system
    has no hard links, by creating the name exclusively and then renaming the temp file over it.
    """
    names = iter(candidates)
    first = next(names)
    tmp = _finished_temp(first, data, mode)
    try:
        for path in itertools.chain([first], names):
            if _take_name(tmp, path, mode):
                with contextlib.suppress(OSError):
                    os.unlink(tmp)  # before the flush: a crash leaves no hidden second name of the sheet
                fsync_dir(path.parent)
                return path
        raise FileExistsError(errno.EEXIST, "every name is taken", str(first))
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def _take_name(tmp: str, path: Path, mode: int) -> bool:
    try:
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    except OSError:  # no hard links on this file system
        pass
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode))
    except FileExistsError:
        return False
    os.replace(tmp, path)
    return True


def open_folder(path: Path) -> int:
    """A descriptor of the folder `path` (absolute, its links resolved), opened one name at a time without
    following links: a name swapped for a link since it was resolved fails (ELOOP or ENOTDIR)."""
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
    fd = os.open(path.anchor or "/", flags)
    try:
        for part in path.parts[1:]:
            inner = os.open(part, flags, dir_fd=fd)
            os.close(fd)
            fd = inner
    except BaseException:
        os.close(fd)
        raise
    return fd


def write_named(path: Path, data: bytes, replace: bool, mode: int = 0o600) -> None:
    """Write `data` as `path` (absolute, its folder's links resolved) within that very folder, never through
    a link: a link put there is replaced, not followed. Without `replace`, a file there is never replaced,
    even one that appeared since it was looked for (FileExistsError)."""
    folder = open_folder(path.parent)
    tmp = temp_name(path)
    try:
        handle = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode, dir_fd=folder)
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        if replace:
            os.replace(tmp, path.name, src_dir_fd=folder, dst_dir_fd=folder)
        else:
            _take_name_in(folder, tmp, path.name, mode)
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=folder)  # before the flush: a crash leaves no hidden second name of the sheet
        for stale in leftover_copies(path):  # whole copies a write killed before its link left (a minute old)
            with contextlib.suppress(OSError):
                stale.unlink()
        with contextlib.suppress(OSError):
            os.fsync(folder)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=folder)
        os.close(folder)


def leftover_copies(path: Path, age: float = 60.0) -> list[Path]:
    """Hidden copies of `path` that a write killed before it gave them the name left beside it, at least
    `age` seconds old (a younger one may be another writer's, still being written)."""
    found = []
    for copy in own_temps(path):
        with contextlib.suppress(OSError):
            if time.time() - copy.stat().st_mtime >= age:
                found.append(copy)
    return found


def _take_name_in(folder: int, tmp: str, name: str, mode: int) -> None:
    """Give the temp file `tmp` the name `name` in `folder` unless something holds it (FileExistsError)."""
    try:
        os.link(tmp, name, src_dir_fd=folder, dst_dir_fd=folder, follow_symlinks=False)
        return
    except FileExistsError:
        raise
    except OSError:  # no hard links on this file system: take the name exclusively, then rename over it
        pass
    os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode, dir_fd=folder))
    os.replace(tmp, name, src_dir_fd=folder, dst_dir_fd=folder)


def foreign_link(path: Path) -> Path | None:
    """The first link on the way to `path` (as named, made absolute) owned by neither this user nor root:
    another user's link is never followed (a link planted in a shared folder, /tmp, could lead anywhere)."""
    walked = Path(path.anchor or "/")
    for part in path.parts[1:]:
        walked = walked / part
        try:
            info = os.lstat(walked)
        except OSError:
            return None
        if stat.S_ISLNK(info.st_mode) and info.st_uid not in (0, os.getuid()):
            return walked
        if stat.S_ISLNK(info.st_mode):
            walked = walked.resolve()
    return None


def keep_note(path: Path, data: bytes | None) -> None:
    """Write a small note whole (`data`) or remove it (None), with any copy of it a killed write left
    beside it: such a copy may name whom the note was about."""
    if data is None:
        path.unlink(missing_ok=True)
    else:
        atomic_write(path, data)
    remove_stale_temps(path)


def remove_stale_temps(path: Path) -> None:
    """Delete temp files left next to `path` by a writer that was killed mid-write."""
    for leftover in own_temps(path, older=True):
        with contextlib.suppress(OSError):
            leftover.unlink()


def error_text(exc: OSError) -> str:
    """An OSError as one line that names its file: "PATH: reason"."""
    reason = exc.strerror or str(exc)
    return f"{exc.filename}: {reason}" if exc.filename else reason


def check_regular(path: Path) -> os.stat_result:
    """Stat `path` (following links) and refuse anything but a regular file, before anyone opens it."""
    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode):
        raise OSError(errno.EINVAL, NOT_REGULAR, str(path))
    return info


def open_unlinked(path: Path | str, flags: int, mode: int = 0o600) -> int:
    """os.open that does not follow a link at `path`: one put there (by someone who could write to the
    folder) would have this program write, as its user, whatever file the link names."""
    try:
        return os.open(path, flags | NO_FOLLOW, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP and os.path.islink(path):
            raise OSError(errno.ELOOP, A_LINK, str(path)) from None
        raise


def open_regular(path: Path, flags: int, mode: int = 0o600) -> int:
    """os.open that never blocks on a FIFO and refuses anything but a regular file; to write, never
    through a link."""
    flags |= getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    fd = open_unlinked(path, flags, mode) if flags & WRITING else os.open(path, flags, mode)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, NOT_REGULAR, str(path))
        if hasattr(os, "set_blocking"):  # not on Windows before Python 3.12, where O_NONBLOCK does not exist
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


READ_CHUNK = 1 << 20  # bytes read at a time from a file that grew after its size was taken


def read_regular(path: Path, limit: int) -> bytes:
    """The bytes of a regular file of at most `limit` bytes; devices, FIFOs and larger files are refused."""
    if check_regular(path).st_size > limit:
        raise _too_large(path, limit)
    fd = open_regular(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    chunks, held = [], 0
    with os.fdopen(fd, "rb") as handle:  # read by its size: a read of `limit` bytes asks for them all at once
        want = min(os.fstat(handle.fileno()).st_size, limit) + 1
        while chunk := handle.read(want):  # the file may have grown since the stat
            chunks.append(chunk)
            held += len(chunk)
            if held > limit:
                raise _too_large(path, limit)
            want = min(READ_CHUNK, limit + 1 - held)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _too_large(path: Path, limit: int) -> OSError:
    return OSError(errno.EFBIG, f"larger than {limit:,} bytes, the most this program reads", str(path))
