"""What every dialog shares: the box, the PIN and staff fields, and submitting a request to the station.

A dialog with a `submit` callback hands it the request in a thread (the station may wait on its
store, its disk or its lock): meanwhile the dialog says "working...", its buttons are off and a
second OK is ignored; the screen keeps answering keys. A refusal (StationError) is said in the
dialog, which stays open; success closes it with what the callback returned.

What a dialog shows from the station is read the same way (`Dialog.read`): the dialog opens at once,
so the keys typed next land in it, says "reading..." and fills in when the read returns.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import date
from functools import partial
from time import monotonic
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.await_complete import AwaitComplete
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.reactive import reactive
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Button, Checkbox, DataTable, Footer, Input, RadioButton, RadioSet, Select, Static
from textual.widgets._toggle_button import ToggleButton

from faceattend_tui.errors import FaceattendError
from faceattend_tui.station import MAX_LATE_MINUTES, Credentials, PinRefused, StationError, internal_error
from faceattend_tui.tui.wheel import WheelMovesCursor

if TYPE_CHECKING:
    from textual.app import App
    from textual.screen import Screen

EVERYONE = "__everyone__"
STATION_CALLS = "station-call"  # the worker group of the station calls dialogs make
DIALOG_READS = "dialog-reads"  # the worker group of the reads that fill a dialog in
WORKING = "working..."
READING = "reading..."

RequestT = TypeVar("RequestT")
DataT = TypeVar("DataT")
CellT = TypeVar("CellT")


class RowTable(WheelMovesCursor, DataTable[CellT]):
    """A dialog's list of rows: Home and End go to the first and the last row (Textual's table scrolls
    sideways with them, as for a sheet of cells)."""

    BINDINGS = [Binding("home", "scroll_top", "First", show=False), Binding("end", "scroll_bottom", "Last", show=False)]

    def wheel_move(self, rows: int) -> bool:
        row = max(0, min(self.cursor_row + rows, self.row_count - 1))
        if row == self.cursor_row:
            return False
        self.move_cursor(row=row)
        return True

Fill = Callable[[Any], None]  # shows what a read returned

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
    recheck: Callable[[], Access] | None = field(default=None, compare=False)  # reads it afresh (in a thread)


class DialogBody(VerticalScroll):
    """A dialog's fields. When what is in them grows or the terminal shrinks (a capture's samples and
    warnings, an error), the field with the cursor is brought back into sight: typing never goes unseen."""

    def watch_virtual_size(self) -> None:
        self.keep_focus_in_sight()

    def on_resize(self) -> None:
        self.keep_focus_in_sight()

    def keep_focus_in_sight(self) -> None:
        focused = self.screen.focused
        if focused is not None and self in focused.ancestors:
            self.call_after_refresh(self.scroll_to_widget, focused, animate=False)


PIN_FORGOTTEN_AFTER = 60.0  # seconds a typed PIN waits unused: whoever comes to the terminal next has to type it


def show_mark(button: ToggleButton, mark: str) -> None:
    """A radio button or check box whose mark says whether it is on, colour or none: `mark`, or a blank
    (Textual draws the same mark either way, in another colour)."""
    button.BUTTON_INNER = mark if button.value else " "
    button.refresh()


class Choice(RadioButton):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        show_mark(self, "●")

    def watch_value(self) -> None:
        show_mark(self, "●")
        super().watch_value()


class Tick(Checkbox):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        show_mark(self, "X")

    def watch_value(self) -> None:
        show_mark(self, "X")
        super().watch_value()


class SecretInput(Input):
    """A field whose text is a secret: drawn as dots, and never copied or cut to a clipboard (from which
    the next person at the terminal would paste it in clear)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(password=True, **kwargs)

    def action_copy(self) -> None:
        return

    def action_cut(self) -> None:
        return


class Pin(SecretInput):
    """A PIN field that only appears when the station has a PIN. A PIN typed and left (a connection
    dropped, staff called away) is forgotten after PIN_FORGOTTEN_AFTER seconds without a key typed in
    its dialog, so that nobody else acts in that staff member's name by pressing Enter."""

    def __init__(self, needed: bool) -> None:
        super().__init__(placeholder="staff PIN", id="pin", disabled=not needed)
        self.display = needed
        self.forget_timer: Timer | None = None
        self.used_at = monotonic()

    def _on_input_changed(self, event: Input.Changed) -> None:
        if event.input is not self:
            return
        if self.forget_timer is not None:
            self.forget_timer.stop()
        self.forget_timer = self.set_timer(PIN_FORGOTTEN_AFTER, self.forget) if self.value else None
        self.used_at = monotonic()

    def still_used(self) -> None:
        """A key was typed in the dialog: its staff member is still there, the minute starts again."""
        if self.forget_timer is not None:
            self.forget_timer.reset()
        self.used_at = monotonic()

    def forget_if_left(self) -> None:
        """Forget a PIN left unused for longer than allowed (its timer does not run while a screen covers it)."""
        if self.value and monotonic() - self.used_at >= PIN_FORGOTTEN_AFTER:
            self.forget()

    def forget(self) -> None:
        self.forget_timer = None
        self.value = ""
        self.placeholder = f"staff PIN (forgotten after {PIN_FORGOTTEN_AFTER:g} s unused: type it again)"


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


