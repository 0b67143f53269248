"""What every dialog shares: the box, the PIN and staff fields, and submitting a request to the station.

A dialog with a `submit` callback hands it the request in a thread (the station may wait on its
store, its disk or its lock): meanwhile the dialog says "working...", its buttons are off and a
second OK is ignored; the screen keeps answering keys. A refusal (StationError) is said in the
dialog, which stays open; success closes it with what the callback returned.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Generic, Protocol, TypeVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.reactive import reactive
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, DataTable, Input, Select, Static

from faceattend_tui.station import Credentials, StationError

EVERYONE = "__everyone__"
STATION_CALLS = "station-call"  # the worker group of the station calls dialogs make
WORKING = "working..."

RequestT = TypeVar("RequestT")

Secret = str | Credentials  # a bare PIN, or a staff name with its PIN
Submit = Callable[[RequestT], object]  # runs a request (in a thread); raises StationError to keep the dialog open


class Request(Protocol):
    """What a privileged dialog's request carries: the PIN (or staff name and PIN) it was made with."""

    @property
    def pin(self) -> Secret: ...


@dataclass(frozen=True)
class Access:
    """What a privileged dialog asks for: a PIN, and a staff name beside it when there are several accounts."""

    pin: bool = False
    staff_name: bool = False
    last_staff: str = ""  # the name that last succeeded, filled in


class Pin(Input):
    """A PIN field that only appears when the station has a PIN."""

    def __init__(self, needed: bool) -> None:
        super().__init__(placeholder="staff PIN", password=True, id="pin", disabled=not needed)
        self.display = needed


class StaffName(Input):
    """The staff member's name, asked beside the PIN; enter moves on to the PIN."""

    def __init__(self, name: str) -> None:
        super().__init__(name, placeholder="staff name", id="staff")

    async def action_submit(self) -> None:
        self.screen.focus_next()


def pin_fields(access: Access) -> ComposeResult:
    if access.pin and access.staff_name:
        yield StaffName(access.last_staff)
    yield Pin(access.pin)


def buttons(ok: str) -> Horizontal:
    hint = Static(Text(f"enter: {ok.lower()} · esc: cancel", style="dim"), classes="keys")
    return Horizontal(Button(ok, variant="primary", id="ok"), Button("Cancel", id="cancel"), hint, classes="buttons")


def parse_minutes(text: str) -> float | None:
    """Minutes typed by staff: empty for none; raises ValueError for anything but a number >= 0."""
    text = text.strip().replace(",", ".")
    if not text:
        return None
    value = float(text)
    if value < 0 or value != value:
        raise ValueError(text)
    return value


def parse_day(text: str) -> date | None:
    text = text.strip()
    return date.fromisoformat(text) if text else None


def group_options(groups: list[str]) -> list[tuple[str, str]]:
    return [("everyone", EVERYONE)] + [(g, g) for g in groups]


