"""The log's writing side: loading the files, journaling each write, folding the journal into the file.

Every change is a list of ops: journaled (one fsynced JSON line), then applied in memory (see
`tables`). The journal is folded into the file (one whole rewrite, then it is deleted) when the
log is opened or closed and when it grows past FOLD_BYTES; the file records the last folded
`seq`, so a line is never applied twice.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from tinydb import TinyDB

from faceattend_tui.filelock import same_file
from faceattend_tui.files import atomic_write, error_text, fsync_dir, open_regular, remove_stale_temps

from ..common import to_iso
from ..models import AuditEntry, Checkin, Mark, Person, Presence, Session
from ..store import FoldError, StoreError
from ..upgrade import SCHEMA_VERSION, fold_v1_journal, upgrade_same_records, upgrade_v1
from .files import (
    UNCHANGED,
    MemoryStorage,
    cut_torn_tail,
    files_as_they_are,
    load_log,
    read_lines,
    schema_version_of,
    sync,
    take_outbox,
    write_all,
)
from .tables import TABLES, Doc, Document, Op

FOLD_BYTES = 4 << 20  # fold the journal once it holds this much
FOLD_RETRY_BYTES = 1 << 20  # after a fold failed (a full disk), the next try waits for this much more
LOG = logging.getLogger("faceattend.log")
# Ops whose record is read back as one of the log's records: checked as a journal line is replayed.
CHECKED = {"person": Person.from_doc, "session": Session.from_doc, "checkin": Checkin.from_doc,
           "mark": Mark.from_doc, "audit": AuditEntry.from_doc, "presence": Presence.from_doc}


class Journaled:
    """Opening, writing, folding and closing the log.

    Uses of the store: path, journal_path, outbox_path, taking_path, read_only, now(), _closed, _batch, _seq,
    _journal_fd, _journal_size, _pending_fold, _fold_again_at, and the tables' _index, _apply, _meta and _seen.
    """

    path: Path
    journal_path: Path
    outbox_path: Path
    taking_path: Path
    read_only: bool
    _closed: bool
    _batch: list[Op] | None
    _seq: int
    _journal_fd: int | None
    _journal_size: int
    _pending_fold: bool
    _fold_again_at: int
    _seen: set[str]
    # set by _load
    _db: TinyDB
    _doc: Document
    _fresh: bool
    _upgraded_from: int | None
    _pending_lines: bool
    _read_as: tuple[tuple[int, int, int] | None, ...]  # the journal and the file as they were when read

    if TYPE_CHECKING:
        def now(self) -> datetime: ...
        def _index(self) -> None: ...
        def _apply(self, op: Op) -> None: ...
        def _meta(self) -> Doc: ...

    # -- opening

    def _load(self) -> None:
        """Read the journal, then the file (so a fold in between loses nothing), and index them."""
        self._read_as = files_as_they_are(self.journal_path, self.path)
        lines = read_lines(self.journal_path, "journal")
        document = load_log(self.path)
        self._fresh = document is None
        self._upgraded_from = None
        if document is None:
            document = {"meta": {"1": {"schema_version": SCHEMA_VERSION, "created": to_iso(self.now())}}}
        version = schema_version_of(self.path, document)
        if version == 1:
            document, lines, self._upgraded_from = self._from_v1(document, lines), [], 1
        elif version < SCHEMA_VERSION:  # the same records; what only a later version keeps may follow
            document, self._upgraded_from = upgrade_same_records(document, version, self.now()), version
        for name in TABLES:
            document.setdefault(name, {})
        self._db = TinyDB(self.path, storage=MemoryStorage, document=document)
        self._doc = document
        self._index()
        folded = self._meta().get("folded_seq", 0)
        if not isinstance(folded, int) or isinstance(folded, bool):
            raise StoreError(f"attendance log {self.path}: its folded_seq is not a number; {UNCHANGED}")
        self._seq = folded
        self._refuse_a_gap(lines, folded)
        for line in lines:
            seq = line.get("seq", 0)
            if not isinstance(seq, int) or not isinstance(line.get("ops", []), list):
                raise self._damaged(line, "not a numbered list of changes")
            if seq > folded:
                self._replay(line)
                self._seq = max(self._seq, seq)
        self._pending_lines = bool(lines)

    def _from_v1(self, document: dict, lines: list[dict]) -> dict:
        """A schema-1 log and its journal as today's tables; a damaged one, or a journal of this version
        beside it (an older copy put back), is refused with the files named and nothing changed."""
        if any("ops" in line or "seq" in line for line in lines):
            raise StoreError(f"{self.path} is a log of an earlier version, but {self.journal_path} was written by this "
                             "one: the log is an older copy put back? Put the newer log back, or move the journal "
                             "aside to open the older log as it was; nothing was changed")
        try:
            fold_v1_journal(document, lines)
            return upgrade_v1(document, self.now())
        except StoreError as exc:
            raise StoreError(f"{self.path}: {exc}") from None
        except (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError) as exc:
            raise StoreError(f"{self.path} (a log of an earlier version) or {self.journal_path} has a damaged "
                             f"record ({exc!r}); nothing was changed: keep a copy, and repair or move aside the "
                             "damaged file") from None

    def _refuse_a_gap(self, lines: list[dict], folded: int) -> None:
        """A journal that goes on from a later change than the file was last written at: the file is
        older than its journal (a backup put back by hand) and the changes between are nowhere."""
        ahead = [line["seq"] for line in lines if isinstance(line.get("seq"), int) and line["seq"] > folded]
        if isinstance(folded, int) and ahead and min(ahead) > folded + 1:
            raise StoreError(f"{self.path} was last written at change {folded}, but {self.journal_path} goes on "
                             f"from change {min(ahead)}: the log is older than its journal (a copy put back?), "
                             "and the changes between are in neither; put the newer log back (nothing was changed), "
                             "or, if the older copy is all there is, move the journal aside to open it as it was")

    def _replay(self, line: dict) -> None:
        """One journal line's ops; a damaged one (a hand edit, a flipped bit) stops the opening, named."""
        try:
            for op in line.get("ops", []):
                read = CHECKED.get(op[0]) if isinstance(op, list) and op else None
                if read is not None:
                    read(op[1])  # the record as the log reads it back: a bad time or number is said here
                self._apply(op)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError, OverflowError) as exc:
            raise self._damaged(line, repr(exc)) from None

    def _damaged(self, line: dict, why: str) -> StoreError:
        return StoreError(f"{self.journal_path}: the change numbered {line.get('seq')!r} is damaged ({why}); nothing "
                          "was changed: keep a copy of the journal, or move it aside to open the log as it was last "
                          "written")

    def _settle(self) -> None:
        """As the writer: keep a backup of an upgraded file, take in the outbox, fold the journal."""
        try:
            self._tidy()
        except StoreError:
            self._close_journal()
            raise
        except OSError as exc:
            self._close_journal()
            raise StoreError(f"cannot open attendance log {self.path} to write: {error_text(exc)}") from exc

    @property
    def upgraded_from(self) -> int | None:
        """The schema the file holds when it is older than this program's (read as upgraded; a writer
        upgrades the file itself as it opens it), else None."""
        return self._upgraded_from

    def _tidy(self) -> None:
        if self._upgraded_from is not None:
            self._keep_before_upgrade()
        self._take_outbox()
        if self._fresh or self._pending_lines or self._upgraded_from is not None:
            self.fold(force=True)  # a new or upgraded log is written even with nothing to fold
        remove_stale_temps(self.path)

    def _keep_before_upgrade(self) -> None:
        """Copies of the log and of its journal (changes an older station had not folded in yet: it stopped
        with a session running, or crashed), as they were, for a rollback: the upgrade folds the journal
        into the log and deletes it. A journal's copy from an earlier upgrade goes when there is no journal
        now: put back beside this log copy, it would replay older changes over it."""
        for kept in (self.journal_path, self.path):
            backup = kept.with_name(f"{kept.name}.schema{self._upgraded_from}.bak")
            try:  # whole or not at all: a full disk leaves no empty backup behind
                if kept.exists():
                    atomic_write(backup, kept.read_bytes())
                else:
                    backup.unlink(missing_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot keep a copy of the log before upgrading it ({backup}): "
                                 f"{error_text(exc)}; the log and its journal were left as they were, not "
                                 "upgraded") from exc

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
            raise FoldError(f"{text}; the log was left as it was and changes since it was last written stay "
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
        folded = self._meta().get("folded_seq", 0)
        self._meta()["folded_seq"] = self._seq
        storage = self._db.storage
        assert isinstance(storage, MemoryStorage)  # the log's TinyDB is always opened on one
        try:
            storage.flush()
        except StoreError:
            self._meta()["folded_seq"] = folded  # the file on disk still holds the older one
            raise
        self._seen.clear()
        self._fold_again_at = 0  # written: the next fold is due at FOLD_BYTES again
        self._close_journal()
        if self.journal_path.exists():
            try:
                self.journal_path.unlink()
            except OSError as exc:
                raise StoreError(f"could not remove journal {self.journal_path}: {exc}") from exc
            fsync_dir(self.journal_path.parent)

    # -- writing: every change is a list of ops, journaled, then applied

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        if self._batch is not None:  # nested: part of the outer batch
            yield
            return
        self._mend_lost_journal()
        seen = self._last_seen()
        self._batch = []
        try:
            yield
            ops, self._batch = self._batch, None
            if ops:
                self._journal(ops)
        except BaseException:
            self._batch = None
            self._reload()  # what was applied in memory never reached the disk
            self._see_again(seen)
            raise
        self._after_write()

    def _last_seen(self) -> dict[str, str]:
        """The "last seen" times kept in memory only, until the next fold."""
        checkins = self._doc["checkins"]
        return {i: checkins[i]["last_seen"] for i in self._seen if checkins.get(i, {}).get("last_seen")}

    def _see_again(self, seen: dict[str, str]) -> None:
        """Put back "last seen" times that a reload from disk took back (a refused batch is no reason)."""
        checkins = self._doc["checkins"]
        for doc_id, text in seen.items():
            if doc_id in checkins:
                checkins[doc_id]["last_seen"] = text
                self._seen.add(doc_id)

    def _write(self, *ops: Op) -> None:
        self._require_writable()
        if self._batch is not None:
            for op in ops:
                self._apply(op)
            self._batch.extend(ops)
            return
        self._mend_lost_journal()
        self._journal(list(ops))
        for op in ops:
            self._apply(op)

    def _journal(self, ops: list[Op]) -> None:
        line = (json.dumps({"seq": self._seq + 1, "ops": ops}, separators=(",", ":")) + "\n").encode("utf-8")
        try:
            fd = self._journal_file()
            write_all(fd, line)
            sync(fd)
        except OSError as exc:
            self._undo_partial_line()
            raise StoreError(f"could not write to {self.journal_path}: {exc.strerror or exc}") from exc
        self._seq += 1
        self._journal_size += len(line)
        if self._journal_size > max(FOLD_BYTES, self._fold_again_at) and self._batch is None:
            self._pending_fold = True

    def _after_write(self) -> None:
        """Fold when due. The change is in the journal already: a fold that fails (a full disk) does not
        undo it nor fail it; it is said in the log, and tried again later and at close."""
        if self._pending_fold and self._batch is None:  # inside a batch: when it ends
            self._pending_fold = False
            try:
                self.fold()
            except (OSError, StoreError) as exc:
                self._fold_again_at = self._journal_size + FOLD_RETRY_BYTES
                LOG.warning("%s; changes stay in %s until it can be rewritten",
                            error_text(exc) if isinstance(exc, OSError) else exc, self.journal_path)

    def _mend_lost_journal(self) -> None:
        """The journal deleted while this log is open (by hand, a clean-up script): every change it held is in
        memory, so the whole log is written now, before the next change. Otherwise a crash left a log older than
        the new journal (refused at the next start), and moving that journal aside dropped every change since
        the last fold. A journal replaced by another file is refused when written (another writer)."""
        if self._journal_fd is None or same_file(self._journal_fd, self.journal_path) or self.journal_path.exists():
            return
        if not self._log_as_folded():  # another writer folded it (no data lock): refused when written
            return
        self._close_journal()
        self.fold(force=True)

    def _log_as_folded(self) -> bool:
        """Whether the file on disk is still the one this log last wrote (no other writer folded since)."""
        try:
            document = load_log(self.path)
        except (StoreError, OSError):
            return False
        metas = list((document or {}).get("meta", {}).values())
        return bool(metas) and metas[0].get("folded_seq", 0) == self._meta().get("folded_seq", 0)

    def _journal_file(self) -> int:
        if self._journal_fd is not None and not same_file(self._journal_fd, self.journal_path):
            self._close_journal()
            raise StoreError(f"{self.journal_path} was folded or removed by another process; reopen the log "
                             "(only one station may write to it: hold the data lock)")
        if self._journal_fd is None:
            existed = self.journal_path.exists()
            flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0)
            self._journal_fd = open_regular(self.journal_path, flags)
            cut_torn_tail(self._journal_fd)  # a line torn by a power loss, never reported as written
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

    def take_in_waiting(self) -> None:
        if not self.read_only and not self._closed:
            self._take_outbox()

    def _take_outbox(self) -> None:
        """The audit lines readers left (exports, wrong PINs), into the log. One taken by a writer that
        stopped before it was done goes in first: taking the next would replace it (lines have ids: none
        is counted twice)."""
        self._take_in(self.taking_path)  # left by a writer stopped halfway
        take_outbox(self.outbox_path, self.taking_path)  # readers that append now start a new file
        self._take_in(self.taking_path)

    def _take_in(self, taking: Path) -> None:
        entries = read_lines(taking, "outbox")
        if entries:
            self._write(*(["audit", doc] for doc in entries if isinstance(doc.get("id"), str)))
        with contextlib.suppress(FileNotFoundError):
            taking.unlink()
