"""Mark one person by hand, with a reason; the camera's record stays beside it."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Button, Input, RadioButton, RadioSet

from faceattend_tui.tui.screens.base import Access, Choice, Dialog, Secret, Submit, buttons, pin_fields


@dataclass(frozen=True)
class MarkRequest:
    status: str
    reason: str
    pin: Secret


class StatusChoice(RadioSet):
    """The statuses, one pressed. `press` moves it at once: RadioSet's own bookkeeping follows its buttons'
    messages, later, so arrows typed fast each read the status before the last one and some were lost."""

    def press(self, index: int) -> None:
        buttons = list(self.query(RadioButton))
        with self.prevent(RadioButton.Changed):
            for number, button in enumerate(buttons):
                button.value = number == index
        self._pressed_button = buttons[index]
        self._selected = index  # the list's highlight follows, as it does for arrows within the list

    def _on_radio_button_changed(self, event: RadioButton.Changed) -> None:
        """A late word from a button `press` turned off (its own start-up one among them) leaves it off;
        a click on the pressed one keeps it on, as RadioSet does."""
        if not event.radio_button.value and event.radio_button is not self._pressed_button:
            event.stop()
            return
        super()._on_radio_button_changed(event)


class MarkScreen(Dialog[MarkRequest]):
    """Manual mark of one person, with a reason; the camera's record stays beside it."""

    OK = "Mark"
    # The reason field has the focus: the arrows choose the status from there (typing goes on).
    BINDINGS = [Binding("down", "status(1)", show=False), Binding("up", "status(-1)", show=False)]

    def __init__(self, person: str, access: Access, submit: Submit[MarkRequest] | None = None,
                 statuses: tuple[str, ...] = ("present", "late", "absent")) -> None:
        super().__init__(access, submit)
        self.person, self.statuses = person, statuses

    def title_text(self) -> str:
        return f"Mark {self.person}"

    def body(self) -> ComposeResult:
        with StatusChoice(id="status"):  # present, late, absent, then the absence codes (excused, sick ...)
            for number, status in enumerate(self.statuses):
                yield Choice(status, value=number == 0, id=f"status-{status}")
        yield Input(placeholder="reason (required)", id="reason")
        yield from pin_fields(self.access)

    def foot(self) -> ComposeResult:
        yield buttons(self.OK, "↑↓: status · ", enter=False)

    def action_status(self, step: int) -> None:
        """The next (1) or previous (-1) status from the reason field; elsewhere (the staff name, the
        PIN, the buttons) the arrows move between the fields."""
        if self.focused is not self.query_one("#reason", Input):
            self.focus_next() if step > 0 else self.focus_previous()
            return
        choice = self.query_one(StatusChoice)
        choice.press(max(0, min(len(self.statuses) - 1, choice.pressed_index + step)))

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def submit(self) -> None:
        reason = self.required("reason", "a reason is required")
        if reason is None:
            return
        status = self.statuses[max(0, self.query_one(StatusChoice).pressed_index)]
        self.finish(MarkRequest(status, reason, self.pin()))
