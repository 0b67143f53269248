"""A yes/no question, with a PIN when the station has one."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Button, Input

from faceattend_tui.tui.screens.base import Access, Dialog, Pin, Secret, Submit, pin_fields


@dataclass(frozen=True)
class Confirmed:
    pin: Secret


class ConfirmScreen(Dialog[Confirmed]):
    """A yes/no question with a PIN when the station has one."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("enter", "default", "OK", show=False),
                Binding("y", "yes_key", "Yes"), Binding("n", "no_key", "No")]

    def __init__(self, question: str, access: Access | None = None, submit: Submit[Confirmed] | None = None,
                 ok: str = "Yes") -> None:
        super().__init__(access, submit)
        self.question, self.OK = question, ok

    def title_text(self) -> str:
        return self.question

    def body(self) -> ComposeResult:
        yield from pin_fields(self.access)

    @on(Button.Pressed, "#ok")
    @on(Input.Submitted)
    def action_yes(self) -> None:
        self.finish(Confirmed(self.pin()))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """y and n answer only a question without a PIN: with one, they are letters of a name or PIN
        mistyped (a Tab too many onto the buttons), not an answer."""
        if action in ("yes_key", "no_key"):
            return not any(pin.display for pin in self.query(Pin))
        return True

    def action_yes_key(self) -> None:
        self.action_yes()

    def action_no_key(self) -> None:
        self.action_cancel()
