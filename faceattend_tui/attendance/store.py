"""The attendance log behind one interface: people, sessions, check-ins, marks, audit, settings.

`Store` is what the rules (`sessions.Attendance`), exports, reports and the station use; a
backend implements it. `tinystore.TinyStore` keeps the log in one TinyDB file in the data root.
Every write method is durable when it returns. Rules that span records (one check-in per person
per session) are the backend's to enforce, so that several writers cannot break them.
"""

from __future__ import annotations

import contextlib
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from faceattend_tui.errors import RecordsError

from .models import AuditEntry, Checkin, Mark, Person, Presence, Session

_UPDATES = threading.RLock()  # read-change-write steps, for stores of one writer


@dataclass(frozen=True)
class SessionRecords:
    """A session's check-ins in arrival order and its marks in the order they were made."""

    checkins: list[Checkin]
    marks: list[Mark]


def outcomes_from(checkins: Iterable[Checkin], marks: Iterable[Mark]) -> dict[str, str]:
    """Status of everyone with a record: the last mark wins over the camera."""
    found = {c.person_id: c.status for c in checkins}
    found.update({m.person_id: m.status for m in marks})
    return found


class StoreError(RecordsError):
    """The attendance log cannot be read or written."""


class NotFoundError(RecordsError, LookupError):
    """A person or session that the caller named does not exist."""


class GoneMeanwhile(NotFoundError):
    """The person a write was about (a check-in, a change) was erased at another door a moment ago: nothing
    was written, and nothing names them."""


class ConflictError(StoreError, ValueError):
    """Another writer got there first (a session already runs, a folder is someone else's)."""


def refuse_changed_meanwhile(people: list[Person], new: Collection[str] | None, stored: Mapping[str, Person]) -> None:
    """Refuse a write of `people` made on what is no longer so (see Store.save_people); `stored`: those of
    them the log holds now."""
    if new is None:
        return
    added = [stored[i] for i in new if i in stored]
    if added:
        named = ", ".join(f"{p.id} ({p.name})" for p in added[:5])
        raise ConflictError(f"{named} {'was' if len(added) == 1 else 'were'} added meanwhile at another door or by "
                            "another command; nothing was saved: look again and try again")
    if any(p.id not in stored and p.id not in new for p in people):  # never named: they were erased
        raise GoneMeanwhile("someone was erased meanwhile at another door or by another command; nothing was "
                            "saved: look again")


class EndedElsewhere(ConflictError):
    """The session being stopped was stopped a moment ago at another station; nothing was written."""


class FoldError(StoreError):
    """Closing the log could not rewrite its file; every change is safe in its journal all the same."""


class OfflineError(StoreError):
    """A shared database cannot be reached now; nothing was written."""


@dataclass(frozen=True)
class Change:
    """What another writer changed, as a shared backend reports it.

    `table` is "checkins" (with the check-in), "people", "sessions", "marks", "templates",
    "settings", or "all" after a lost connection (read everything again); "dropped" (with the check-in)
    for one kept while the database was away whose person was erased meanwhile, "after-end" for one that came after
    its session was stopped at another door, with no other session running for them.
    """

    table: str
    checkin: Checkin | None = None


UNFILED = 0  # the session id of an arrival kept while a shared log was away, filed on its return
CLOCKS_APART = timedelta(minutes=2)  # how far apart doors' clocks may be when a kept check-in is filed by its time


@dataclass(frozen=True)
class StoreState:
    """Whether the log is reachable, and how many check-ins wait locally for it."""

    online: bool = True
    waiting: int = 0
    note: str = ""  # why it is offline


