"""A yes/no question, with a PIN when the station has one."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Button, Input

from faceattend_tui.tui.screens.base import Access, Dialog, Secret, Submit, pin_fields


@dataclass(frozen=True)
class Confirmed:
    pin: Secret


class ConfirmScreen(Dialog[Confirmed]):
    """A yes/no question with a PIN when the station has one."""

    BINDINGS = [Binding("escape", "cancel", "No"), Binding("enter", "default", "OK", show=False),
                Binding("y", "yes", "Yes"), Binding("n", "cancel", "No")]

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
