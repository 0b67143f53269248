"""Dialogs: start a session, enroll, export, mark, remove, confirm, past sessions (void, edit), report, help."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial

from rich.markup import escape
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, DataTable, Input, RadioButton, RadioSet, Select, Static
from textual_plotext import PlotextPlot

from faceattend_tui.attendance import ExportOptions, Person, PersonStatus, Report
from faceattend_tui.attendance.models import printable
from faceattend_tui.attendance.security import Credentials
from faceattend_tui.live.events import CaptureSample
from faceattend_tui.station import EnrollTarget, StationError
from faceattend_tui.tui.messages import CaptureDone
from faceattend_tui.tui.thumbnail import halfblock

EVERYONE = "__everyone__"


# What the dialogs hand their submit callback, or return (None when cancelled).

Secret = str | Credentials  # a bare PIN, or a staff name with its PIN


@dataclass(frozen=True)
class SessionRequest:
    name: str
    late_after: float | None
    group: str | None
    pin: Secret


@dataclass(frozen=True)
class Confirmed:
    pin: Secret


@dataclass(frozen=True)
class RemoveRequest:
    erase: bool  # an erasure request: records go too
    pin: Secret


@dataclass(frozen=True)
class ExportRequest:
    options: ExportOptions
    date_from: date | None
    date_to: date | None
    pin: Secret


@dataclass(frozen=True)
class MarkRequest:
    status: str
    reason: str
    pin: Secret


@dataclass(frozen=True)
class EnrollRequest:
    target: EnrollTarget
    samples: tuple[CaptureSample, ...]
    pin: Secret


@dataclass(frozen=True)
class HistoryChoice:
    action: str  # "show" or "export"
    session_id: int


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


Submit = Callable[[object], object]  # runs a request; raises StationError to keep the dialog open


class Dialog(ModalScreen):
    """A centred box: a title, a body that scrolls when the terminal is small, and below it, always in
    view, the error line and the buttons. Escape cancels (dismisses with None).

    With a `submit` callback, OK hands it the request: a StationError keeps the dialog open with its
    message and the fields (the PIN cleared); otherwise the dialog closes with what it returned.
    Without one, the dialog closes with the request."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("enter", "default", "OK", show=False)]
    WIDE = False
    OK = "OK"

    def __init__(self, access: Access | None = None, submit: Submit | None = None) -> None:
        super().__init__()
        self.access = access or Access()
        self.submit_to = submit

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
            widget.compact = True
        first = self.first_field()
        if first is not None:
            self.set_focus(first)  # at once: a fast burst of keys lands in it

    def first_field(self):
        """Where typing starts: the first empty text field, else a list, else the default button."""
        fields = [f for f in self.query(Input) if not f.disabled and not (isinstance(f, StaffName) and f.value)]
        fields += list(self.query(DataTable)) + [b for b in self.query("#ok").results(Button) if not b.disabled]
        return fields[0] if fields else None

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_default(self) -> None:
        """Enter where nothing else takes it: the default button."""
        for ok in self.query("#ok").results(Button):
            if not ok.disabled:
                ok.press()

    @on(Button.Pressed, "#cancel")
    def cancel_pressed(self) -> None:
        self.dismiss(None)

    def pin(self) -> Secret:
        """What the station checks: the PIN, with the staff name when one is asked."""
        pin = self.query_one(Pin).value
        staff = self.query(StaffName)
        return Credentials(staff.first().value.strip(), pin) if staff else pin

    def finish(self, request) -> None:
        """Close with the request, or hand it to the submit callback and close with its result."""
        if self.submit_to is None:
            self.dismiss(request)
            return
        try:
            result = self.submit_to(request)
        except StationError as exc:
            self.refused(str(exc))
            return
        self.dismiss(result)

    def refused(self, text: str) -> None:
        """The station said no: its reason in the dialog, the PIN cleared for another try, the rest kept."""
        self.error(text)
        pin = self.query_one(Pin)
        if pin.display:
            pin.value = ""
            pin.focus()

    def error(self, text: str) -> None:
        self.query_one("#dialog-error", Static).update(Text(text, style="bold red"))


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


