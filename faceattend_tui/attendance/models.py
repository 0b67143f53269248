"""The records kept in the attendance log, and their stored (dict) form.

A person has a stable id (the organisation's own, or generated), a display name that can change,
any number of groups, and a state (active, or left: their records stay). Their photos and
templates live under `database_image/<folder>` and `database_tensor/<folder>.npy`; `folder` is
what recognition reports, and the log maps it to the person.

A person's earlier groups are kept with them (`past_groups`: the groups they had and when that
ended), so that a report of a past session for everyone counts each person in the group they were
in that day.

A session records the people it expects when it starts (its group, or everyone); a camera
check-in keeps the arrival time; a staff mark is kept beside it, never over it.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal, get_args

from faceattend_tui.errors import InputError
from faceattend_tui.text import (  # noqa: F401 (plural, printable: here for the layers above)
    HIDDEN,
    composed,
    fold,
    is_word,
    mixed_word,
    needed_joiner,
    not_utf8,
    plural,
    printable,
    same,
    scripts,
)

from .common import from_iso, to_iso

KnownStatus = Literal["present", "late", "absent"]
Status = str  # a KnownStatus, or an absence code (excused, sick ...): the codes are a setting
PersonState = Literal["active", "left"]

PRESENT: KnownStatus = "present"
LATE: KnownStatus = "late"
ABSENT: KnownStatus = "absent"
STATUSES: tuple[KnownStatus, ...] = get_args(KnownStatus)
DEFAULT_CODES = ("excused", "sick", "leave")


def is_code(status: str) -> bool:
    """An absence code (a status beside present, late and absent); one no longer configured still loads."""
    return is_word(status) and status not in STATUSES


NO_SESSION = "-"  # a roster person's state while no session runs

ACTIVE: PersonState = "active"
LEFT: PersonState = "left"
PERSON_STATES: tuple[PersonState, ...] = get_args(PersonState)

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def new_id() -> str:
    return uuid.uuid4().hex


def new_person_id() -> str:
    """A generated person id, for people the organisation gave none."""
    return "p-" + uuid.uuid4().hex[:10]


def check_person_id(value: str) -> str:
    value = value.strip() if isinstance(value, str) else value
    if not isinstance(value, str) or not ID_PATTERN.match(value):
        raise InputError(f"{value!r} is not a usable person id (letters, digits, . _ -; up to 64, no spaces)")
    return value


def check_text(value: str, what: str) -> str:
    """`value`, refused (ValueError) when it holds a control character (a name that could drive a terminal) or
    what could not be read as UTF-8 (typed on a terminal set to another encoding)."""
    if "\ufffd" in value or not_utf8(value):
        raise InputError(f"{what} '{printable(value)}' holds a character that could not be read: the "
                         "terminal may not be set to UTF-8; type it again")
    if HIDDEN.search(value):
        raise InputError(f"{what} '{printable(value)}' holds a control character; not stored")
    return value


MAX_NAME_LENGTH = 200  # characters of a person's name


def visible(value: str) -> str:
    """`value` without the format characters that show nothing: zero-width spaces a web page leaves, a file's
    byte-order mark, soft hyphens, tag characters ("Ann Lee" and a copy with them looked the same and listed
    apart). Direction controls stay (check_text refuses them), and so do the joiners a script or an emoji
    needs, beside its letters; elsewhere (between the o and s of José, after 3A) a joiner only hides a difference."""
    if value.isascii():  # nothing in ASCII is such a character
        return value
    return "".join(ch for i, ch in enumerate(value) if unicodedata.category(ch) != "Cf" or HIDDEN.match(ch)
                   or needed_joiner(value, i))


def clean_name(value: str, what: str) -> str:
    """A name as stored: invisible spaces dropped, spaces made single, accents composed (a Mac writes
    them apart), checked for control characters, length and a word written in two alphabets."""
    name = check_text(composed(" ".join(visible(value).split())), what)
    if len(name) > MAX_NAME_LENGTH:
        raise InputError(f"{what} '{printable(name[:24])}...' is longer than {MAX_NAME_LENGTH} characters")
    word = mixed_word(name)
    if word:
        raise InputError(f"{what} '{printable(name)}': the word '{printable(word)}' mixes letters of several "
                         f"alphabets ({', '.join(sorted(scripts(word)))}), so it reads as another name that "
                         "nobody typing it finds; write each word in one alphabet")
    return name


GROUPS_JOIN = "; "  # how groups are shown together everywhere (a roster cell takes them back)


def join_groups(groups: Iterable[str]) -> str:
    return GROUPS_JOIN.join(groups)


MAX_GROUP_LENGTH = 64  # characters; a group name ends up in the names of export and report files


def clean_groups(groups: Iterable[str]) -> tuple[str, ...]:
    """Group names, trimmed, without empties or repeats, in the order given; a ValueError for a name
    over MAX_GROUP_LENGTH characters."""
    out: list[str] = []
    for group in groups:
        name = composed(" ".join(visible(str(group)).split()))  # a zero-width space: the same group
        if len(name) > MAX_GROUP_LENGTH:
            raise InputError(f"group '{printable(name[:24])}'... is longer than {MAX_GROUP_LENGTH} characters")
        check_text(name, "group")
        if name and not any(same(name, o) for o in out):  # "3A;3a" is one group
            out.append(name)
    return tuple(out)


def _opt_float(value: Any) -> float | None:
    number = None if value is None else float(value)
    if number is not None and not abs(number) < 1e9:  # nan, inf or past any use: a hand edit
        raise InputError(f"number {value!r} is out of range")
    return number


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def group_as_read(value: Any) -> str | None:
    """A session's group as stored, without characters that show nothing (a log of an earlier version
    kept them): it is then the group its people are in (one of nothing else is left as it was)."""
    group = _opt_str(value)
    return group if group is None or group.isascii() else (" ".join(visible(group).split()) or group)


def _opt_str(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise InputError(f"expected text, got {type(value).__name__}")
    return value


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise InputError(f"missing {what}")
    return value


def _when(value: Any) -> datetime:
    parsed = from_iso(value)
    if parsed is None:
        raise InputError("missing timestamp")
    return parsed


@dataclass(frozen=True)
class PastGroups:
    """Groups a person had until a moment (exclusive): what they were before a change of groups."""

    groups: tuple[str, ...]
    until: datetime
    away: bool = False  # they had left the roster then (and came back at `until`)

    def to_doc(self) -> dict:
        return {"groups": list(self.groups), "until": to_iso(self.until), **({"away": True} if self.away else {})}

    @classmethod
    def from_doc(cls, doc: dict) -> PastGroups:
        groups = doc.get("groups") or []
        if not isinstance(groups, list):
            raise InputError("past groups must be a list")
        return cls(clean_groups(groups), _when(doc.get("until")), bool(doc.get("away")))


def _past_groups(docs: Any) -> tuple[PastGroups, ...]:
    """A person's stored history of groups, oldest first (none in a log of an earlier version)."""
    if not isinstance(docs, list):
        raise InputError("past_groups must be a list")
    return tuple(sorted((PastGroups.from_doc(doc) for doc in docs), key=lambda past: past.until))


