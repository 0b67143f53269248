"""Start a session: its name, who it is for and an optional 'late after N minutes'."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.widgets import Button, Input, Select, Static

from faceattend_tui.tui.screens.base import (
    EVERYONE,
    Access,
    Dialog,
    Secret,
    Submit,
    group_select,
    parse_minutes,
    pin_fields,
)


@dataclass(frozen=True)
class SessionRequest:
    name: str
    late_after: float | None
    group: str | None
    pin: Secret


class StartSessionScreen(Dialog[SessionRequest]):
    """Name, who it is for (a group or everyone) and an optional 'late after N minutes'.
    The groups are read once open (`groups`, in a thread): until then the list offers everyone."""

    OK = "Start"

    def __init__(self, access: Access, groups: Callable[[], list[str]],
                 submit: Submit[SessionRequest] | None = None) -> None:
        super().__init__(access, submit)
        self.read_groups = groups

    def start_reading(self) -> None:
        super().start_reading()
        self.read(self.read_groups, self.show_groups, "the groups")

    def title_text(self) -> str:
        return "Start a session"

    def body(self) -> ComposeResult:
        yield Input(placeholder="session name, e.g. Physics 101", id="name")
        yield Input(placeholder="late after N minutes (optional)", id="late")
        yield Static("for (enter opens the list of groups):", classes="label")
        yield group_select()
        yield from pin_fields(self.access)

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def submit(self) -> None:
        name = self.required("name", "the session needs a name")
        if name is None:
            return
        try:
            late = parse_minutes(self.query_one("#late", Input).value)
        except ValueError:
            self.error("late after: 0 to 1440 minutes (or empty)")
            return
        group = self.query_one("#group", Select).value
        self.finish(SessionRequest(name, late, None if group == EVERYONE else str(group), self.pin()))