class StartSessionScreen(Dialog):
    """Name, who it is for (a group or everyone) and an optional 'late after N minutes'."""

    OK = "Start"

    def __init__(self, access: Access, groups: list[str], submit: Submit | None = None) -> None:
        super().__init__(access, submit)
        self.groups = groups

    def title_text(self) -> str:
        return "Start a session"

    def body(self) -> ComposeResult:
        options = [("everyone", EVERYONE)] + [(g, g) for g in self.groups]
        yield Input(placeholder="session name, e.g. Physics 101", id="name")
        yield Input(placeholder="late after N minutes (optional)", id="late")
        yield Static("for (enter opens the list of groups):", classes="label")
        yield Select(options, value=EVERYONE, allow_blank=False, id="group", prompt="for")
        yield from pin_fields(self.access)

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def submit(self) -> None:
        name = self.query_one("#name", Input).value.strip()
        if not name:
            self.error("the session needs a name")
            return
        try:
            late = parse_minutes(self.query_one("#late", Input).value)
        except ValueError:
            self.error("late after: a number of minutes, 0 or more (or empty)")
            return
        group = self.query_one("#group", Select).value
        self.finish(SessionRequest(name, late, None if group == EVERYONE else group, self.pin()))


class ConfirmScreen(Dialog):
    """A yes/no question with a PIN when the station has one."""

    BINDINGS = [Binding("escape", "cancel", "No"), Binding("enter", "default", "OK", show=False),
                Binding("y", "yes", "Yes"), Binding("n", "cancel", "No")]

    def __init__(self, question: str, access: Access | None = None, submit: Submit | None = None,
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


class RemoveScreen(Dialog):
    """Take someone off the roster: they left (records kept), or an erasure request (everything goes)."""

    OK = "Remove"

    def __init__(self, person: Person, access: Access, submit: Submit | None = None) -> None:
        super().__init__(access, submit)
        self.person = person

    def title_text(self) -> str:
        return f"Remove {self.person.name} ({self.person.id})"

    def body(self) -> ComposeResult:
        with RadioSet(id="how"):
            yield RadioButton("They left: attendance records kept", value=True, id="leave")
            yield RadioButton("Erasure request: records deleted too", id="erase")
        yield Static("Either way their photos and templates are deleted and they are no longer recognised. "
                     "An erasure also removes them from every past session; it cannot be undone.")
        yield from pin_fields(self.access)

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def submit(self) -> None:
        self.finish(RemoveRequest(self.query_one("#erase", RadioButton).value, self.pin()))


@dataclass(frozen=True)
class ImportRequest:
    path: str
    pin: Secret


class ImportScreen(Dialog):
    """A roster CSV to import: id,name,groups and optionally photo (a path next to the file)."""

    OK = "Import"

    def title_text(self) -> str:
        return "Import a roster"

    def body(self) -> ComposeResult:
        yield Static("A CSV with the columns id,name,groups and optionally photo; groups are separated by ;. "
                    "Nothing is written if a row is bad.", classes="note")
        yield Input(placeholder="path of the CSV file", id="path")
        yield from pin_fields(self.access)

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def submit(self) -> None:
        path = self.query_one("#path", Input).value.strip()
        if not path:
            self.error("type the path of the CSV file")
            return
        self.start_import(ImportRequest(path, self.pin()))

    def start_import(self, request: ImportRequest) -> None:
        """Photos in the roster are extracted, which takes a while: off the screen's thread, the dialog open."""
        if self.submit_to is None:
            self.dismiss(request)
            return
        self.query_one("#ok", Button).disabled = True
        self.query_one("#dialog-error", Static).update(Text(f"importing {request.path} ..."))
        self.run_worker(partial(self.run_import, request), thread=True, exclusive=True, exit_on_error=False)

    def run_import(self, request: ImportRequest) -> None:
        try:
            result = self.submit_to(request)
        except StationError as exc:
            self.app.call_from_thread(self.import_refused, str(exc))
            return
        self.app.call_from_thread(self.dismiss, result)

    def import_refused(self, text: str) -> None:
        self.query_one("#ok", Button).disabled = False
        self.refused(text)


class ExportScreen(Dialog):
    """Format and scope: the session shown, or a date range."""

    OK = "Export"

    def __init__(self, session_label: str, access: Access, submit: Submit | None = None) -> None:
        super().__init__(access, submit)
        self.session_label = session_label

    def title_text(self) -> str:
        return "Export attendance"

    def body(self) -> ComposeResult:
        with RadioSet(id="format"):
            yield RadioButton("CSV", value=True, id="csv")
            yield RadioButton("JSON", id="json")
        yield Checkbox("CSV for Excel (byte-order mark)", value=True, id="bom")
        yield Static(f"Session: {escape(self.session_label)}, or a date range:")
        yield Input(placeholder="from YYYY-MM-DD (optional)", id="from")
        yield Input(placeholder="to YYYY-MM-DD (optional)", id="to")
        yield from pin_fields(self.access)

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def submit(self) -> None:
        fmt = "json" if self.query_one("#json", RadioButton).value else "csv"
        try:
            start = parse_day(self.query_one("#from", Input).value)
            end = parse_day(self.query_one("#to", Input).value)
        except ValueError:
            self.error("dates as YYYY-MM-DD")
            return
        options = ExportOptions(fmt, self.query_one("#bom", Checkbox).value)
        self.finish(ExportRequest(options, start or end, end or start, self.pin()))


class MarkScreen(Dialog):
    """Manual mark of one person, with a reason; the camera's record stays beside it."""

    OK = "Mark"

    def __init__(self, person: str, access: Access, submit: Submit | None = None,
                 statuses: tuple[str, ...] = ("present", "late", "absent")) -> None:
        super().__init__(access, submit)
        self.person, self.statuses = person, statuses

    def title_text(self) -> str:
        return f"Mark {self.person}"

    def body(self) -> ComposeResult:
        with RadioSet(id="status"):  # present, late, absent, then the absence codes (excused, sick ...)
            for number, status in enumerate(self.statuses):
                yield RadioButton(status, value=number == 0, id=f"status-{status}")
        yield Input(placeholder="reason (required)", id="reason")
        yield from pin_fields(self.access)

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def submit(self) -> None:
        reason = self.query_one("#reason", Input).value.strip()
        if not reason:
            self.error("a reason is required")
            return
        status = next(s for s in self.statuses if self.query_one(f"#status-{s}", RadioButton).value)
        self.finish(MarkRequest(status, reason, self.pin()))


class EnrollScreen(Dialog):
    """Who (someone on the roster, or a newcomer), capture, look at the samples, then save.

    `capture` asks the station for a capture and returns its request id; the result comes back
    as a CaptureDone message posted to this screen. `describe` says whom a typed name or id means;
    `save` stores the samples: when it fails, the dialog stays open with the samples and says why.
    Both raise StationError with a message to show.
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+r", "capture", "Capture"),
                Binding("ctrl+s", "save", "Save")]

    def __init__(self, access: Access, capture: Callable[[], str], describe: Callable[[EnrollTarget], str],
                 save: Submit) -> None:
        super().__init__(access, save)
        self.request_capture = capture
        self.describe = describe
        self.request: str | None = None
        self.samples: tuple[CaptureSample, ...] = ()

    WIDE = True

    def title_text(self) -> str:
        return "Enroll from the camera"

    def body(self) -> ComposeResult:
        yield Input(placeholder="name, or the id of someone on the roster", id="name")
        with Horizontal(classes="fields"):
            yield Input(placeholder="newcomer's id (optional)", id="person-id")
            yield Input(placeholder="groups, separated by ; (optional)", id="groups")
        yield Static("", id="enroll-who")
        yield Static("Ask the person to look at the camera, then capture (3 s).", id="enroll-hint")
        with Horizontal(id="enroll-body"):
            yield Static("", id="thumb")
            table = DataTable(id="samples", cursor_type="row")
            table.add_columns("#", "Quality", "Size", "Sharpness", "Frontal")
            yield table
        yield from pin_fields(self.access)

    def foot(self) -> ComposeResult:
        yield Horizontal(Button("Capture", id="capture"), Button("Save", variant="primary", id="ok", disabled=True),
                         Button("Cancel", id="cancel"), classes="buttons")

    def target(self) -> EnrollTarget:
        text = self.query_one("#name", Input).value.strip()
        groups = tuple(g.strip() for g in self.query_one("#groups", Input).value.split(";") if g.strip())
        return EnrollTarget(text, self.query_one("#person-id", Input).value.strip(), groups)

    @on(Input.Changed, "#name, #person-id")  # the PIN and the groups do not change whom it is for
    def who_changed(self) -> None:
        target = self.target()
        self.query_one("#enroll-who", Static).update(Text(self.describe(target) if target.name else ""))

    @on(Input.Submitted)
    def field_submitted(self, event: Input.Submitted) -> None:
        """Enter captures; in the PIN field, once there are samples, it saves them."""
        if event.input.id == "pin" and self.samples:
            self.action_save()
        else:
            self.action_capture()

    @on(Button.Pressed, "#capture")
    def action_capture(self) -> None:
        if not self.target().name:
            self.error("type the person's name first")
            return
        try:
            self.request = self.request_capture()
        except StationError as exc:
            self.error(str(exc))
            return
        self.query_one("#capture", Button).disabled = True
        self.query_one("#enroll-hint", Static).update("capturing... keep looking at the camera")
        self.error("")

    @on(CaptureDone)
    def show_capture(self, message: CaptureDone) -> None:
        result = message.update.result
        if result.request != self.request:
            return  # not ours, or shown already
        self.request = None
        self.samples = result.samples
        self.query_one("#capture", Button).disabled = False
        table = self.query_one("#samples", DataTable)
        table.clear()
        for i, s in enumerate(self.samples, start=1):
            table.add_row(str(i), f"{s.quality:.2f}", f"{s.size} px", f"{s.sharpness:.0f}", f"{s.frontality:.2f}")
        self.query_one("#ok", Button).disabled = not self.samples
        if self.samples:
            self.query_one("#thumb", Static).update(halfblock(self.samples[0].photo_jpeg, width=12))
        hint = result.message or f"{len(self.samples)} samples; press Save to enroll {self.target().name}"
        if result.match and result.match.name not in (self.target().name, self.target().person_id):
            self.error(f"warning: this face already looks like {result.match.name} ({result.match.similarity:.2f})")
        self.query_one("#enroll-hint", Static).update(Text(hint))

    @on(Button.Pressed, "#ok")
    def action_save(self) -> None:
        if not self.samples:
            self.error("capture first (enter, or ctrl+r)")
            return
        self.finish(EnrollRequest(self.target(), self.samples, self.pin()))  # refused: the samples stay


@dataclass(frozen=True)
class VoidRequest:
    session_id: int
    reason: str
    pin: Secret


@dataclass(frozen=True)
class EditRequest:
    session_id: int
    changes: dict  # only the fields changed: name, group (None: everyone), late_after (None: nobody late)
    pin: Secret


def session_when(session) -> str:
    return f"{session.started_at:%Y-%m-%d %H:%M}"


def session_state(session) -> str:
    if session.voided:
        return "voided"
    return "running" if session.active else "done"


class PastSessionsScreen(Dialog):
    """All sessions; enter shows one in the session pane, x exports it, e edits it, v voids it.

    Voided sessions stay listed, greyed and marked "voided" (they are left out of reports).
    With `void` and `edit` callbacks (guarded station calls), those dialogs open over this list,
    which then shows the sessions again from `reload`."""

    BINDINGS = [Binding("escape", "cancel", "Close"), Binding("enter", "choose", "Show"),
                Binding("x", "export", "Export"), Binding("e", "edit", "Edit"), Binding("v", "void", "Void")]

    def __init__(self, sessions: list, reload: Callable[[], list] | None = None,
                 access: Callable[[], Access] | None = None, void: Submit | None = None,
                 edit: Submit | None = None, groups: list[str] | None = None) -> None:
        super().__init__()
        self.sessions = sessions
        self.reload, self.current_access = reload, access or Access
        self.void_with, self.edit_with, self.groups = void, edit, groups or []

    WIDE = True

    def title_text(self) -> str:
        return "Sessions (enter: show · x: export · e: edit · v: void · esc: close)"

    def body(self) -> ComposeResult:
        table = DataTable(id="sessions", cursor_type="row", zebra_stripes=True)
        table.add_columns("Id", "Name", "For", "Started", "Ended", "State")
        yield table
        yield Static("", id="sessions-note")

    def on_mount(self) -> None:
        super().on_mount()
        self.fill()

    def fill(self, select: int | None = None) -> None:
        table = self.query_one("#sessions", DataTable)
        table.clear()
        for s in self.sessions:
            ended = f"{s.ended_at:%Y-%m-%d %H:%M}" if s.ended_at else "running"
            style = "dim strike" if s.voided else ""
            cells = (str(s.id), printable(s.name), printable(s.audience), session_when(s), ended, session_state(s))
            table.add_row(*(Text(c, style=style) for c in cells), key=str(s.id))
        if select is not None and str(select) in table.rows:
            table.move_cursor(row=table.get_row_index(str(select)))

    def foot(self) -> ComposeResult:
        yield Horizontal(Button("Show", variant="primary", id="show"), Button("Export", id="export"),
                         Button("Edit", id="edit"), Button("Void", id="void"),
                         Button("Close", id="cancel"), classes="buttons")

    @on(Button.Pressed, "#show")
    def show_pressed(self) -> None:
        self._choose("show")

    @on(Button.Pressed, "#export")
    def export_pressed(self) -> None:
        self._choose("export")

    def _current(self) -> int | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        return int(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    def _session(self):
        session_id = self._current()
        session = next((s for s in self.sessions if s.id == session_id), None)
        if session is None:
            self.error("no session to choose")
        return session

    @on(DataTable.RowSelected)
    def action_choose(self) -> None:
        self._choose("show")

    def action_export(self) -> None:
        self._choose("export")

    def _choose(self, action: str) -> None:
        session_id = self._current()
        self.dismiss(None if session_id is None else HistoryChoice(action, session_id))

    @on(Button.Pressed, "#void")
    def action_void(self) -> None:
        session = self._session()
        if session is None or self.void_with is None:
            return
        if session.voided:
            self.error(f"session {session.id} was voided by {session.voided_by}: {session.void_reason}")
            return
        if session.active:
            self.error(f"session {session.id} is running; stop it (s) before voiding it")
            return
        self.app.push_screen(VoidScreen(session, self.current_access(), self.void_with), self.voided)

    def voided(self, session) -> None:
        if session:
            self.refill(session.id)
            self.note(f"session {session.id} {session.name!r} voided: kept, and left out of reports")

    @on(Button.Pressed, "#edit")
    def action_edit(self) -> None:
        session = self._session()
        if session is None or self.edit_with is None:
            return
        screen = EditSessionScreen(session, self.groups, self.current_access(), self.edit_with)
        self.app.push_screen(screen, partial(self.edited, session))

    def edited(self, session, edit) -> None:
        if edit is None:
            return
        self.refill(session.id)
        if not edit.changed:
            self.note(f"session {session.id}: nothing changed")
            return
        self.note(f"session {session.id}: {len(edit.changed)} changes")
        lines = [("", line) for line in edit.changed]
        self.app.push_screen(DetailScreen(f"Session {session.id} edited: what changed", lines))

    def refill(self, select: int) -> None:
        if self.reload is not None:
            self.sessions = self.reload()
        self.fill(select)

    def note(self, text: str) -> None:
        self.error("")
        self.query_one("#sessions-note", Static).update(Text(text, style="bold"))


class VoidScreen(Dialog):
    """Void a finished session: kept with who voided it and why, left out of reports."""

    OK = "Void"

    def __init__(self, session, access: Access, submit: Submit | None = None) -> None:
        super().__init__(access, submit)
        self.session = session

    def title_text(self) -> str:
        return f"Void session {self.session.id} {self.session.name!r} ({session_when(self.session)})"

    def body(self) -> ComposeResult:
        yield Static("The session is kept, with who voided it and why, and left out of reports and exports "
                     "of a date range.", classes="note")
        yield Input(placeholder="reason (required)", id="void-reason")
        yield from pin_fields(self.access)

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def submit(self) -> None:
        reason = " ".join(self.query_one("#void-reason", Input).value.split())
        if not reason:
            self.error("a reason is required")
            return
        self.finish(VoidRequest(self.session.id, reason, self.pin()))


class EditSessionScreen(Dialog):
    """Correct a past session: its name, who it was for, late after; statuses are worked out again."""

    OK = "Save"

    def __init__(self, session, groups: list[str], access: Access, submit: Submit | None = None) -> None:
        super().__init__(access, submit)
        self.session = session
        self.groups = list(groups)
        if session.group and session.group not in self.groups:
            self.groups.append(session.group)

    def title_text(self) -> str:
        return f"Edit session {self.session.id} ({session_when(self.session)})"

    def body(self) -> ComposeResult:
        late = self.session.late_after_minutes
        options = [("everyone", EVERYONE)] + [(g, g) for g in self.groups]
        yield Static("name:", classes="label")
        yield Input(self.session.name, placeholder="session name", id="edit-name")
        yield Static("late after N minutes (empty: nobody is late):", classes="label")
        yield Input("" if late is None else f"{late:g}", placeholder="late after N minutes", id="edit-late")
        yield Static("for (enter opens the list of groups):", classes="label")
        yield Select(options, value=self.session.group or EVERYONE, allow_blank=False, id="edit-group",
                     prompt="for")
        yield from pin_fields(self.access)

    def first_field(self):
        return self.query_one("#edit-name", Input)  # filled in: typing starts at the top, not at the PIN

    def changes(self) -> dict:
        """The fields that differ from the session; ValueError with the words to show."""
        changes: dict = {}
        name = " ".join(self.query_one("#edit-name", Input).value.split())
        if not name:
            raise ValueError("the session needs a name")
        if name != self.session.name:
            changes["name"] = name
        try:
            late = parse_minutes(self.query_one("#edit-late", Input).value)
        except ValueError:
            raise ValueError("late after: a number of minutes, 0 or more (or empty: nobody is late)") from None
        if late != self.session.late_after_minutes:
            changes["late_after"] = late
        group = self.query_one("#edit-group", Select).value
        group = None if group == EVERYONE else str(group)
        if group != self.session.group:
            changes["group"] = group
        return changes

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def submit(self) -> None:
        try:
            changes = self.changes()
        except ValueError as exc:
            self.error(str(exc))
            return
        if not changes:
            self.error("nothing changed: change the name, the group or late after")
            return
        self.finish(EditRequest(self.session.id, changes, self.pin()))


class ReportScreen(Dialog):
    """Attendance over a date range: a chart per session and the people below a chosen rate."""

    BINDINGS = [Binding("escape", "cancel", "Close")]

    def __init__(self, build: Callable[[date, date, str | None], Report], groups: list[str], today: date) -> None:
        super().__init__()
        self.build, self.groups, self.today = build, groups, today

    WIDE = True

    def title_text(self) -> str:
        return "Attendance report (enter: update, esc: close)"

    def body(self) -> ComposeResult:
        options = [("everyone", EVERYONE)] + [(g, g) for g in self.groups]
        yield Static("from, to, and the rate (%) under which people are listed:")
        with Horizontal(classes="fields"):
            yield Input(str(self.today - timedelta(days=30)), placeholder="from YYYY-MM-DD", id="from")
            yield Input(str(self.today), placeholder="to YYYY-MM-DD", id="to")
            yield Input("80", placeholder="rate %", id="rate")
        yield Select(options, value=EVERYONE, allow_blank=False, id="group", prompt="for")
        yield Static("", id="below-title")  # the list first: on a small terminal the chart scrolls, not the names
        table = DataTable(id="below", cursor_type="row", zebra_stripes=True)
        table.add_columns("Id", "Name", "Expected", "Came", "Rate")
        yield table
        yield PlotextPlot(id="chart")

    def foot(self) -> ComposeResult:
        yield Horizontal(Button("Close", id="cancel"), classes="buttons")

    def on_mount(self) -> None:
        super().on_mount()
        self.update_report()

    @on(Input.Submitted)
    @on(Select.Changed)
    def update_report(self) -> None:
        try:
            start = parse_day(self.query_one("#from", Input).value) or self.today - timedelta(days=30)
            end = parse_day(self.query_one("#to", Input).value) or self.today
            rate = float(self.query_one("#rate", Input).value or 80) / 100
        except ValueError:
            self.error("dates as YYYY-MM-DD, the rate as a number of percent")
            return
        group = self.query_one("#group", Select).value
        try:
            report = self.build(start, end, None if group == EVERYONE else group)
        except Exception as exc:  # noqa: BLE001 - shown in the dialog, the station keeps running
            self.error(str(exc))
            return
        self.error("")
        self.show(report, rate)

    def show(self, report: Report, rate: float) -> None:
        plot = self.query_one("#chart")
        plt = plot.plt
        plt.clear_data()
        rates = [round(100 * (line.rate or 0)) for line in report.sessions]
        labels = [f"{line.session.started_at:%m-%d} {line.session.name}"[:14] for line in report.sessions]
        if rates:
            plt.bar(labels, rates)
        plt.title(f"attended, % per session ({len(rates)} sessions)")
        plt.ylim(0, 100)
        plot.refresh()
        below = report.below(rate)
        self.query_one("#below-title", Static).update(f"{len(below)} people below {rate:.0%}")
        table = self.query_one("#below", DataTable)
        table.clear()
        for line in below:
            table.add_row(line.person.id, line.person.name, str(line.counts.total), str(line.counts.attended),
                          f"{line.rate:.0%}")


class DetailScreen(Dialog):
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


def when(value) -> str:
    return f"{value.astimezone():%Y-%m-%d %H:%M:%S}" if value else ""


def person_details(person: Person, item: PersonStatus | None, session) -> list[tuple[str, str]]:
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


def camera_line(checkin) -> str:
    text = f"arrived {when(checkin.time)}"
    if checkin.similarity is not None:
        text += f", similarity {checkin.similarity:.2f}"
    if checkin.station:
        text += f", at {checkin.station}"
    if checkin.last_seen:
        text += f", last seen {when(checkin.last_seen)}"
    return text


def help_text(bindings) -> str:
    """The help screen's text, from the main screen's key bindings (their tooltips say more)."""
    lines = []
    for binding in bindings:
        key = binding.key_display or KEY_NAMES.get(binding.key, binding.key)
        lines.append(f"  [b]{escape(key):8}[/b] {escape(binding.tooltip or binding.description)}")
    lines.append(f"  [b]{'ctrl+p':8}[/b] all commands")
    lines.append(f"  [b]{'enter':8}[/b] a person's details, a mark's reason in full (roster, session)")
    lines += ["", "Check-ins are saved before they appear. A running session survives a restart."]
    return "\n".join(lines)


KEY_NAMES = {"slash": "/", "question_mark": "?"}


class HelpScreen(Dialog):
    BINDINGS = [Binding("escape", "close", "Close"), Binding("question_mark", "close", "Close")]

    def __init__(self, bindings) -> None:
        super().__init__()
        self.text = help_text(bindings)

    def action_close(self) -> None:
        self.app.pop_screen()  # installed once and kept, so it is popped rather than dismissed

    WIDE = True

    def title_text(self) -> str:
        return "Keys (↑ ↓ page up/down: scroll · esc: close)"

    def body(self) -> ComposeResult:
        yield Static(self.text)

    def foot(self) -> ComposeResult:
        yield Horizontal(Button("Close", id="close"), classes="buttons")

    @on(Button.Pressed, "#close")
    def close_pressed(self) -> None:
        self.action_close()
