"""`TinyStore`: the attendance log as one TinyDB file in the data root, with a write-ahead journal.

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
  (an export while the station runs); the station takes them in when it next opens or closes,
  and every reading of the audit shows them meanwhile.
* `attendance.tries` - wrong PINs given to such commands, counted under a lock on that file.

Everything is read once at open and kept in memory, indexed by session and person. One process
writes (hold `security.acquire_lock(data_root)`); others may open a read-only snapshot, which
reads the journal and then the file, writes nothing and never takes the lock.

The parts: `files` (reading and writing the files), `journal` (load, write, fold), `tables`
(the document in memory, its indexes and ops) and `queries`.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from faceattend_tui.files import make_private_dir

from ..common import Clock, aware, local_now
from ..store import Store, StoreError
from .files import default_path, files_as_they_are
from .journal import Journaled
from .queries import PeopleAndSessions, Records
from .tables import Op, Tables


class TinyStore(PeopleAndSessions, Records, Tables, Journaled, Store):
    def __init__(self, path: str | os.PathLike, *, clock: Clock | None = None, read_only: bool = False):
        self.path = Path(path)
        self.journal_path = self.path.with_suffix(".journal")
        self.outbox_path = self.path.with_suffix(".outbox")
        self.taking_path = self.path.with_suffix(".outbox-taking")  # an outbox the writer is taking in
        self.tries_path = self.path.with_suffix(".tries")
        self.read_only = read_only
        self._clock = clock or local_now
        self._closed = False
        self._batch: list[Op] | None = None
        self._journal_fd: int | None = None
        self._journal_size = 0
        self._pending_fold = False  # the journal grew past FOLD_BYTES: fold after this write
        self._fold_again_at = 0  # the journal's size at which a fold that failed is tried again
        if not read_only:
            try:
                make_private_dir(self.path.parent)
            except OSError as exc:
                raise StoreError(f"cannot create data directory {self.path.parent}: {exc.strerror or exc}") from exc
        self._load()
        if not read_only:
            self._settle()

    def now(self) -> datetime:
        return aware(self._clock())

    def ids_now(self) -> set[str]:
        """A snapshot reads the log again where its files changed since (a writer's log is always now)."""
        if not self.read_only or files_as_they_are(self.journal_path, self.path) == self._read_as:
            return super().ids_now()
        fresh = TinyStore(self.path, clock=self._clock, read_only=True)
        try:
            return {person.id for person in fresh.people()}
        finally:
            fresh.close()


def open_store(data_root: str | os.PathLike, *, clock: Clock | None = None) -> TinyStore:
    """Open (or create) `<data_root>/attendance.json` as its writer (hold the data lock)."""
    return TinyStore(default_path(data_root), clock=clock)


def open_snapshot(data_root: str | os.PathLike, *, clock: Clock | None = None) -> TinyStore:
    """A read-only view of the log as it is now, for exports and reports while a station runs."""
    path = default_path(data_root)
    if not path.exists():  # a device or FIFO is refused by load_log, not reported as missing
        raise StoreError(f"{path}: no attendance log here")
    return TinyStore(path, clock=clock, read_only=True)