@dataclass
class Person:
    id: str
    name: str
    created: datetime
    folder: str = ""  # under database_image/ and database_tensor/; "" while they have no photos
    groups: tuple[str, ...] = ()
    state: PersonState = ACTIVE
    left_at: datetime | None = None
    images: int = 0  # templates enrolled
    past_groups: tuple[PastGroups, ...] = ()  # oldest first; kept by the store when groups change

    @property
    def active(self) -> bool:
        return self.state == ACTIVE

    def groups_at(self, when: datetime) -> tuple[str, ...]:
        """The groups they had at `when`: today's unless their history says otherwise."""
        for past in self.past_groups:
            if when < past.until:
                return past.groups
        return self.groups

    def on_roster_at(self, when: datetime) -> bool:
        """Whether they were on the roster at `when` (not left yet, nor away then: left and brought back)."""
        if self.left_at is not None and when >= self.left_at:
            return False
        return not next((past.away for past in self.past_groups if when < past.until), False)

    def all_groups(self) -> tuple[str, ...]:
        """Every group they are or were in."""
        return tuple(dict.fromkeys(g for past in self.past_groups for g in past.groups)) + self.groups

    def to_doc(self) -> dict:
        return {"id": self.id, "name": self.name, "created": to_iso(self.created), "folder": self.folder,
                "groups": list(self.groups), "state": self.state, "left_at": to_iso(self.left_at),
                "images": self.images, "past_groups": [past.to_doc() for past in self.past_groups]}

    @classmethod
    def from_doc(cls, doc: dict) -> Person:
        state = doc.get("state", ACTIVE)
        if state not in PERSON_STATES:
            raise InputError(f"unknown person state {state!r}")
        groups = doc.get("groups") or []
        if not isinstance(groups, list):
            raise InputError("groups must be a list")
        return cls(id=_text(doc["id"], "person id"), name=_text(doc["name"], "name"), created=_when(doc["created"]),
                   folder=_opt_str(doc.get("folder")) or "", groups=clean_groups(groups), state=state,
                   left_at=from_iso(doc.get("left_at")), images=int(doc.get("images") or 0),
                   past_groups=_past_groups(doc.get("past_groups") or []))


