"""Plain records kept in the attendance log, and their on-disk (dict) form."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .common import from_iso, to_iso

PRESENT = "present"
LATE = "late"
ABSENT = "absent"
STATUSES = (PRESENT, LATE, ABSENT)
NO_SESSION = "-"  # a roster person's state while no session runs

CAMERA = "camera"
MANUAL = "manual"


def new_id() -> str:
    return uuid.uuid4().hex


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _opt_str(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValueError(f"expected text, got {type(value).__name__}")
    return value


def _when(value: Any) -> datetime:
    parsed = from_iso(value)
    if parsed is None:
        raise ValueError("missing timestamp")
    return parsed


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("missing name")
    return value


@dataclass
class Person:
    name: str
    created: datetime
    images: int | None = None
    deleted: bool = False
    deleted_at: datetime | None = None

    def on_roster_at(self, when: datetime) -> bool:
        """True when the person was enrolled and not yet deleted at `when`."""
        if self.created > when:
            return False
        return not (self.deleted and (self.deleted_at is None or self.deleted_at <= when))

    def to_doc(self) -> dict:
        return {
            "name": self.name,
            "created": to_iso(self.created),
            "images": self.images,
            "deleted": self.deleted,
            "deleted_at": to_iso(self.deleted_at),
        }

    @classmethod
    def from_doc(cls, doc: dict) -> Person:
        return cls(
            name=_name(doc["name"]),
            created=_when(doc["created"]),
            images=_opt_int(doc.get("images")),
            deleted=bool(doc.get("deleted", False)),
            deleted_at=from_iso(doc.get("deleted_at")),
        )


@dataclass
class Session:
    id: int
    name: str
    started_at: datetime
    ended_at: datetime | None = None
    late_after_minutes: float | None = None
    station: str | None = None

    @property
    def active(self) -> bool:
        return self.ended_at is None

    @property
    def late_deadline(self) -> datetime | None:
        if self.late_after_minutes is None:
            return None
        return self.started_at + timedelta(minutes=self.late_after_minutes)

    def is_late(self, when: datetime) -> bool:
        deadline = self.late_deadline
        return deadline is not None and when > deadline

    def to_doc(self) -> dict:
        return {
            "name": self.name,
            "started_at": to_iso(self.started_at),
            "ended_at": to_iso(self.ended_at),
            "late_after_minutes": self.late_after_minutes,
            "station": self.station,
        }

    @classmethod
    def from_doc(cls, doc_id: int, doc: dict) -> Session:
        return cls(
            id=int(doc_id),
            name=_name(doc["name"]),
            started_at=_when(doc["started_at"]),
            ended_at=from_iso(doc.get("ended_at")),
            late_after_minutes=_opt_float(doc.get("late_after_minutes")),
            station=_opt_str(doc.get("station")),
        )


@dataclass
class Checkin:
    """One person's attendance in one session (camera sighting or manual mark)."""

    session_id: int
    person: str
    time: datetime
    similarity: float | None = None
    track_id: int | None = None
    source: str = CAMERA
    late: bool = False
    present: bool = True
    reason: str | None = None
    marked_by: str | None = None
    last_seen: datetime | None = None
    id: str = field(default_factory=new_id)

    @property
    def status(self) -> str:
        if not self.present:
            return ABSENT
        return LATE if self.late else PRESENT

    @property
    def key(self) -> tuple[int, str]:
        return (self.session_id, self.person)

    def to_doc(self) -> dict:
        return {
            "id": self.id,
            "session_id": self.session_id,
            "person": self.person,
            "time": to_iso(self.time),
            "similarity": self.similarity,
            "track_id": self.track_id,
            "source": self.source,
            "late": self.late,
            "present": self.present,
            "reason": self.reason,
            "marked_by": self.marked_by,
            "last_seen": to_iso(self.last_seen),
        }

    @classmethod
    def from_doc(cls, doc: dict) -> Checkin:
        source = doc.get("source", CAMERA)
        if source not in (CAMERA, MANUAL):
            raise ValueError(f"unknown source {source!r}")
        return cls(
            session_id=int(doc["session_id"]),
            person=_name(doc["person"]),
            time=_when(doc["time"]),
            similarity=_opt_float(doc.get("similarity")),
            track_id=_opt_int(doc.get("track_id")),
            source=source,
            late=bool(doc.get("late", False)),
            present=bool(doc.get("present", True)),
            reason=_opt_str(doc.get("reason")),
            marked_by=_opt_str(doc.get("marked_by")),
            last_seen=from_iso(doc.get("last_seen")),
            id=str(doc.get("id") or new_id()),
        )


@dataclass
class AuditEntry:
    time: datetime
    user: str
    action: str
    details: dict = field(default_factory=dict)
    id: str = field(default_factory=new_id)

    def to_doc(self) -> dict:
        return {
            "id": self.id,
            "time": to_iso(self.time),
            "user": self.user,
            "action": self.action,
            "details": dict(self.details),
        }

    @classmethod
    def from_doc(cls, doc: dict) -> AuditEntry:
        details = doc.get("details") or {}
        if not isinstance(details, dict):
            raise ValueError("audit details must be an object")
        return cls(
            time=_when(doc["time"]),
            user=str(doc["user"]),
            action=str(doc["action"]),
            details=dict(details),
            id=str(doc.get("id") or new_id()),
        )


@dataclass(frozen=True)
class RosterRow:
    """One person as the roster shows them: their state in the running session."""

    name: str
    status: str  # present, late, absent, or NO_SESSION
    images: int = 0
    time: datetime | None = None  # check-in time
    last_seen: datetime | None = None
    source: str = ""  # camera or manual
    reason: str = ""  # of a manual mark


@dataclass
class Counts:
    present: int = 0
    late: int = 0
    absent: int = 0

    @property
    def attended(self) -> int:
        return self.present + self.late

    @property
    def total(self) -> int:
        return self.present + self.late + self.absent

    def add(self, status: str, step: int = 1) -> None:
        setattr(self, status, getattr(self, status) + step)
