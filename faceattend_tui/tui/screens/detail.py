"""One person (or one audit entry) in full: everything a list's columns cut short."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from faceattend_tui.station import Person, PersonStatus, printable
from faceattend_tui.tui.screens.base import Dialog

if TYPE_CHECKING:
    from faceattend_tui.station import Checkin, Session


Lines = list[tuple[str, str]]  # (label, text); a line without a label is shown as it is


class DetailScreen(Dialog[None]):
    """One person, with everything the list's columns cut short (a mark's full reason). Given `load`
    instead of lines, it opens at once and reads its title and lines in a thread (see Dialog.read)."""

    BINDINGS = [Binding("escape", "cancel", "Close"), Binding("enter", "cancel", "Close")]
    WIDE = True

    def __init__(self, title: str, lines: Lines | None = None, load: Callable[[], tuple[str, Lines]] | None = None,
                 what: str = "the details") -> None:
        super().__init__()
        self.title_line, self.lines, self.load, self.what = title, lines or [], load, what

    def title_text(self) -> str:
        return self.title_line

    def body(self) -> ComposeResult:
        yield Vertical(*detail_lines(self.lines), id="detail-lines")

    def start_reading(self) -> None:
        super().start_reading()
        if self.load is not None:
            self.read(self.load, self.show_lines, self.what)

    def show_lines(self, loaded: tuple[str, Lines]) -> None:
        self.title_line, self.lines = loaded
        self.query_one(".dialog-title", Static).update(Text(self.title_line))
        box = self.query_one("#detail-lines", Vertical)
        box.remove_children()
        box.mount_all(detail_lines(self.lines))

    def foot(self) -> ComposeResult:
        yield Horizontal(Button("Close", variant="primary", id="cancel"), classes="buttons")


def detail_lines(lines: Lines) -> list[Static]:
    return [Static(Text.assemble((f"{label}: ", "bold") if label else "", printable(value)), classes="detail")
            for label, value in lines]


def when(value: datetime | None) -> str:
    return f"{value.astimezone():%Y-%m-%d %H:%M:%S}" if value else ""


def person_details(person: Person, item: PersonStatus | None, session: Session | None) -> Lines:
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