def same_groups(one: Iterable[str], other: Iterable[str]) -> bool:
    """Whether two lists name the same groups, order, case and accents aside."""
    return {fold(g) for g in one} == {fold(g) for g in other}


def with_past_groups(person: Person, stored: Person | None, when: datetime) -> Person:
    """`person` as it is to be saved over `stored`: the history the log keeps, and the stored groups until
    `when` when they change. Every way of saving people goes through this, so no change of groups is lost;
    a new person (a log moved into a database) keeps the history it comes with."""
    if stored is None:
        return person
    past = stored.past_groups
    latest = max([when, *(p.until for p in past)])  # a clock set back never puts a change before another
    if stored.left_at is not None and person.left_at is None:  # brought back: their time away is kept
        gone = stored.left_at  # groups changed while away do not matter: they were not on the roster
        before = tuple(p for p in past if p.until <= gone)
        past = (*before, PastGroups(stored.groups_at(gone), gone), PastGroups((), max(latest, gone), away=True))
    elif not same_groups(stored.groups, person.groups):
        past = (*past, PastGroups(stored.groups, latest))
    return dataclasses.replace(person, past_groups=past)


@dataclass
class Session:
    id: int
    name: str
    started_at: datetime
    ended_at: datetime | None = None
    late_after_minutes: float | None = None
    station: str | None = None
    group: str | None = None  # None: everyone
    expected: list[str] = field(default_factory=list)  # person ids, recorded at the start (and joiners)
    voided_at: datetime | None = None  # a voided session is kept, and left out of reports
    voided_by: str = ""
    void_reason: str = ""

    @property
    def active(self) -> bool:
        return self.ended_at is None

    @property
    def voided(self) -> bool:
        return self.voided_at is not None

    @property
    def late_deadline(self) -> datetime | None:
        if self.late_after_minutes is None:
            return None
        return self.started_at + timedelta(minutes=self.late_after_minutes)

    def is_late(self, when: datetime) -> bool:
        deadline = self.late_deadline
        return deadline is not None and when > deadline

    @property
    def audience(self) -> str:
        return self.group or "everyone"

    def to_doc(self) -> dict:
        return {"id": self.id, "name": self.name, "started_at": to_iso(self.started_at),
                "ended_at": to_iso(self.ended_at), "late_after_minutes": self.late_after_minutes,
                "station": self.station, "group": self.group, "expected": list(self.expected),
                "voided_at": to_iso(self.voided_at), "voided_by": self.voided_by, "void_reason": self.void_reason}

    @classmethod
    def from_doc(cls, doc: dict) -> Session:
        expected = doc.get("expected") or []
        if not isinstance(expected, list) or not all(isinstance(p, str) for p in expected):
            raise InputError("expected must be a list of person ids")
        return cls(id=int(doc["id"]), name=_text(doc["name"], "session name"), started_at=_when(doc["started_at"]),
                   ended_at=from_iso(doc.get("ended_at")), late_after_minutes=_opt_float(doc.get("late_after_minutes")),
                   station=_opt_str(doc.get("station")), group=group_as_read(doc.get("group")), expected=list(expected),
                   voided_at=from_iso(doc.get("voided_at")), voided_by=str(doc.get("voided_by") or ""),
                   void_reason=str(doc.get("void_reason") or ""))


@dataclass
class Checkin:
    """A person recognised by the camera in a session: the first sighting is the arrival."""

    session_id: int
    person_id: str
    time: datetime
    similarity: float | None = None
    track_id: int | None = None
    late: bool = False
    station: str | None = None
    last_seen: datetime | None = None
    evidence: dict | None = None  # what the camera saw before accepting the face (liveness)
    id: str = field(default_factory=new_id)  # idempotency key

    @property
    def status(self) -> str:
        return LATE if self.late else PRESENT

    def to_doc(self) -> dict:
        return {"id": self.id, "session_id": self.session_id, "person_id": self.person_id, "time": to_iso(self.time),
                "similarity": self.similarity, "track_id": self.track_id, "late": self.late, "station": self.station,
                "last_seen": to_iso(self.last_seen), "evidence": self.evidence}

    @classmethod
    def from_doc(cls, doc: dict) -> Checkin:
        evidence = doc.get("evidence")
        if evidence is not None and not isinstance(evidence, dict):
            raise InputError("evidence must be an object")
        return cls(session_id=int(doc["session_id"]), person_id=_text(doc["person_id"], "person id"),
                   time=_when(doc["time"]), similarity=_opt_float(doc.get("similarity")),
                   track_id=_opt_int(doc.get("track_id")), late=bool(doc.get("late", False)),
                   station=_opt_str(doc.get("station")), last_seen=from_iso(doc.get("last_seen")),
                   evidence=evidence, id=_text(doc.get("id"), "check-in id"))


