"""One person (or one audit entry) in full: everything a list's columns cut short."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, Static

from faceattend_tui.station import Person, PersonStatus, printable
from faceattend_tui.tui.screens.base import Dialog

if TYPE_CHECKING:
    from faceattend_tui.station import Checkin, Session


class DetailScreen(Dialog[None]):
    """One person, with everything the list's columns cut short (a mark's full reason)."""

    BINDINGS = [Binding("escape", "cancel", "Close"), Binding("enter", "cancel", "Close")]
    WIDE = True

    def __init__(self, title: str, lines: list[tuple[str, str]]) -> None:
        super().__init__()
        self.title_line, self.lines = title, lines

    def title_text(self) -> str:
        return self.title_line

    def body(self) -> ComposeResult:
        for label, value in self.lines:  # a line without a label is shown as it is
            head = (f"{label}: ", "bold") if label else ""
            yield Static(Text.assemble(head, printable(value)), classes="detail")

    def foot(self) -> ComposeResult:
        yield Horizontal(Button("Close", variant="primary", id="cancel"), classes="buttons")


def when(value: datetime | None) -> str:
    return f"{value.astimezone():%Y-%m-%d %H:%M:%S}" if value else ""


def person_details(person: Person, item: PersonStatus | None, session: Session | None) -> list[tuple[str, str]]:
    """Label and text for each thing known of a person in a session (item: None when not in it)."""
    lines = [("id", person.id), ("groups", ", ".join(person.groups) or "none")]
    if session is None:
        return lines + [("session", "none running")]
    lines.append(("session", session.name))
    if item is None:
        return lines + [("status", "not on this session's list")]
    lines.append(("status", item.status if item.expected else f"{item.status} (not on the list)"))
    if item.checkin:
        lines.append(("camera", camera_line(item.checkin)))
    if item.mark:
        mark = item.mark
        lines += [("marked", f"{mark.status} (was {mark.previous}) by {mark.by} at {when(mark.at)}"),
                  ("reason", mark.reason)]
    return lines


def camera_line(checkin: Checkin) -> str:
    text = f"arrived {when(checkin.time)}"
    if checkin.similarity is not None:
        text += f", similarity {checkin.similarity:.2f}"
    if checkin.station:
        text += f", at {checkin.station}"
    if checkin.last_seen:
        text += f", last seen {when(checkin.last_seen)}"
    return text
