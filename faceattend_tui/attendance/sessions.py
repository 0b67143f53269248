"""Attendance rules on top of the store: one active session, one check-in per person."""

from __future__ import annotations

import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from .common import aware
from .models import (
    ABSENT,
    CAMERA,
    LATE,
    MANUAL,
    NO_SESSION,
    PRESENT,
    STATUSES,
    Checkin,
    Counts,
    Person,
    RosterRow,
    Session,
)
from .security import audit, make_audit
from .store import NotFoundError, Store


class SessionError(RuntimeError):
    """A session rule was broken."""


class SessionActiveError(SessionError):
    """A session is already running."""


class NoActiveSessionError(SessionError):
    """The action needs a running session and there is none."""


@dataclass
class CheckinResult:
    checkin: Checkin
    new: bool  # False: the person had already checked in; only last_seen moved


@dataclass
class PersonStatus:
    person: str
    status: str
    checkin: Checkin | None = None


@dataclass
class Summary:
    session: Session
    people: list[PersonStatus] = field(default_factory=list)
    counts: Counts = field(default_factory=Counts)

    def names(self, status: str) -> list[str]:
        return [p.person for p in self.people if p.status == status]

    @property
    def present(self) -> list[str]:
        return self.names(PRESENT)

    @property
    def late(self) -> list[str]:
        return self.names(LATE)

    @property
    def absent(self) -> list[str]:
        return self.names(ABSENT)


def person_statuses(checkins: Iterable[Checkin], roster: Iterable[str]) -> list[PersonStatus]:
    """Status for every roster person plus anyone else with a record, sorted by name."""
    by_name = {c.person: c for c in checkins}
    names = sorted(set(roster) | set(by_name))
    return [PersonStatus(n, by_name[n].status if n in by_name else ABSENT, by_name.get(n)) for n in names]


def summarize(store: Store, session: Session, roster: Iterable[str] | None = None) -> Summary:
    """Present / late / absent for one session; the default roster is who was enrolled then."""
    if roster is None:
        roster = store.roster(at=session.ended_at) if session.ended_at else store.roster()
    people = person_statuses(store.checkins(session.id), roster)
    counts = Counts()
    for item in people:
        counts.add(item.status)
    return Summary(session, people, counts)