@dataclass
class Mark:
    """A staff decision on one person in one session, kept beside the camera's record."""

    session_id: int
    person_id: str
    status: str
    reason: str
    by: str
    at: datetime
    previous: str  # the status before this mark
    id: str = field(default_factory=new_id)

    def to_doc(self) -> dict:
        return {"id": self.id, "session_id": self.session_id, "person_id": self.person_id, "status": self.status,
                "reason": self.reason, "by": self.by, "at": to_iso(self.at), "previous": self.previous}

    @classmethod
    def from_doc(cls, doc: dict) -> Mark:
        status = doc["status"]
        if status not in STATUSES and not is_code(status):
            raise InputError(f"unknown status {status!r}")
        return cls(session_id=int(doc["session_id"]), person_id=_text(doc["person_id"], "person id"), status=status,
                   reason=str(doc.get("reason") or ""), by=str(doc.get("by") or ""), at=_when(doc["at"]),
                   previous=str(doc.get("previous") or ABSENT), id=_text(doc.get("id"), "mark id"))


@dataclass
class AuditEntry:
    time: datetime
    user: str
    action: str
    details: dict = field(default_factory=dict)
    id: str = field(default_factory=new_id)

    def to_doc(self) -> dict:
        return {"id": self.id, "time": to_iso(self.time), "user": self.user, "action": self.action,
                "details": dict(self.details)}

    @classmethod
    def from_doc(cls, doc: dict) -> AuditEntry:
        details = doc.get("details") or {}
        if not isinstance(details, dict):
            raise InputError("audit details must be an object")
        return cls(time=_when(doc["time"]), user=str(doc["user"]), action=str(doc["action"]), details=dict(details),
                   id=str(doc.get("id") or new_id()))


@dataclass
class Counts:
    present: int = 0
    late: int = 0
    absent: int = 0
    excused: dict[str, int] = field(default_factory=dict)  # by absence code: counted apart, not in rates

    @property
    def attended(self) -> int:
        return self.present + self.late

    @property
    def total(self) -> int:
        """The sessions (or people) one was expected at: absence codes are left out."""
        return self.present + self.late + self.absent

    @property
    def excused_total(self) -> int:
        return sum(self.excused.values())

    def add(self, status: str, step: int = 1) -> None:
        if status in STATUSES:
            setattr(self, status, getattr(self, status) + step)
        else:
            self.excused[status] = self.excused.get(status, 0) + step


@dataclass(frozen=True)
class PersonStatus:
    """One person's outcome in one session: the camera's record and the staff mark, if any."""

    person: Person
    status: str
    checkin: Checkin | None = None
    mark: Mark | None = None
    expected: bool = True  # False: came without being on the session's list

    @property
    def name(self) -> str:
        return self.person.name


@dataclass(frozen=True)
class RosterRow:
    """One person as the roster shows them: their state in the running session."""

    id: str
    name: str
    status: str  # present, late, absent, or NO_SESSION
    groups: tuple[str, ...] = ()
    images: int = 0
    time: datetime | None = None  # camera check-in time
    last_seen: datetime | None = None
    note: str = ""  # the staff mark, if any ("manual: reason")


@dataclass(frozen=True)
class Presence:
    """When a person was first and last seen on one day at one door (work mode: the day's in and out)."""

    person_id: str
    day: date  # on the station's clock
    station: str
    first_seen: datetime
    last_seen: datetime

    def to_doc(self) -> dict:
        return {"person_id": self.person_id, "day": self.day.isoformat(), "station": self.station,
                "first_seen": to_iso(self.first_seen), "last_seen": to_iso(self.last_seen)}

    @classmethod
    def from_doc(cls, doc: dict) -> Presence:
        return cls(_text(doc["person_id"], "person id"), date.fromisoformat(doc["day"]), str(doc.get("station") or ""),
                   _when(doc["first_seen"]), _when(doc["last_seen"]))

    def merged(self, other: Presence) -> Presence:
        """The same day and door seen again: the earliest first sighting and the latest last one."""
        return Presence(self.person_id, self.day, self.station, min(self.first_seen, other.first_seen),
                        max(self.last_seen, other.last_seen))