class Store(ABC):
    """The log's interface. Times are timezone-aware; ids of people are strings, of sessions ints."""

    read_only = False
    tries_path: Path | None = None  # where a read-only view counts wrong PINs (None: it counts in the log)

    @abstractmethod
    def now(self) -> datetime: ...

    @abstractmethod
    def close(self) -> None: ...

    @property
    @abstractmethod
    def schema_version(self) -> int:
        """The version of the log's layout as found on disk or in the database."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def changes(self) -> list[Change]:
        """What other writers changed since the last call (a log of one writer has none)."""
        return []

    def state(self) -> StoreState:
        return StoreState()

    def namesakes(self) -> int:
        """Other writers connected under this station's name (a log of one writer has none)."""
        return 0

    def clock_skew(self) -> float:
        """Seconds this machine's clock is ahead of the log's (a shared database's); 0 for a file."""
        return 0.0

    def shared_now(self) -> datetime:
        """The clock every writer of the log reads alike (wrong PINs' waits are counted on it): a shared
        database's own, this machine's for a file."""
        return self.now()

    def latest_moment(self, audit: bool = True) -> datetime | None:
        """The latest time the log has recorded (an audit entry, a session's start or end, a check-in, a
        mark; without `audit`, what a door records, not what a command did since); None when it cannot tell
        cheaply (a shared database, whose own clock `clock_skew` compares with)."""
        return None

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Several writes that land together or not at all."""
        yield

    def take_in_waiting(self) -> None:
        """Take in the audit lines other commands left while a station held the log (before an erasure
        rewrites the audit, so that none of them escapes it); a shared database has none waiting."""
        return

    # -- settings

    @abstractmethod
    def get_setting(self, key: str, default: Any = None) -> Any: ...

    @abstractmethod
    def set_setting(self, key: str, value: Any) -> None:
        """Store a JSON value; None removes it."""

    def exclusive(self) -> contextlib.AbstractContextManager:
        """Hold off this process's other threads from the log (a store of one writer is not theirs to share)."""
        return _UPDATES

    def update_setting(self, key: str, change: Callable[[Any], Any]) -> Any:
        """Replace a setting by `change(old value)` with no other change between; returns the new value.

        One writer per log here: a lock of this process keeps its threads in turn.
        """
        with self.exclusive(), self.batch():
            new = change(self.get_setting(key))
            self.set_setting(key, new)
        return new

    @abstractmethod
    def all_settings(self) -> dict[str, Any]:
        """Every stored setting, by key."""

    # -- people

    @abstractmethod
    def people(self) -> list[Person]:
        """Everyone in the log (active and left), in no particular order."""

    @abstractmethod
    def person(self, person_id: str) -> Person | None: ...

    def ids_now(self) -> set[str]:
        """The ids of everyone in the log as it is now, whoever wrote it since this store read it (an erasure
        made while a sheet was being written must not leave its person in the sheet)."""
        return {person.id for person in self.people()}

    def hold_person(self, person_id: str) -> bool:
        """Whether the person is in the log, kept there until this batch ends: in a shared log an erasure
        at another door waits for it, or it waits for the erasure and finds them gone. One writer here."""
        return self.person(person_id) is not None

    @abstractmethod
    def save_person(self, person: Person) -> None:
        """Insert or replace the person with this id."""

    @abstractmethod
    def save_people(self, people: list[Person], new: Collection[str] | None = None) -> None:
        """Insert or replace many people in one write. With `new` (the ids the caller found absent), nothing is
        written when one of them is there by now (ConflictError: added meanwhile at another door) or when
        one of the others is gone (GoneMeanwhile: erased meanwhile; written, they would come back)."""

    @abstractmethod
    def change_person_id(self, old: str, new: str) -> None:
        """Give a person another id; their records follow."""

    @abstractmethod
    def erase_person(self, person_id: str, token: str | None = None) -> int:
        """Remove the person and every record of theirs; returns how many check-ins, marks and days seen
        (work mode) went.

        With a token, audit entries that name them are rewritten with the token in their place.
        """

    # -- sessions

    @abstractmethod
    def create_session(self, session: Session) -> Session:
        """Store a new session; its id is assigned here."""

    @abstractmethod
    def end_session(self, session_id: int, ended_at: datetime) -> Session: ...

    @abstractmethod
    def update_session(self, session_id: int, changes: dict, expected: list[str] | None = None) -> Session:
        """Change a session's name, group, late_after_minutes or void fields (and its list, when given)."""

    @abstractmethod
    def add_expected(self, session_id: int, person_ids: list[str]) -> list[str]:
        """Add people to a session's list; returns the ones that were not on it."""

    @abstractmethod
    def session(self, session_id: int) -> Session | None: ...

    @abstractmethod
    def sessions(self) -> list[Session]:
        """All sessions, oldest first."""

    def open_sessions(self) -> list[Session]:
        return [s for s in self.sessions() if s.active]

    # -- check-ins and marks

    @abstractmethod
    def record_checkin(self, checkin: Checkin) -> bool:
        """Store a camera check-in; False (nothing written) when the person has one in that session."""

    def keep_for_later(self, checkin: Checkin) -> bool:
        """A shared log away: keep an arrival for a session this station does not know of (one another door
        started meanwhile, a list changed there), to be filed when the log is back as it stands then, into
        the session running for them at that moment (none: it goes). False: nothing kept (a log of one
        writer is never away)."""
        return False

    @abstractmethod
    def touch(self, session_id: int, person_id: str, when: datetime) -> bool:
        """Move "last seen" forward (saved lazily); False when there is no check-in to touch."""

    @abstractmethod
    def checkin(self, session_id: int, person_id: str) -> Checkin | None: ...

    @abstractmethod
    def checkins(self, session_id: int) -> list[Checkin]:
        """A session's check-ins, in arrival order."""

    def outcomes(self, session_id: int) -> dict[str, str]:
        """Status of everyone with a record in a session (the last mark wins over the camera)."""
        return outcomes_from(self.checkins(session_id), self.marks(session_id))

    def records_of(self, session_ids: Iterable[int]) -> dict[int, SessionRecords]:
        """Several sessions' check-ins and marks, each as `checkins` and `marks` give them (a backend with a
        round trip per read fetches them together: a term's export)."""
        return {i: SessionRecords(self.checkins(i), self.marks(i)) for i in dict.fromkeys(session_ids)}

    def outcomes_of(self, session_ids: Iterable[int]) -> dict[int, dict[str, str]]:
        """`outcomes` of several sessions (a term's report)."""
        return {i: self.outcomes(i) for i in dict.fromkeys(session_ids)}

    @abstractmethod
    def see(self, presence: Presence) -> None:
        """Record a sighting of a day at a door: kept are the day's first and last (work mode's hours)."""

    @abstractmethod
    def presence(self, date_from: date, date_to: date) -> list[Presence]:
        """The sightings of the days from `date_from` to `date_to`, by day and person."""

    @abstractmethod
    def add_mark(self, mark: Mark) -> None: ...

    @abstractmethod
    def marks(self, session_id: int) -> list[Mark]:
        """A session's marks in the order they were written (the last one per person counts), not by their
        times: a mark made while a clock ran ahead never outranks a later one."""

    # -- audit

    @abstractmethod
    def add_audit(self, entry: AuditEntry) -> None: ...

    @abstractmethod
    def audit_log(self) -> list[AuditEntry]:
        """Audit records, oldest first."""
