"""Past sessions set right: voided (kept, left out of reports) or edited, with what changed said and audited."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import timedelta, tzinfo
from typing import Final

from faceattend_tui.errors import InputError
from faceattend_tui.text import collation, deadline_text, same

from .common import checked_late_after
from .models import Session, check_text
from .security import audit
from .sessions import Attendance, stored_group, summarize
from .store import NotFoundError
from .timetable import free_slots_of, opened_ahead


class _Unchanged(enum.Enum):
    UNCHANGED = "unchanged"


UNCHANGED: Final = _Unchanged.UNCHANGED  # an edit that leaves this field as it is


@dataclass
class Edit:
    session_id: int
    changed: list[str] = field(default_factory=list)  # "name: 'A' -> 'B'", "Ann: present -> late" ...
    notes: list[str] = field(default_factory=list)  # what the change cannot do


def find_session(attendance: Attendance, session_id: int) -> Session:
    session = attendance.store.session(session_id)
    if session is None:
        raise NotFoundError(f"no session with id {session_id}")
    return session


def void_session(attendance: Attendance, session_id: int, reason: str, *, user: str) -> Session:
    """Void a finished session: kept with who voided it and why, left out of reports."""
    session = find_session(attendance, session_id)
    if session.active:
        raise InputError(f"session {session.name!r} is running; stop it before voiding it")
    if session.voided:
        raise InputError(f"session {session_id} was voided on {session.voided_at:%Y-%m-%d} by {session.voided_by}")
    reason = check_text(" ".join((reason or "").split()), "the reason")
    if not reason:
        raise InputError("voiding a session needs a reason")
    store = attendance.store
    with store.batch():
        voided = store.update_session(session_id, {"voided_at": store.now(), "voided_by": user,
                                                   "void_reason": reason})
        audit(store, "session.void", {"session_id": session_id, "name": session.name, "reason": reason}, user)
        if opened_ahead(store, session):  # a lesson a clock running ahead opened: it opens on its real day
            free_slots_of(store, [session_id])
    return voided


def edit_session(attendance: Attendance, session_id: int, *, user: str, name: str | _Unchanged = UNCHANGED,
                 group: str | None | _Unchanged = UNCHANGED, late_after: float | None | _Unchanged = UNCHANGED,
                 zone: tzinfo | None = None) -> Edit:
    """Change a session's name, group or late-after; statuses are worked out again from the stored times.
    `zone`: the station's clock (the timezone setting), on which the new lateness time is said."""
    session = find_session(attendance, session_id)
    before = _statuses(attendance, session)
    changes: dict[str, str | float | None] = {}
    expected: list[str] | None = None
    edit = Edit(session_id)
    if name is not UNCHANGED and name != session.name:
        changes["name"] = new_name = _name(name)
        edit.changed.append(f"name: {session.name!r} -> {new_name!r}")
    new_group = _group(attendance, group) if group is not UNCHANGED else session.group
    if new_group != session.group:  # "3a" for a session of 3A is no change
        changes["group"] = new_group
        expected = _on_the_roster_then(attendance, session, new_group)
        recorded = _recorded(attendance, session_id)
        expected += [person_id for person_id in recorded if person_id not in expected]  # their records stay counted
        edit.changed.append(f"group: {session.group or 'everyone'} -> {new_group or 'everyone'}")
    if late_after is not UNCHANGED and late_after != session.late_after_minutes:
        late_after = checked_late_after(late_after)
        changes["late_after_minutes"] = late_after
        late_from = "" if late_after is None else \
            f" (late from {deadline_text(session.started_at + timedelta(minutes=late_after), zone)}: counted " \
            "from its start)"
        edit.changed.append(f"late after: {_minutes(session.late_after_minutes)} -> {_minutes(late_after)}"
                            f"{late_from}")
    if not changes:
        return edit
    if expected is not None:
        edit.notes.append("faces of the new group seen while it ran were not recorded (not on its list then): "
                          "mark those who came present by hand")
    store = attendance.store
    with store.batch():
        updated = store.update_session(session_id, changes, expected)
        edit.changed += _differences(attendance, before, _statuses(attendance, updated))
        audit(store, "session.edit", {"session_id": session_id, "changes": edit.changed[:50]}, user)
    attendance.refresh()
    return edit


def _name(name: str) -> str:
    name = check_text(" ".join((name or "").split()), "the session name")
    if not name:
        raise InputError("a session needs a name")
    return name


def _group(attendance: Attendance, group: str | None) -> str | None:
    """The group as stored (found case and accents aside), today's or a past one (a class that has moved
    on still names its past sessions); None or "" for everyone."""
    past = [g for p in attendance.store.people() for g in p.all_groups()]
    return stored_group(list(dict.fromkeys([*attendance.groups(), *past])), group) if group else None


def _on_the_roster_then(attendance: Attendance, session: Session, group: str | None) -> list[str]:
    """Who the session would have expected in this group: people added before it ended, not gone
    before it began, and in the group when it began (read from the log, which keeps past groups)."""
    end = session.ended_at or attendance.store.now()
    key = collation(attendance.locale)
    people = sorted(attendance.store.people(), key=lambda p: (key(p.name), p.id))  # in the roster's order
    return [p.id for p in people
            if (group is None or any(same(g, group) for g in p.groups_at(session.started_at)))
            and p.created <= end and p.on_roster_at(session.started_at)]


def _recorded(attendance: Attendance, session_id: int) -> list[str]:
    """Who has a check-in or a mark in the session: they stay expected whatever its group."""
    store = attendance.store
    return list(dict.fromkeys([c.person_id for c in store.checkins(session_id)]
                              + [m.person_id for m in store.marks(session_id)]))


def _minutes(value: float | None) -> str:
    return "none" if value is None else f"{value:g} min"


def _statuses(attendance: Attendance, session: Session) -> dict[str, tuple[str, str]]:
    summary = summarize(attendance.store, session, {p.id: p for p in attendance.store.people()})
    return {row.person.id: (row.person.name, row.status) for row in summary.people}


def _differences(attendance: Attendance, before: dict[str, tuple[str, str]],
                 after: dict[str, tuple[str, str]]) -> list[str]:
    lines = []
    for person_id in dict.fromkeys([*before, *after]):
        name, old = before.get(person_id, (None, "not expected"))
        name2, new = after.get(person_id, (name, "not expected"))
        if old != new:
            lines.append(f"{name or name2}: {old} -> {new}")
    return lines