class Dialog(ModalScreen[Any], Generic[RequestT]):
    """A centred box: a title, a body that scrolls when the terminal is small, and below it, always in
    view, the error line and the buttons. Escape cancels (dismisses with None).

    With a `submit` callback, OK hands it the request in a thread: a StationError keeps the dialog open
    with its message and the fields (the PIN cleared); otherwise the dialog closes with what it returned.
    Without one, the dialog closes with the request. Its type parameter: the request it makes (None: none)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("enter", "default", "OK", show=False)]
    WIDE = False
    OK = "OK"

    working: reactive[bool] = reactive(False, init=False)  # a request is with the station

    class Answered(Message):
        """The station call finished: `refusal` is None when it succeeded."""

        def __init__(self, result: object, refusal: str | None) -> None:
            super().__init__()
            self.result, self.refusal = result, refusal

    def __init__(self, access: Access | None = None, submit: Submit[RequestT] | None = None) -> None:
        super().__init__()
        self.access = access or Access()
        self.submit_to = submit
        self.paused_buttons: list[Button] = []  # turned off while working, on again after a refusal

    def title_text(self) -> str:
        return ""

    def body(self) -> ComposeResult:
        yield from ()

    def foot(self) -> ComposeResult:
        yield buttons(self.OK)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide" if self.WIDE else "dialog"):
            yield Static(Text(self.title_text()), classes="dialog-title")
            with VerticalScroll(classes="dialog-body"):
                yield from self.body()
            with Vertical(classes="dialog-foot"):
                yield Static("", id="dialog-error")
                yield from self.foot()

    def on_mount(self) -> None:
        for widget in self.query("Input, Button, Select"):
            if isinstance(widget, (Input, Button, Select)):
                widget.compact = True
        first = self.first_field()
        if first is not None:
            self.set_focus(first)  # at once: a fast burst of keys lands in it

    def first_field(self) -> Widget | None:
        """Where typing starts: the first empty text field, else a list, else the default button."""
        fields: list[Widget] = [
            f for f in self.query(Input) if not f.disabled and not (isinstance(f, StaffName) and f.value)]
        fields += list(self.query(DataTable)) + [b for b in self.query("#ok").results(Button) if not b.disabled]
        return fields[0] if fields else None

    def action_cancel(self) -> None:
        if not self.working:  # the station has the request: its answer is awaited
            self.dismiss(None)

    def action_default(self) -> None:
        """Enter where nothing else takes it: the default button."""
        for ok in self.query("#ok").results(Button):
            if not ok.disabled:
                ok.press()

    @on(Button.Pressed, "#cancel")
    def cancel_pressed(self) -> None:
        self.action_cancel()

    def pin(self) -> Secret:
        """What the station checks: the PIN, with the staff name when one is asked."""
        pin = self.query_one(Pin).value
        staff = self.query(StaffName)
        return Credentials(staff.first().value.strip(), pin) if staff else pin

    def required(self, field: str, missing: str) -> str | None:
        """A field's text, trimmed; None, with `missing` said, when it is empty or a request is out."""
        if self.working:
            return None
        value = self.query_one(f"#{field}", Input).value.strip()
        if not value:
            self.error(missing)
        return value or None

    def finish(self, request: RequestT, working: str = WORKING) -> None:
        """Close with the request, or hand it to the submit callback (in a thread) and close with its result.
        A request while one is with the station is ignored: OK pressed twice submits once."""
        if self.submit_to is None:
            self.dismiss(request)
            return
        if self.working:
            return
        self.working = True
        self.error("")
        self.query_one("#dialog-error", Static).update(Text(working, style="italic"))
        submit = self.submit_to
        self.run_worker(lambda: self.call_station(submit, request), thread=True, group=STATION_CALLS,
                        exit_on_error=False)

    def call_station(self, submit: Submit[RequestT], request: RequestT) -> None:
        """In the worker thread: the station's answer goes back to the dialog as a message."""
        try:
            answer = Dialog.Answered(submit(request), None)
        except StationError as exc:
            answer = Dialog.Answered(None, str(exc))
        except Exception as exc:  # noqa: BLE001 - a callback that failed unguarded: said, the dialog stays
            answer = Dialog.Answered(None, f"internal error: {exc}")
        self.post_message(answer)

    def watch_working(self, working: bool) -> None:
        if working:
            self.paused_buttons = [b for b in self.query(Button) if not b.disabled]
            for button in self.paused_buttons:
                button.disabled = True
        else:
            for button in self.paused_buttons:
                button.disabled = False
            self.paused_buttons = []

    @on(Answered)
    def answered(self, message: Answered) -> None:
        message.stop()
        self.working = False
        if message.refusal is None:
            self.dismiss(message.result)
        else:
            self.refused(message.refusal)

    def refused(self, text: str) -> None:
        """The station said no: its reason in the dialog, the PIN cleared for another try, the rest kept."""
        self.error(text)
        pin = self.query_one(Pin)
        if pin.display:
            pin.value = ""
            pin.focus()

    def error(self, text: str) -> None:
        self.query_one("#dialog-error", Static).update(Text(text, style="bold red"))
