"""Attendance rules on top of a store: people and groups, one running session, one check-in each.

A session is for a group or for everyone and records who it expects when it starts; people who
join the group (or, for everyone, are enrolled) while it runs join it. Later changes never touch
a past session. A camera check-in keeps its arrival time; a staff mark is kept beside it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import socket
from collections.abc import Callable, Collection, Container, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from faceattend_tui.errors import InputError, RecordsError
from faceattend_tui.text import collation, composed, fold, name_key, same, spelling_key, unaccented

from .common import aware, checked_late_after, in_millis, minutes_until
from .corrections import forget_person, scrub_reasons
from .models import (
    ABSENT,
    ACTIVE,
    DEFAULT_CODES,
    LATE,
    LEFT,
    NO_SESSION,
    PRESENT,
    STATUSES,
    Checkin,
    Counts,
    Mark,
    Person,
    PersonStatus,
    RosterRow,
    Session,
    check_person_id,
    check_text,
    clean_groups,
    clean_name,
    new_person_id,
)
from .security import audit, erased_folders, erased_names, erased_token, erasure_details, note_erased
from .store import NotFoundError, SessionRecords, Store, StoreError
from .timetable import scrub_timetable


class AmbiguousName(RecordsError, LookupError):
    """A name several people have, given where one person is meant."""


class SessionError(RecordsError, RuntimeError):
    """A session rule was broken."""


class SessionActiveError(SessionError):
    """A session is already running."""


class NoActiveSessionError(SessionError):
    """The action needs a running session and there is none."""


@dataclass(frozen=True)
class CheckinResult:
    person: Person
    checkin: Checkin | None  # None: not on the running session's list, nothing recorded
    new: bool  # False: they had checked in already; only "last seen" moved

    @property
    def expected(self) -> bool:
        return self.checkin is not None


@dataclass
class Summary:
    session: Session
    people: list[PersonStatus] = field(default_factory=list)
    counts: Counts = field(default_factory=Counts)

    def names(self, status: str) -> list[str]:
        return [p.name for p in self.people if p.status == status]

    @property
    def present(self) -> list[str]:
        return self.names(PRESENT)

    @property
    def late(self) -> list[str]:
        return self.names(LATE)

    @property
    def absent(self) -> list[str]:
        return self.names(ABSENT)


@dataclass(frozen=True)
class SyncResult:
    added: list[Person]
    joined: list[Person]  # joined the running session
    missing: list[Person] = field(default_factory=list)  # active, with templates on record, none found
    counted: bool = False  # someone's number of templates changed
    attached: list[Person] = field(default_factory=list)  # on the roster without photos: a folder became theirs
    refused: list[str] = field(default_factory=list)  # folders of people erased earlier: not taken in again
    misplaced: list[tuple[str, Person]] = field(default_factory=list)  # (folder, whose): someone who left, or
    # named by the id of someone whose photos are in another folder: not taken in, never anyone else's

    @property
    def changed(self) -> bool:
        return bool(self.added or self.joined or self.counted or self.attached)


def resolve(checkin: Checkin | None, mark: Mark | None) -> str:
    """A person's status in a session: the staff mark if any, else the camera's record, else absent."""
    if mark is not None:
        return mark.status
    return checkin.status if checkin is not None else ABSENT


def summarize(store: Store, session: Session, people: dict[str, Person], locale: str | None = None,
              records: SessionRecords | None = None) -> Summary:
    """Everyone the session expected plus anyone with a record in it, by name (in the order of `locale`;
    None: this machine's). `records`: the session's, when the caller read them already."""
    records = records or SessionRecords(store.checkins(session.id), store.marks(session.id))
    checkins = {c.person_id: c for c in records.checkins}
    marks = {m.person_id: m for m in records.marks}  # the last mark per person counts
    ids = list(dict.fromkeys([*session.expected, *checkins, *marks]))
    expected = set(session.expected)
    rows = []
    for person_id in ids:
        person = people.get(person_id) or store.person(person_id)
        if person is None:
            continue  # erased
        status = resolve(checkins.get(person_id), marks.get(person_id))
        rows.append(PersonStatus(person, status, checkins.get(person_id), marks.get(person_id), person_id in expected))
    key = collation(locale)
    rows.sort(key=lambda r: (key(r.name), r.person.id))
    counts = Counts()
    for row in rows:
        counts.add(row.status)
    return Summary(session, rows, counts)


class Attendance:
    """The station's rules. Time comes from the store's clock; people are cached (one writer)."""

    def __init__(self, store: Store, *, user: str | None = None, station: str | None = None,
                 locale: str | None = None, codes: Iterable[str] = DEFAULT_CODES):
        self.store = store
        self.locale = locale  # the order of names (the `locale` setting; None: this machine's)
        self.codes = tuple(codes)  # absence codes staff may mark beside present, late and absent
        self.user = user
        self.station = station or socket.gethostname()
        self._people: dict[str, Person] = {}
        self._folders: dict[str, str] = {}
        self._active: Session | None = None
        self._statuses: dict[str, str] = {}
        self.refresh()

    # ----- people ------------------------------------------------------------------

    def reload_people(self) -> None:
        self._people = {p.id: p for p in self.store.people()}
        self._folders = {p.folder: p.id for p in sorted(self._people.values(), key=lambda p: p.active) if p.folder}

    def refresh(self) -> None:
        """Read people and the running session again (ids changed, or another writer wrote)."""
        self.reload_people()
        running = self.store.open_sessions()
        self._active = running[-1] if running else None
        self._statuses = {}
        if self._active is not None:
            self._load_statuses()

    def people(self, *, include_left: bool = False, group: str | None = None) -> list[Person]:
        """People by name; active ones only unless asked, in one group if given."""
        found = [p for p in self._people.values()
                 if (include_left or p.active) and (group is None or any(same(g, group) for g in p.groups))]
        key = collation(self.locale)
        return sorted(found, key=lambda p: (key(p.name), p.id))

    def person(self, person_id: str) -> Person | None:
        return self._people.get(person_id)

    def namesakes(self, person: Person) -> list[Person]:
        """Other active people of the same name as spelt (`spelling_key`): case and spacing aside."""
        return [p for p in self.people() if p.id != person.id and spelling_key(p.name) == spelling_key(person.name)]

    def by_folder(self, folder: str) -> Person | None:
        """The person whose photos and templates are under this folder (what recognition reports)."""
        person_id = self._folders.get(folder)
        return None if person_id is None else self._people.get(person_id)

    def groups(self) -> list[str]:
        """The groups of active people, one spelling each ("3A" and a stray "3a" are one group)."""
        key = collation(self.locale)
        return one_spelling_each(
            sorted({g for p in self._people.values() if p.active for g in p.groups}, key=lambda g: (key(g), g)))

    def spellings(self) -> dict[str, str]:
        """How the log writes each group: "3a" typed is "3A" stored (fold -> spelling)."""
        return {fold(group): group for group in self.groups()}

    def find(self, text: str, among: str = "active") -> Person:
        """A person named by id, or by a name only one person has `among` those (`find_person`)."""
        return find_person(self._people, text, among)

    def save_people(self, people: list[Person], action: str, *, user: str | None = None,
                    details: dict | None = None, new: Collection[str] | None = None) -> list[Person]:
        """Store new or changed people, audited (`new`: see Store.save_people); returns who joined the session."""
        if not people:
            return []
        refuse_shared_folders(self._people, self._folders, people)
        with self.store.batch():
            self.store.save_people(people, new)
            for person in people:
                self._remember(person)
            joined = self._join_running()
            audit(self.store, action, {"people": [p.id for p in people], "count": len(people), **(details or {})},
                  self._user(user))
        return joined

    def add_person(self, name: str, *, person_id: str | None = None, groups: Iterable[str] = (),
                   folder: str = "", user: str | None = None) -> Person:
        name = clean_name(name, "the name")
        if not name:
            raise InputError("a person needs a name")
        person_id = check_person_id(person_id) if person_id else self.unused_id()
        if person_id in self._people:
            raise InputError(f"id {person_id!r} is already {self._people[person_id].name}")
        person = Person(person_id, name, self.store.now(), folder=folder, groups=spelled(groups, self.spellings()))
        self.save_people([person], "person.add", user=user, new=[person_id])
        return person

    def unused_id(self) -> str:
        return next(candidate for candidate in iter(new_person_id, None) if candidate not in self._people)

    def _remember(self, person: Person) -> None:
        old = self._people.get(person.id)
        if old is not None and old.folder and self._folders.get(old.folder) == person.id:
            del self._folders[old.folder]
        self._people[person.id] = person
        if person.folder and (person.active or self._folders.get(person.folder) in (None, person.id)):  # sharer
            self._folders[person.folder] = person.id

    def sync_people(self, enrolled: dict[str, int], *, user: str | None = None) -> SyncResult:
        """Register template folders nobody owns (folder -> sample count) and record the counts: the photos of
        the one active person without photos whose id or name it bears, else a new person named after it (see
        SyncResult for those refused). Nobody leaves or comes back here: templates gone are `missing`."""
        now = self.store.now()
        added, counted, attached, refused, misplaced = [], [], [], [], []
        erased, without_photos = erased_folders(self.store), Waiting(self._people.values())
        for folder, count in enrolled.items():
            person = self.by_folder(folder)
            waiting = without_photos.take(folder) if person is None else None
            if person is None and waiting is None and erased(folder):
                refused.append(folder)  # photos left at a door, or put back, of someone erased
                continue
            if waiting is None and (whose := without_photos.not_taken(folder, person)):
                misplaced.append((folder, whose))  # photos of someone who left put back; S1/ beside "Ann Lee/"
                continue
            if waiting is not None:
                person = _replace(waiting, folder=folder, images=count)
                attached.append(person)
            elif person is None:  # named by the folder: accents apart from a Mac, a no-break space from the web
                person = Person(self.unused_id(), " ".join(composed(folder).split()), now, folder=folder, images=count)
                added.append(person)
            elif person.active and person.images != count:
                person = _replace(person, images=count)
                counted.append(person)
            else:
                continue
            self._remember(person)
        missing = [p for p in self._people.values() if p.active and p.folder and p.images and p.folder not in enrolled]
        changed = added + counted + attached
        details = {"added": [p.id for p in added], "attached": [p.id for p in attached]}
        joined = self.save_people(changed, "people.sync", user=user, details=details, new=details["added"])
        return SyncResult(added, joined, missing, bool(counted), attached, refused, misplaced)

    def restore_person(self, person_id: str, *, user: str | None = None) -> tuple[Person, list[Person]]:
        """Bring back someone who left (their records never went). Returns (person, joined the running session)."""
        person = self._require_person(person_id)
        if person.active:
            raise InputError(f"{person.id} {person.name} has not left")
        back = _replace(person, state=ACTIVE, left_at=None, folder="")  # their photos went as they left
        joined = self.save_people([back], "person.restore", user=user, details={"id": person.id}, new=())
        return back, joined

    def update_person(self, person_id: str, *, name: str | None = None, groups: Iterable[str] | None = None,
                      user: str | None = None) -> tuple[Person, list[Person]]:
        """Correct a name or change groups; history stays under the id. Returns (person, joined)."""
        person = self._require_person(person_id)
        changes: dict[str, str | tuple[str, ...]] = {}
        new_name = None if name is None else clean_name(name, "the name")
        if new_name is not None and new_name != person.name:
            if not new_name:
                raise InputError("a person needs a name")
            changes["name"] = new_name
        new_groups = None if groups is None else spelled(groups, self.spellings())
        if new_groups is not None and new_groups != person.groups:
            changes["groups"] = new_groups
        if not changes:
            return person, []
        updated = _replace(person, **changes)
        joined = self.save_people([updated], "person.update", user=user, new=(),
                                  details={"changed": sorted(changes), "previous_name": person.name})
        return updated, joined

    def remove_person(self, person_id: str, *, erase: bool = False, user: str | None = None,
                      token: str | None = None) -> Person:
        """They left (records stay), or an erasure request: every record goes, the audit naming them by `token`."""
        person = self._require_person(person_id)
        if erase:
            self.store.take_in_waiting()  # exports made meanwhile by other commands: audited, then scrubbed too
        with self.store.batch():
            if erase:
                token = token or erased_token()
                records = erase_records(self.store, person, token)
                self._people.pop(person_id, None)
                self._folders.pop(person.folder, None)
                self._statuses.pop(person_id, None)
                audit(self.store, "person.erase", erasure_details(token, records, person_id), self._user(user))
            else:
                gone = _replace(person, state=LEFT, left_at=self.store.now(), images=0)
                self.store.save_people([gone], new=())
                self._remember(gone)
                audit(self.store, "person.leave", {"id": person_id, "name": person.name}, self._user(user))
        if erase and self._active is not None:
            self._active = self.store.session(self._active.id)
        return person

    def _require_person(self, person_id: str) -> Person:
        person = self._people.get(person_id)
        if person is None:
            raise NotFoundError(f"no person with id {person_id!r}")
        return person

    # ----- sessions ------------------------------------------------------------------

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
        session = self.store.session(session_id)
        if session is None:
            raise NotFoundError(f"no session with id {session_id}")
        return session

    def start_session(self, name: str, late_after_minutes: float | None = None, *, group: str | None = None,
                      user: str | None = None, late_from: datetime | None = None) -> Session:
        """`late_from`: the moment lateness begins (a timetable slot's), instead of `late_after_minutes`."""
        if self._active is not None:
            running = self._active
            raise SessionActiveError(f"session {running.name!r} (id {running.id}) has been running since "
                                     f"{running.started_at:%Y-%m-%d %H:%M}; stop it before starting another")
        name = check_text(" ".join(name.split()), "the session name") if isinstance(name, str) else ""
        if not name:
            raise InputError("a session needs a name")
        started = in_millis(self.store.now())
        late_after_minutes = checked_late_after(late_after_minutes if late_from is None else
                                                minutes_until(late_from, started))
        if group is not None:
            group = stored_group(self.groups(), group)
        expected = [p.id for p in self.people(group=group)]  # the active people in the group (or everyone)
        session = Session(0, name, started, None, late_after_minutes, self.station, group, expected)
        with self.store.batch():
            session = self.store.create_session(session)
            audit(self.store, "session.start", {"session_id": session.id, "name": session.name, "group": group,
                                                "expected": len(expected), "late_after_minutes": late_after_minutes},
                  self._user(user))
        self._active = session
        self._load_statuses()
        return session

    def stop_session(self, *, user: str | None = None, at: datetime | None = None) -> Session:
        """Stop the running session, now or at an earlier moment `at` (a timetable slot's end that
        passed while no station was running)."""
        session, counts, now = self._require_active(), self.counts(), self.store.now()
        # never before its start or last record (a door whose clock is behind). Stopped at another door a moment
        # ago: EndedElsewhere, nothing written; this door hears of that stop as of any other
        ended = _stopped(self.store, session, max(min(at, now) if at else now, _last_record(self.store, session)),
                         counts, self._user(user))
        self._active, self._statuses = None, {}
        fold = getattr(self.store, "fold", None)
        if fold is not None:
            with contextlib.suppress(StoreError):  # the stop is in the journal; "last seen" times wait for a later fold
                fold()  # "last seen" times are kept from here on
        return ended

    def _join_running(self) -> list[Person]:
        """Add people who now belong to the running session's group (or everyone) to its list."""
        session = self._active
        if session is None:
            return []
        joined = self.store.add_expected(session.id, [p.id for p in self.people(group=session.group)])
        if joined:
            session.expected.extend(joined)
            for person_id in joined:
                self._statuses.setdefault(person_id, ABSENT)
        return [self._people[p] for p in joined]

    def sessions(self) -> list[Session]:
        """All sessions, newest first."""
        return list(reversed(self.store.sessions()))

    def past_sessions(self) -> list[Session]:
        return [s for s in self.sessions() if not s.active]

    # ----- check-ins and marks ---------------------------------------------------------

    def _load_statuses(self) -> None:
        session = self._require_active()
        checkins = {c.person_id: c for c in self.store.checkins(session.id)}
        marks = {m.person_id: m for m in self.store.marks(session.id)}
        self._statuses = {p: resolve(checkins.get(p), marks.get(p)) for p in session.expected}
        for person_id in {*checkins, *marks} - set(self._statuses):
            self._statuses[person_id] = resolve(checkins.get(person_id), marks.get(person_id))

    def check_in(self, person_id: str, similarity: float | None = None, track_id: int | None = None,
                 when: datetime | None = None, evidence: dict | None = None) -> CheckinResult:
        """Record a camera sighting. The first one per session is saved (durably) as the check-in."""
        session = self._require_active()
        person = self._require_person(person_id)
        when = in_millis(aware(when) if when is not None else self.store.now())
        if person_id not in self._statuses:
            return CheckinResult(person, None, new=False)  # not on this session's list
        if self.store.touch(session.id, person_id, when):
            return CheckinResult(person, self.store.checkin(session.id, person_id), new=False)
        checkin = Checkin(session.id, person_id, when, similarity=similarity, track_id=track_id,
                          late=session.is_late(when), station=self.station, last_seen=when, evidence=evidence)
        if not self.store.record_checkin(checkin):  # another station recorded them first
            theirs = self.store.checkin(session.id, person_id)
            self.note_checkin(theirs)
            return CheckinResult(person, theirs or checkin, new=False)
        self.note_checkin(checkin)
        return CheckinResult(person, checkin, new=True)

    def note_checkin(self, checkin: Checkin | None) -> bool:
        """Take a check-in into the running session's counts (also one another station recorded).

        Returns whether the person's status changed; a staff mark keeps its word.
        """
        session = self._active
        if checkin is None or session is None or checkin.session_id != session.id:
            return False
        if checkin.person_id not in self._statuses or self._marked(session.id, checkin.person_id):
            return False
        before = self._statuses[checkin.person_id]
        self._statuses[checkin.person_id] = checkin.status
        return before != checkin.status

    def _marked(self, session_id: int, person_id: str) -> bool:
        return person_id in self._last_marks(session_id)

    def _last_marks(self, session_id: int) -> dict[str, Mark]:
        """Each person's last mark in a session (marks come oldest first; the last one counts)."""
        return {m.person_id: m for m in self.store.marks(session_id)}

    def mark(self, person_id: str, status: str, reason: str, *, session_id: int | None = None,
             user: str | None = None) -> Mark:
        """Staff decision: present, late, absent or an absence code, with a reason; the camera's record stays."""
        if status not in (*STATUSES, *self.codes):
            raise InputError(f"status must be one of {', '.join((*STATUSES, *self.codes))}")
        if not isinstance(reason, str) or not reason.strip():
            raise InputError("a reason is required for a manual mark")
        check_text(reason, "the reason")
        session = self._session(session_id)
        person = self.person(person_id) or self.store.person(person_id)
        if person is None:
            raise NotFoundError(f"no person with id {person_id!r}")
        previous = self.status_in(session, person_id)
        user = self._user(user) or ""
        mark = Mark(session.id, person_id, status, reason.strip(), user, self.store.now(), previous)
        with self.store.batch():
            if person_id not in session.expected:
                self.store.add_expected(session.id, [person_id])  # staff added them to this session
                session.expected.append(person_id)
            self.store.add_mark(mark)
            audit(self.store, "checkin.mark", {"session_id": session.id, "person": person_id, "status": status,
                                               "reason": mark.reason, "previous": previous}, user)
        if self._active is not None and session.id == self._active.id:
            self._statuses[person_id] = status
        return mark

    def status_in(self, session: Session, person_id: str) -> str:
        return resolve(self.store.checkin(session.id, person_id), self._last_marks(session.id).get(person_id))

    def counts(self, session_id: int | None = None) -> Counts:
        """Present, late and absent among everyone a session expects (and anyone marked in it)."""
        if session_id is None or (self._active is not None and session_id == self._active.id):
            self._require_active()
            counts = Counts()
            for status in self._statuses.values():
                counts.add(status)
            return counts
        return self.summary(session_id).counts

    def summary(self, session_id: int | None = None) -> Summary:
        return summarize(self.store, self._session(session_id), self._people, self.locale)

    # ----- the roster as the screen shows it ---------------------------------------------

    def roster(self) -> list[RosterRow]:
        """Everyone active, by name, with their state in the running session."""
        session = self._active
        checkins = {c.person_id: c for c in self.store.checkins(session.id)} if session else {}
        marks = self._last_marks(session.id) if session else {}
        return [self._roster_row(p, checkins.get(p.id), marks) for p in self.people()]

    def roster_row(self, person_id: str, *, checkin: Checkin | None = None,
                   marks: dict[str, Mark] | None = None) -> RosterRow:
        """One person's row. A caller that has their check-in in the running session, or the session's
        last marks (as `_last_marks`), passes them so they are not read again."""
        person = self._require_person(person_id)
        session = self._active
        if session and checkin is None and self._statuses.get(person_id, NO_SESSION) != NO_SESSION:
            checkin = self.store.checkin(session.id, person_id)
        return self._roster_row(person, checkin, marks)

    def _roster_row(self, person: Person, checkin: Checkin | None, marks: dict[str, Mark] | None) -> RosterRow:
        """`checkin`: theirs in the running session (None: they have none); `marks`: None reads them if needed."""
        session = self._active
        status = self._statuses.get(person.id, NO_SESSION) if session else NO_SESSION
        if status == NO_SESSION:
            checkin = None
        note = ""
        if session is not None and status != NO_SESSION and (checkin is None or status != checkin.status):
            mark = (marks if marks is not None else self._last_marks(session.id)).get(person.id)
            note = f"manual: {mark.reason}" if mark else ""
        return RosterRow(person.id, person.name, status, person.groups, person.images,
                         checkin.time if checkin else None, checkin.last_seen if checkin else None, note)

    def _user(self, user: str | None) -> str | None:
        return user or self.user


def find_person(people: dict[str, Person], text: str, among: str = "active") -> Person:
    """The person whose id is `text`, or the only one of that name as spelt (any case or spacing, accents
    composed or apart) `among` the active ("active"), everyone ("all": an erasure request may be of someone
    who left), or those who left first ("left": bringing someone back): a command that changes or erases
    someone never guesses between namesakes, nor at a spelling; a name found only without accents is
    offered ("did you mean Lê Hà (S9)?")."""
    if text in people:
        return people[text]
    spelt = [p for p in people.values() if spelling_key(p.name) == spelling_key(text)]
    named = {"active": [p for p in spelt if p.active], "all": spelt,
             "left": [p for p in spelt if not p.active] or [p for p in spelt if p.active]}[among]
    if len(named) == 1:
        return named[0]
    if named:
        ids = ", ".join(p.id + ("" if p.active else " (left)") for p in named)
        raise AmbiguousName(f"{len(named)} people are called {text!r}; use the id ({ids})")
    alike = [p for p in people.values() if name_key(p.name) == name_key(text) and p.active]
    hint = f"; did you mean {', '.join(f'{p.name} ({p.id})' for p in alike)}? give the id" if alike else ""
    raise NotFoundError(f"no person {text!r}{hint}")


def refuse_shared_folders(people: dict[str, Person], folders: dict[str, str], saved: list[Person]) -> None:
    """Raise when one of `saved` would be given another person's photo folder: the two would be one face
    to recognition, and removing one would take the other's photos (two who share one already, from an
    older version, can still be edited or removed)."""
    seen: dict[str, Person] = {}
    folded = {folder.casefold(): person_id for folder, person_id in folders.items()}  # one folder on exFAT, NTFS
    for person in saved:
        before, key = people.get(person.id), person.folder.casefold()
        owner = seen.get(key) or people.get(folded.get(key, person.id))
        if person.folder and (before is None or before.folder != person.folder) and owner and owner.id != person.id:
            raise InputError(f"photo folder {person.folder!r} is already {owner.name} ({owner.id})'s; "
                             f"{person.name} ({person.id}) needs a folder of their own")
        seen[key] = person


def free_folder(attendance: Attendance, base: str, also: Container[str] = (), folded: set[str] | None = None) -> str:
    """`base` (the person's id), or `base`-2, -3, ...: the first photo folder that is nobody's in any case
    (S1 and s1 are one folder on an exFAT or NTFS disk; a newcomer's id can be the folder of someone
    already enrolled, made by extract from photos named by that id), nor named as someone else's id
    (photos dropped there later would be theirs), nor in `also` (asked in lower case). `folded`:
    everyone's folders in lower case, where the caller has them."""
    if folded is None:
        folded = {p.folder.casefold() for p in attendance.people(include_left=True) if p.folder}
    folder, number = base, 1
    while folder.casefold() in folded or folder.casefold() in also or \
            (folder != base and attendance.person(folder) is not None):
        number += 1
        folder = f"{base}-{number}"
    return folder


def called(people: Iterable[Person], text: str) -> list[Person]:
    """The people a name written elsewhere (a roster, a folder, the enroll dialog) means: those of that
    spelling (`spelling_key`); with none, and the name written without any accent (a school system that
    writes only ASCII, quick typing), those whose name reads so without theirs ("Zoe Unal": Zoë Ünal).
    A name written with accents never finds another spelling: Thư and Thu, Lê and Lệ are other names."""
    people = list(people)
    spelt = [p for p in people if spelling_key(p.name) == spelling_key(text)]
    if spelt or not unaccented(text):
        return spelt
    return [p for p in people if name_key(p.name) == name_key(text)]


def one_spelling_each(groups: list[str]) -> list[str]:
    """The first spelling of each group, in order ("3A", not also a stray "3a")."""
    first: dict[str, str] = {}
    for group in groups:
        first.setdefault(fold(group), group)
    return list(first.values())


def spelled(groups: Iterable[str], known: dict[str, str]) -> tuple[str, ...]:
    """Groups cleaned and written as `known` (fold -> spelling) writes them; a new one joins `known`, so
    that one import's "4B" and "4b" are one group too."""
    return clean_groups(known.setdefault(fold(g), g) for g in clean_groups(groups))


def stored_group(groups: list[str], group: str) -> str:
    """A group as stored, found case and accents aside ("day" for "Day"); InputError naming the groups."""
    found = [g for g in groups if same(g, group)]
    if not found:
        raise InputError(f"no group {group!r}" + (f"; groups: {', '.join(groups)}" if groups else ""))
    return group if group in found else found[0]


def _last_record(store: Store, session: Session) -> datetime:
    """The session's start, or its last check-in or mark when later."""
    times = [c.time for c in store.checkins(session.id)] + [m.at for m in store.marks(session.id)]
    return max([session.started_at, *times])


def _stopped(store: Store, session: Session, end: datetime, counts: Counts, user: str | None) -> Session:
    """A session's end and its audit line, written together."""
    with store.batch():
        ended = store.end_session(session.id, end)
        audit(store, "session.stop", {"session_id": session.id, "present": counts.present, "late": counts.late,
                                      "absent": counts.absent}, user)
    return ended


def not_theirs(folder: str, owner: Person | None, kept: set[str]) -> Person | None:
    """Whose photos a folder holds that are not to be matched (None: it may be taken in): someone who left
    (their photos put back, while no one active shares the folder), or whose id it is spelt as while their
    photos are in another folder."""
    if owner is not None and (not owner.active and folder not in kept or owner.folder != folder):
        return owner
    return None


def misplaced_folders(people: list[Person]) -> Callable[[str], Person | None]:
    """As `sync_people` tells them, folder by folder (doctor): whose photos a folder holds that will not be
    taken in, else None."""
    owners = {p.folder: p for p in sorted(people, key=lambda p: p.active) if p.folder}  # an active sharer wins
    waiting = Waiting(people)

    def whose(folder: str) -> Person | None:
        if folder not in owners and waiting.named(folder) is not None:
            return None
        return waiting.not_taken(folder, owners.get(folder))
    return whose


class Waiting:
    """The active people without photos, found by id and by name as `called` finds them; each key worked
    out once (a folder per person of a 20,000-people roster looked through them all)."""

    def __init__(self, people: Iterable[Person]) -> None:
        self.by_id: dict[str, Person] = {}
        self.by_case: dict[str, list[Person]] = {}  # ids in any case: a folder s1042/ for S1042
        self.spelt: dict[str, list[Person]] = {}
        self.unaccented: dict[str, list[Person]] = {}
        self.ids: set[str] = set()  # everyone's: a folder spelt as one is that person's, never another's
        self.everyone: dict[str, list[Person]] = {}  # ids in any case
        self.kept: set[str] = set()  # the folders of active people
        for person in people:
            self.ids.add(person.id)
            if person.active and person.folder:
                self.kept.add(person.folder)
            self.everyone.setdefault(person.id.casefold(), []).append(person)
            if person.active and not person.folder:
                self.by_id[person.id] = person
                self.by_case.setdefault(person.id.casefold(), []).append(person)
                self.spelt.setdefault(spelling_key(person.name), []).append(person)
                self.unaccented.setdefault(name_key(person.name), []).append(person)

    def take(self, folder: str) -> Person | None:
        """The one a new folder is named for (by id, else the only one by name), who has photos from now on."""
        found = self.named(folder)
        if found is not None:
            self.drop(found)
        return found

    def named(self, folder: str) -> Person | None:
        if folder in self.by_id:
            return self.by_id[folder]
        if folder in self.ids:  # someone's id exactly, who has photos already (or left)
            return None
        found = self.by_case.get(folder.casefold(), []) or self.spelt.get(spelling_key(folder), [])
        if not found and unaccented(folder):
            found = self.unaccented.get(name_key(folder), [])
        return found[0] if len(found) == 1 else None

    def owner(self, folder: str) -> Person | None:
        """Whose id the folder is spelt as (in any case, where that names one person), photos or not."""
        found = [p for p in self.everyone.get(folder.casefold(), []) if p.id == folder] or \
            self.everyone.get(folder.casefold(), [])
        return found[0] if len(found) == 1 else None

    def not_taken(self, folder: str, person: Person | None) -> Person | None:
        """Whose photos a folder holds (its owner `person`, else whose id it is spelt as) that are not to be
        matched; None: it may be taken in."""
        return not_theirs(folder, person or self.owner(folder), self.kept)

    def drop(self, person: Person) -> None:
        self.by_id.pop(person.id, None)
        for index, key in ((self.by_case, person.id.casefold()), (self.spelt, spelling_key(person.name)),
                           (self.unaccented, name_key(person.name))):
            index[key] = [p for p in index.get(key, []) if p.id != person.id]


def _replace(person: Person, **changes: Any) -> Person:
    return dataclasses.replace(person, **changes)


def erase_records(store: Store, person: Person, token: str) -> int:
    """Every record of a person, their days corrected by hand too, and any name they had in the reasons
    of other people's corrections and in the timetable; returns how many records went."""
    others = [p.name for p in store.people() if p.id != person.id]
    names = erased_names(person, (entry.details for entry in store.audit_log()), others)
    records = forget_person(store, person.id)  # the corrections' lock first, then their row: as every writer
    records += store.erase_person(person.id, token)
    note_erased(store, person.folder)
    scrub_reasons(store, names, token)
    scrub_timetable(store, names, token)
    return records
