"""A yes/no question, with a PIN when the station has one."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Button, Input

from faceattend_tui.tui.screens.base import Access, Dialog, Pin, Secret, Submit, pin_fields

WARY_SECONDS = 1.0  # after a key that is no answer, y, n and Enter wait this long without a key to be answers


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
        self.stray_at = float("-inf")  # when a key that is no answer was last typed (text typed ahead)
        self.stray = ""  # those keys

    def title_text(self) -> str:
        return self.question

    def body(self) -> ComposeResult:
        yield from pin_fields(self.access)

    @on(Button.Pressed, "#ok")
    @on(Input.Submitted)
    def action_yes(self) -> None:
        if not self.wary():
            self.finish(Confirmed(self.pin()))

    def on_key(self, event: events.Key) -> None:
        """A letter that is no answer: text typed ahead, meant for a dialog this question came instead of
        ("s", "Physics", Enter with a session running: its y stopped the session)."""
        if event.is_printable and not self.asks_pin():
            self.typed_ahead(event.character or "")

    def asks_pin(self) -> bool:
        return any(pin.display for pin in self.query(Pin))

    def typed_ahead(self, key: str) -> None:
        self.stray, self.stray_at = (self.stray if self.wary() else "") + key, time.monotonic()
        self.error(f"{self.stray[-20:]!r} is no answer: typed ahead? Wait a moment, then y for {self.OK}, n for no")

    def wary(self) -> bool:
        """Whether an answer comes too soon after a key that was none (part of the same text): ignored."""
        return time.monotonic() - self.stray_at < WARY_SECONDS

    def in_a_word(self) -> bool:
        """Whether the key being read has a letter typed right after it, in the same burst ("s", "yoga", Enter:
        its y is the first letter of a name, not an answer)."""
        typed: Sequence[events.Key] = getattr(self.app, "typed", ())  # keys read, waiting their turn, this one first
        return len(typed) > 1 and typed[1].is_printable

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """y and n answer only a question without a PIN: with one, they are letters of a name or PIN
        mistyped (a Tab too many onto the buttons), not an answer."""
        if action in ("yes_key", "no_key"):
            return not self.asks_pin()
        return True

    def action_yes_key(self) -> None:
        self.answer_key("y", self.action_yes)

    def action_no_key(self) -> None:
        self.answer_key("n", self.action_cancel)

    def answer_key(self, key: str, answer: Callable[[], None]) -> None:
        """y or n: an answer, unless part of text typed ahead."""
        if self.wary() or self.in_a_word():
            self.typed_ahead(key)
        else:
            answer()