def buttons(ok: str, keys: str = "", enter: bool = True) -> Horizontal:
    """OK and Cancel, with the keys that do it (and `keys`, the dialog's own, before them; `enter` left
    unsaid where the line would not fit on one row at 80 columns: the OK button shows it)."""
    said = f"enter: {ok.lower()} · " if enter else ""
    hint = Static(Text(f"{keys}{said}esc: cancel", style="dim"), classes="keys")
    return Horizontal(Button(ok, variant="primary", id="ok"), Button("Cancel", id="cancel"), hint, classes="buttons")


def parse_minutes(text: str) -> float | None:
    """Minutes typed by staff: empty for none; raises ValueError for anything but a number >= 0."""
    text = text.strip().replace(",", ".")
    if not text:
        return None
    value = float(text)
    if not 0 <= value <= MAX_LATE_MINUTES:  # a day at most; NaN and infinity fail this too
        raise ValueError(text)
    return value


def parse_day(text: str) -> date | None:
    text = text.strip()
    return date.fromisoformat(text) if text else None


def group_options(groups: list[str]) -> list[tuple[str, str]]:
    return [("everyone", EVERYONE)] + [(g, g) for g in groups]


def group_select() -> Select[str]:
    """The list of whom something is for (#group): everyone, until the groups are read (show_groups)."""
    return Select(group_options([]), value=EVERYONE, allow_blank=False, id="group", prompt="for")


def read_failure(what: str, exc: Exception) -> str:
    """What a dialog says when reading `what` failed; a bug is logged with its traceback."""
    if isinstance(exc, (FaceattendError, OSError)):
        return f"could not read {what}: {exc}"
    return internal_error(f"reading {what}", exc).message


