"""A staff member's own new PIN, from the station (the command line's `faceattend pin` waits for the
station to stop): the current PIN, then the new one twice."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Button, Input, Static

from faceattend_tui.tui.screens.base import Dialog, Pin, Secret, SecretInput, StaffName, pin_fields


@dataclass(frozen=True)
class PinChange:
    pin: Secret  # the staff member, with the current PIN
    new: str


class OwnPinScreen(Dialog[PinChange]):
    """Change one's own PIN: name and current PIN, the new one twice."""

    OK = "Change"

    def title_text(self) -> str:
        return "Change your own PIN"

    def body(self) -> ComposeResult:
        yield Static("Your current PIN, then the new one twice (the station says what it refuses).", classes="note")
        yield from pin_fields(self.access)
        yield SecretInput(placeholder="new PIN", id="new-pin")
        yield SecretInput(placeholder="new PIN again", id="again")

    def first_field(self) -> Widget | None:
        """Who first, then the current PIN: the new ones come after."""
        fields: list[Widget] = [name for name in self.query(StaffName) if not name.value.strip()]
        return (fields or list(self.query(Pin)))[0]

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def submit(self, event: Input.Submitted | Button.Pressed) -> None:
        if isinstance(event, Input.Submitted) and event.input.id != "again":
            self.focus_next()
            return
        new, again = (self.query_one(f"#{field}", Input).value for field in ("new-pin", "again"))
        if not new:
            self.error("type the new PIN")
        elif new != again:
            self.error("the two new PINs differ")
            self.query_one("#again", Input).value = ""
            self.query_one("#again", Input).focus()
        else:
            self.finish(PinChange(self.pin(), new))

    def refused(self, text: str, about_pin: bool = True) -> None:
        super().refused(text, about_pin)
        for field in ("new-pin", "again"):
            self.query_one(f"#{field}", Input).value = ""
        if not about_pin:  # the new PIN was refused: typed again from its first field
            self.query_one("#new-pin", Input).focus()
