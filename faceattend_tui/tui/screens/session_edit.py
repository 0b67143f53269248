"""Correct a past session: void it (kept, left out of reports), or edit its name, group or late after."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TypedDict

from textual import on
from textual.app import ComposeResult
from textual.widgets import Button, Input, Select, Static

from faceattend_tui.tui.screens.base import (
    EVERYONE,
    Access,
    Dialog,
    Secret,
    Submit,
    group_options,
    parse_minutes,
    pin_fields,
)

if TYPE_CHECKING:
    from faceattend_tui.station import Session


@dataclass(frozen=True)
class VoidRequest:
    session_id: int
    reason: str
    pin: Secret


class SessionChanges(TypedDict, total=False):
    """Only the fields changed."""

    name: str
    group: str | None  # None: everyone
    late_after: float | None  # None: nobody late


@dataclass(frozen=True)
class EditRequest:
    session_id: int
    changes: SessionChanges
    pin: Secret


def session_when(session: Session) -> str:
    return f"{session.started_at.astimezone():%Y-%m-%d %H:%M}"  # on the station's clock


def session_state(session: Session) -> str:
    if session.voided:
        return "voided"
    return "running" if session.active else "done"


class VoidScreen(Dialog[VoidRequest]):
    """Void a finished session: kept with who voided it and why, left out of reports."""

    OK = "Void"

    def __init__(self, session: Session, access: Access, submit: Submit[VoidRequest] | None = None) -> None:
        super().__init__(access, submit)
        self.session = session

    def title_text(self) -> str:
        return f"Void session {self.session.id} {self.session.name!r} ({session_when(self.session)})"

    def body(self) -> ComposeResult:
        yield Static("The session is kept, with who voided it and why, and left out of reports and exports "
                     "of a date range.", classes="note")
        yield Input(placeholder="reason (required)", id="void-reason")
        yield from pin_fields(self.access)

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def submit(self) -> None:
        reason = self.required("void-reason", "a reason is required")
        if reason is None:
            return
        self.finish(VoidRequest(self.session.id, reason, self.pin()))


def minutes_text(minutes: float | None) -> str:
    """Late-after minutes as staff read and type them, to a tenth (a timetable's session that opened
    18 s into its slot is late after 0.6988 minutes)."""
    return "" if minutes is None else f"{round(minutes, 1):g}"


class EditSessionScreen(Dialog[EditRequest]):
    """Correct a past session: its name, who it was for, late after; statuses are worked out again."""

    OK = "Save"

    def __init__(self, session: Session, groups: list[str], access: Access,
                 submit: Submit[EditRequest] | None = None) -> None:
        super().__init__(access, submit)
        self.session = session
        self.groups = list(groups)
        if session.group and session.group not in self.groups:
            self.groups.append(session.group)

    def title_text(self) -> str:
        return f"Edit session {self.session.id} ({session_when(self.session)})"

    def body(self) -> ComposeResult:
        deadline = self.session.late_deadline
        late_from = f", now late from {deadline.astimezone():%H:%M:%S}" if deadline is not None else ""
        yield Static("name:", classes="label")
        yield Input(self.session.name, placeholder="session name", id="edit-name")
        yield Static(f"late after N minutes (empty: nobody is late{late_from}):", classes="label")
        yield Input(minutes_text(self.session.late_after_minutes), placeholder="late after N minutes", id="edit-late")
        yield Static("for (enter opens the list of groups):", classes="label")
        yield Select(group_options(self.groups), value=self.session.group or EVERYONE, allow_blank=False,
                     id="edit-group", prompt="for")
        yield from pin_fields(self.access)

    def first_field(self) -> Input:
        return self.query_one("#edit-name", Input)  # what is most often mended, though filled in

    def changes(self) -> SessionChanges:
        """The fields that differ from the session; ValueError with the words to show."""
        changes: SessionChanges = {}
        name = " ".join(self.query_one("#edit-name", Input).value.split())
        if not name:
            raise ValueError("the session needs a name")
        if name != self.session.name:
            changes["name"] = name
        typed = self.query_one("#edit-late", Input).value
        try:
            late = parse_minutes(typed)
        except ValueError:
            raise ValueError("late after: 0 to 1440 minutes (or empty: nobody is late)") from None
        if typed.strip() != minutes_text(self.session.late_after_minutes) and late != self.session.late_after_minutes:
            changes["late_after"] = late
        value = self.query_one("#edit-group", Select).value
        group = None if value == EVERYONE else str(value)
        if group != self.session.group:
            changes["group"] = group
        return changes

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def submit(self) -> None:
        if self.working:
            return
        try:
            changes = self.changes()
        except ValueError as exc:
            self.error(str(exc))
            return
        if not changes:
            self.error("nothing changed: change the name, the group or late after")
            return
        self.finish(EditRequest(self.session.id, changes, self.pin()))
