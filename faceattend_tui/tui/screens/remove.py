"""Take someone off the roster: they left (records kept), or an erasure request (everything goes)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import Button, Input, RadioButton, RadioSet, Static

from faceattend_tui.station import Person, RosterRow
from faceattend_tui.tui.screens.base import Access, Choice, Dialog, Secret, Submit, pin_fields


@dataclass(frozen=True)
class RemoveRequest:
    erase: bool  # an erasure request: records go too
    pin: Secret


class RemoveScreen(Dialog[RemoveRequest]):
    """Take someone off the roster: they left (records kept), or an erasure request (everything goes)."""

    OK = "Remove"

    def __init__(self, person: Person | RosterRow, access: Access,
                 submit: Submit[RemoveRequest] | None = None, left: bool = False) -> None:
        super().__init__(access, submit)
        self.person, self.left = person, left  # `left`: gone from the roster already, only an erasure remains

    def title_text(self) -> str:
        if self.left:
            return f"Erase {self.person.name} ({self.person.id}), who left: an erasure request"
        return f"Remove {self.person.name} ({self.person.id})"

    def body(self) -> ComposeResult:
        with RadioSet(id="how"):
            yield Choice("They left: attendance records kept", value=not self.left, id="leave",
                              disabled=self.left)
            yield Choice("Erasure request: records deleted too", value=self.left, id="erase")
        yield Static("Either way their photos and templates are deleted and they are no longer recognised. "
                     "An erasure also removes them from every past session; it cannot be undone.")
        yield from pin_fields(self.access)

    def on_mount(self) -> None:
        self.name_the_button()

    @on(RadioSet.Changed)
    def name_the_button(self) -> None:
        """The button says what it does: Remove (they left) or Erase (their records go for good)."""
        label = "Erase" if self.query_one("#erase", RadioButton).value else "Remove"
        self.query_one("#ok", Button).label = label
        self.query_one(".buttons .keys", Static).update(Text(f"enter: {label.lower()} · esc: cancel", style="dim"))

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def submit(self) -> None:
        self.finish(RemoveRequest(self.query_one("#erase", RadioButton).value, self.pin()))