class Dialog(ModalScreen[Any], Generic[RequestT]):
    """A centred box: a title, a body that scrolls when the terminal is small, and below it, always in
    view, the error line and the buttons. Escape cancels (dismisses with None).

    With a `submit` callback, OK hands it the request in a thread: a StationError keeps the dialog open
    with its message and the fields (the PIN cleared); otherwise the dialog closes with what it returned.
    Without one, the dialog closes with the request. Its type parameter: the request it makes (None: none).

    What it shows from the station it reads in threads once open (`start_reading`, `read`)."""

    # Tab moves on before the next key is handled: keys typed ahead over a slow SSH link (a name, Tab, a
    # PIN) would otherwise land in the field before, the PIN in clear; priority bindings are checked at once.
    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("enter", "default", "OK", show=False),
                Binding("tab", "app.focus_next", show=False, priority=True),
                Binding("shift+tab", "app.focus_previous", show=False, priority=True)]
    WIDE = False
    OK = "OK"
    NEEDS_DATA = False  # True: its buttons (but Cancel) wait until its reads are in

    working: reactive[bool] = reactive(False, init=False)  # a request is with the station

    class Answered(Message):
        """The station call finished: `refusal` is None when it succeeded."""

        def __init__(self, result: object, refusal: str | None, about_pin: bool = False) -> None:
            super().__init__()
            self.result, self.refusal, self.about_pin = result, refusal, about_pin

    def __init__(self, access: Access | None = None, submit: Submit[RequestT] | None = None) -> None:
        super().__init__()
        self.access = access or Access()
        self.submit_to = submit
        self.paused_buttons: list[Button] = []  # turned off while working, on again after a refusal
        self.reads_made = 0
        self.latest_read: dict[Fill, int] = {}  # each fill-in's latest read: an older answer is dropped
        self.reads_out: set[Fill] = set()  # fill-ins waiting for their read, said as "reading..."
        self.reads_failed: set[Fill] = set()  # fill-ins whose latest read failed: nothing to act on
        self.quiet_fills: set[Fill] = set()  # fill-ins nothing waits for (their failure blocks nothing)
        self.saying_reading = False
        self.on_settled: list[Callable[[], Awaitable[None]]] = []  # run once settled (see `busy`)
        self.reads_started = False
        self.closing: tuple[Any] | None = None  # the answer of a dialog to close once nothing covers it
        self.error_said = ""

    def title_text(self) -> str:
        return ""

    def body(self) -> ComposeResult:
        yield from ()

    def foot(self) -> ComposeResult:
        yield buttons(self.OK)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide" if self.WIDE else "dialog"):
            yield Static(Text(self.title_text()), classes="dialog-title")
            with DialogBody(classes="dialog-body"):
                yield from self.body()
            with Vertical(classes="dialog-foot"):
                yield Static("", id="dialog-error")
                yield from self.foot()
        yield Footer()  # the dialog's own keys, not those of the screen beneath (which do nothing now)

    def on_mount(self) -> None:
        if not self.app.is_running:  # opened as the station closes: its widgets are being taken down
            return
        for widget in self.query("Input, Button, Select, RadioSet, Checkbox"):  # no borders: fits 80x24 with a PIN
            if isinstance(widget, (Input, Button, Select, RadioSet, Checkbox)):
                widget.compact = True
        first = self.first_field()
        if first is not None:
            self.set_focus(first)  # at once: a fast burst of keys lands in it
        self.start_reading()

    def first_field(self) -> Widget | None:
        """Where typing starts: the first empty text field before the PIN, else the first text field (all
        filled in: the top one), else a list, else the default button."""
        inputs = [f for f in self.query(Input) if not f.disabled and not (isinstance(f, StaffName) and f.value)]
        empty = [f for f in inputs if not f.value and not isinstance(f, Pin)]
        fields: list[Widget] = [*empty, *inputs, *self.query(DataTable)]
        fields += [b for b in self.query("#ok").results(Button) if not b.disabled]
        return fields[0] if fields else None

    def key_typed(self) -> None:
        """Someone typed a key while this dialog is on top (the app sees every key, fields stop them)."""
        for pin in self.query(Pin):
            pin.still_used()

    def on_screen_resume(self) -> None:
        """On top again (the palette or the help closed over it): a PIN left there a minute is forgotten, and
        a dialog whose answer came meanwhile closes now."""
        if self.closing is not None:
            self.dismiss(self.closing[0])
            return
        for pin in self.query(Pin):
            pin.forget_if_left()

    def open_over(self, screen: Screen[Any], then: Callable[[Any], None] | None = None) -> None:
        """Open a screen over this dialog, if nothing covers it yet: the second click of a double click on a
        row opened a second detail screen over the first."""
        if self.is_active:
            self.app.push_screen(screen, then)

    def dismiss(self, result: Any = None) -> AwaitComplete:
        """Close this dialog and only this one (Textual closes whatever screen is on top): covered by the
        command palette, it closes once on top again; closed already (a second click), nothing happens."""
        if self.is_active:
            self.closing = None
            return super().dismiss(result)
        if self in self.app.screen_stack:
            self.closing = (result,)
        return AwaitComplete.nothing()

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
        self.working_text(working)
        submit = self.submit_to
        self.run_worker(lambda: self.call_station(submit, request), thread=True, group=STATION_CALLS,
                        exit_on_error=False)

    def call_station(self, submit: Submit[RequestT], request: RequestT) -> None:
        """In the worker thread: the station's answer goes back to the dialog as a message."""
        try:
            answer = Dialog.Answered(submit(request), None)
        except StationError as exc:
            answer = Dialog.Answered(None, str(exc), isinstance(exc, PinRefused))
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
            self.refused(message.refusal, message.about_pin)
        self.settled()

    def keys_dropped(self, count: int) -> None:
        """Keys typed while the station had the request, which it refused: typed for what was to follow, they
        are not used here (a name typed into the PIN field, an Enter sending it again) and this is said."""
        self.error(f"{self.error_said}; the {count} keys typed after OK were not used")

    def refused(self, text: str, about_pin: bool = True) -> None:
        """The station said no: its reason in the dialog, everything kept, but the PIN when it was the
        reason (cleared for another try)."""
        self.error(text)
        pin = self.query_one(Pin)
        if pin.display and about_pin:
            pin.value = ""
            names = [name for name in self.query(StaffName) if not name.value.strip()]
            (names[0] if names else pin).focus()  # the name first when it is what is missing

    def working_text(self, text: str) -> None:
        """What the dialog says while the station works on its request."""
        self.query_one("#dialog-error", Static).update(Text(text, style="italic"))

    def error(self, text: str) -> None:
        self.saying_reading = False
        self.error_said = text
        self.query_one("#dialog-error", Static).update(Text(text, style="bold red"))

    # -- reading what the dialog shows, in threads

    def start_reading(self) -> None:
        """On mount: start the reads that fill the dialog in. Here: the PIN fields, checked afresh
        (they were drawn as last known; without a "reading..." line: the keys need not wait)."""
        if self.access.recheck is not None:
            self.read(self.access.recheck, self.show_access, "the staff accounts", quiet=True)

    def read(self, call: Callable[[], DataT], fill: Callable[[DataT], None], what: str, quiet: bool = False) -> None:
        """Run `call` in a thread (the station may wait on its lock) and hand its result to `fill` on the
        screen's thread; meanwhile "reading..." is said (unless quiet) and, with NEEDS_DATA, the buttons
        wait. An answer to an older read of the same fill-in, or one after the dialog closed, is dropped."""
        self.drop_reads(fill)
        if quiet:
            self.quiet_fills.add(fill)
        else:
            self.reads_started = True
            self.reads_out.add(fill)
            self.show_reading()
        job = partial(self.read_in_thread, self.app, call, fill, self.reads_made, what)
        self.run_worker(job, thread=True, group=DIALOG_READS, exit_on_error=False)

    def drop_reads(self, fill: Fill) -> None:
        """The answers of reads still out for `fill` are dropped when they come."""
        self.reads_made += 1
        self.latest_read[fill] = self.reads_made
        self.reads_out.discard(fill)

    def read_in_thread(self, app: App[Any], call: Callable[[], DataT], fill: Callable[[DataT], None], ticket: int,
                       what: str) -> None:
        try:
            data = call()
        except Exception as exc:  # noqa: BLE001 - said in the dialog, which stays usable
            app.call_from_thread(self.read_failed, fill, ticket, read_failure(what, exc))
            return
        app.call_from_thread(self.read_done, fill, ticket, data)

    def read_done(self, fill: Callable[[DataT], None], ticket: int, data: DataT) -> None:
        if self.answer_wanted(fill, ticket):
            self.reads_failed.discard(fill)
            self.show_reading()
            fill(data)

    def read_failed(self, fill: Fill, ticket: int, text: str) -> None:
        if self.answer_wanted(fill, ticket):
            if fill not in self.quiet_fills:
                self.reads_failed.add(fill)
                self.show_reading()
            self.error(text)

    def answer_wanted(self, fill: Fill, ticket: int) -> bool:
        """Whether a read's answer is still wanted (the dialog open, no newer read of the same out)."""
        if self not in self.app.screen_stack or self.latest_read.get(fill) != ticket:
            return False
        self.reads_out.discard(fill)
        self.show_reading()
        return True

    @property
    def reading(self) -> bool:
        return bool(self.reads_out)

    def still_reading(self) -> bool:
        """For a key that needs what is being read: True, and "reading..." said, while it is; True
        too once a read failed (acting on what was not read, e.g. saving a timetable, would lose data)."""
        if self.reading:
            self.show_reading()
        return self.reading or bool(self.reads_failed)

    @property
    def busy(self) -> bool:
        """Whether keys typed now must wait: a request is with the station (they were typed for what follows
        its answer: the screen beneath, or the next dialog), or a list's rows are still to be read, or their
        reading not begun (they would act on rows not there yet)."""
        return self.working or (self.NEEDS_DATA and (self.reading or not self.reads_started))

    def when_settled(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Run `callback` (on the screen's thread) once the dialog is no longer busy."""
        self.on_settled.append(callback)

    def settled(self) -> None:
        if not self.busy and self.on_settled:
            callbacks, self.on_settled = self.on_settled, []
            for callback in callbacks:
                self.app.call_later(callback)

    def show_reading(self) -> None:
        self.settled()
        line = self.query_one("#dialog-error", Static)
        if self.reading and not self.working:
            line.update(Text(READING, style="italic"))
            self.saying_reading = True
        elif self.saying_reading:
            self.error("")
        if self.NEEDS_DATA:
            for button in self.query(Button):
                button.disabled = (self.reading or bool(self.reads_failed)) and button.id != "cancel"

    def show_groups(self, groups: list[str]) -> None:
        """The groups, once read, offered in the dialog's group_select."""
        self.query_one("#group", Select).set_options(group_options(groups))

    def show_access(self, access: Access) -> None:
        """The PIN (and staff name) fields as the station asks for them now, when that changed."""
        pins = self.query(Pin)
        if not pins or (access.pin, access.staff_name) == (self.access.pin, self.access.staff_name):
            return
        self.access = replace(access, last_staff=self.access.last_staff)
        pin = pins.first()
        pin.display, pin.disabled = access.pin, not access.pin
        wanted = access.pin and access.staff_name
        staff = self.query(StaffName)
        if wanted and not staff:
            name = StaffName(self.access.last_staff)
            name.compact = True
            self.mount(name, before=pin)
        elif staff and not wanted:
            staff.remove()
        if not isinstance(self.focused, Input):
            self.call_after_refresh(self.focus_first)

    def focus_first(self) -> None:
        first = self.first_field()
        if first is not None:
            self.set_focus(first)