class Attendance:
    """The station's session logic. Time comes from the store's clock."""

    def __init__(self, store: Store, *, user: str | None = None, station: str | None = None):
        self.store = store
        self.user = user
        self.station = station or socket.gethostname()
        running = store.open_sessions()
        self._active: Session | None = running[-1] if running else None

    @property
    def active(self) -> Session | None:
        """The running session (found again after a restart), or None."""
        return self._active

    def _require_active(self) -> Session:
        if self._active is None:
            raise NoActiveSessionError("no session is running; start one first")
        return self._active

    def _session(self, session_id: int | None) -> Session:
        if session_id is None:
            return self._require_active()
        session = self.store.get_session(session_id)
        if session is None:
            raise NotFoundError(f"no session with id {session_id}")
        return session

    # ----- sessions ------------------------------------------------------------------

    def start_session(self, name: str, late_after_minutes: float | None = None, *, user: str | None = None
                      ) -> Session:
        if self._active is not None:
            running = self._active
            raise SessionActiveError(
                f"session {running.name!r} (id {running.id}) has been running since "
                f"{running.started_at:%Y-%m-%d %H:%M}; stop it before starting another"
            )
        if late_after_minutes is not None and late_after_minutes < 0:
            raise ValueError("late_after_minutes must be zero or more")
        with self.store.batch():
            session = self.store.create_session(name, self.store.now(), late_after_minutes, self.station)
            audit(self.store, "session.start", {"session_id": session.id, "name": session.name,
                                                "late_after_minutes": late_after_minutes}, self._user(user))
        self._active = session
        return session

    def stop_session(self, *, user: str | None = None) -> Session:
        session = self._require_active()
        self.store.flush_journal()
        counts = self.store.counts(session.id)
        with self.store.batch():
            ended = self.store.end_session(session.id, self.store.now())
            audit(self.store, "session.stop", {"session_id": session.id, "present": counts.present,
                                               "late": counts.late}, self._user(user))
        self._active = None
        return ended

    def sessions(self) -> list[Session]:
        """All sessions, newest first."""
        return list(reversed(self.store.sessions()))

    def past_sessions(self) -> list[Session]:
        return [s for s in self.sessions() if not s.active]

    # ----- check-ins -------------------------------------------------------------------

    def check_in(self, person: str, similarity: float | None = None, track_id: int | None = None,
                 when: datetime | None = None) -> CheckinResult:
        """Record a camera sighting. The first one per session is saved (durably) as the check-in."""
        _check_person(person)
        session = self._require_active()
        when = aware(when) if when is not None else self.store.now()
        if self.store.touch(session.id, person, when):
            return CheckinResult(self.store.get_checkin(session.id, person), new=False)
        checkin = Checkin(session.id, person, when, similarity=similarity, track_id=track_id, source=CAMERA,
                          late=session.is_late(when), last_seen=when)
        self.store.record_checkin(checkin)
        return CheckinResult(checkin, new=True)

    def mark(self, person: str, status: str, reason: str, *, session_id: int | None = None,
             user: str | None = None) -> Checkin:
        """Staff override: set `person` present, late or absent with a reason (audited)."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}")
        if not isinstance(reason, str) or not reason.strip():
            raise ValueError("a reason is required for a manual mark")
        _check_person(person)
        session = self._session(session_id)
        user = self._user(user)
        now = self.store.now()
        old = self.store.get_checkin(session.id, person)
        checkin = Checkin(session.id, person, now, source=MANUAL, late=status == LATE,
                          present=status != ABSENT, reason=reason.strip(), marked_by=user,
                          last_seen=old.last_seen if old else None)
        details = {"session_id": session.id, "person": person, "status": status, "reason": checkin.reason,
                   "previous": old.status if old else None}
        self.store.record_checkin(checkin, replace=True, audit=make_audit(now, "checkin.mark", details, user))
        return checkin

    def has_checked_in(self, person: str, session_id: int | None = None) -> bool:
        return self.store.has_checkin(self._session(session_id).id, person)

    def last_seen(self, person: str) -> datetime | None:
        session = self._active
        checkin = self.store.get_checkin(session.id, person) if session else None
        return checkin.last_seen if checkin else None

    def counts(self, session_id: int | None = None) -> Counts:
        """Present, late and absent in a session; absent is everyone on the roster not there, plus absent marks."""
        session = self._session(session_id)
        counts = self.store.counts(session.id)
        counts.absent += sum(not self.store.has_checkin(session.id, name) for name in self.store.roster())
        return counts

    def summary(self, session_id: int | None = None, roster: Iterable[str] | None = None) -> Summary:
        return summarize(self.store, self._session(session_id), roster)

    # ----- people ---------------------------------------------------------------------

    def roster(self) -> list[RosterRow]:
        """Everyone on the roster, by name, with their state in the running session."""
        people = sorted(self.store.people(), key=lambda p: p.name.casefold())
        return [self._row(person.name, person.images) for person in people]

    def roster_row(self, name: str) -> RosterRow:
        person = self.store.get_person(name)
        return self._row(name, person.images if person else None)

    def _row(self, name: str, images: int | None) -> RosterRow:
        session = self._active
        checkin = self.store.get_checkin(session.id, name) if session else None
        if checkin is None:
            return RosterRow(name, ABSENT if session else NO_SESSION, images or 0)
        return RosterRow(name, checkin.status, images or 0, checkin.time, checkin.last_seen, checkin.source,
                         checkin.reason or "")

    def sync_people(self, enrolled: dict[str, int], *, user: str | None = None) -> bool:
        """Make the roster match the enrolled templates (name -> sample count); True when it changed."""
        with self.store.batch():
            added, removed = self.store.sync_people(enrolled)
            if added or removed:
                audit(self.store, "people.sync", {"added": len(added), "first": added[:20], "removed": removed[:20]},
                      self._user(user))
        return bool(added or removed)

    def enroll(self, name: str, images: int | None = None, *, user: str | None = None) -> Person:
        with self.store.batch():
            person = self.store.add_person(name, images)
            audit(self.store, "person.enroll", {"name": person.name, "images": images}, self._user(user))
        return person

    def remove_person(self, name: str, *, erase_checkins: bool = False, user: str | None = None) -> None:
        """Take someone off the roster (their records stay), or also erase their check-ins."""
        with self.store.batch():
            if self.store.get_person(name) is not None:
                self.store.delete_person(name)
            audit(self.store, "person.delete", {"name": name, "erase_checkins": erase_checkins}, self._user(user))
        if erase_checkins:
            self.store.erase_checkins(name)

    def _user(self, user: str | None) -> str | None:
        return user or self.user


def _check_person(person: str) -> None:
    if not isinstance(person, str) or not person:
        raise ValueError("person name must be non-empty text")
