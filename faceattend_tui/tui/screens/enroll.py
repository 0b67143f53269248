"""Enroll from the camera: who, capture, look at the samples, then save."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from statistics import median

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, DataTable, Input, Static

from faceattend_tui.station import BLURRED, CaptureResult, CaptureSample, EnrollTarget, StationError, Whom, printable
from faceattend_tui.text import plural
from faceattend_tui.tui.messages import CaptureDone
from faceattend_tui.tui.screens.base import Access, Dialog, Pin, RowTable, Secret, StaffName, Submit, pin_fields
from faceattend_tui.tui.thumbnail import halfblock


@dataclass(frozen=True)
class EnrollRequest:
    target: EnrollTarget
    samples: tuple[CaptureSample, ...]
    pin: Secret


class EnrollScreen(Dialog[EnrollRequest]):
    """Who (someone on the roster, or a newcomer), capture, look at the samples, then save.

    `capture` asks the station for a capture and returns its request id; the result comes back
    as a CaptureDone message posted to this screen. `describe` says whom a typed name or id means;
    `save` stores the samples: when it fails, the dialog stays open with the samples and says why.
    Both raise StationError with a message to show.
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+r", "capture", "Capture"),
                Binding("ctrl+s", "save", "Save")]

    def __init__(self, access: Access, capture: Callable[[], str], describe: Callable[[EnrollTarget], Whom],
                 save: Submit[EnrollRequest]) -> None:
        super().__init__(access, save)
        self.request_capture = capture
        self.describe = describe
        self.whom = Whom("")  # as last read: an "already looks like" about the very person meant is no warning
        self.whom_for: tuple[str, str] = ("", "")  # the name and id `whom` was read for
        self.request: str | None = None
        self.samples: tuple[CaptureSample, ...] = ()
        self.captured: CaptureResult | None = None  # the capture the samples came from
        self.confirmed: tuple[object, ...] = ()  # whom and the warnings Save was pressed once under: a second saves
        self.save_when_captured = False  # Enter pressed in the PIN field while capturing

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
            table: DataTable[str] = RowTable(id="samples", cursor_type="row")
            table.add_columns("#", "Quality", "Size", "Sharpness", "Frontal")
            yield table
        yield from pin_fields(self.access)

    def foot(self) -> ComposeResult:
        keys = Static(Text("^r capture again · ^s save · esc cancel", style="dim"), classes="keys")
        yield Horizontal(Button("Capture", id="capture"), Button("Save", variant="primary", id="ok", disabled=True),
                         Button("Cancel", id="cancel"), keys, classes="buttons")

    def target(self) -> EnrollTarget:
        text = self.query_one("#name", Input).value.strip()
        groups = tuple(g.strip() for g in self.query_one("#groups", Input).value.split(";") if g.strip())
        return EnrollTarget(text, self.query_one("#person-id", Input).value.strip(), groups)

    @on(Input.Changed, "#name, #person-id")  # the PIN and the groups do not change whom it is for
    def who_changed(self) -> None:
        """Whom the typed name or id means, read in a thread (the roster waits for the station's lock):
        only the answer to the latest keystroke is shown."""
        target = self.target()
        if not target.name:
            self.drop_reads(self.show_who)
            self.show_who((("", target.person_id), Whom("")))
            return
        self.read(partial(self.read_who, target), self.show_who, "the roster", quiet=True)

    def read_who(self, target: EnrollTarget) -> tuple[tuple[str, str], Whom]:
        return (target.name, target.person_id), self.describe(target)

    def show_who(self, read: tuple[tuple[str, str], Whom]) -> None:
        self.whom_for, self.whom = read
        whom = self.whom
        self.query_one("#enroll-who", Static).update(Text(printable(whom.text)))  # a pasted name may hold controls
        if self.captured is not None:
            self.show_hint()  # the warnings depend on whom the samples are for

    @on(Input.Submitted)
    def field_submitted(self, event: Input.Submitted) -> None:
        """Enter captures; once there are samples, it saves them from the PIN field and moves on from the
        others (taking them again, with whoever is at the camera now, is ctrl+r or the button)."""
        if self.request is not None:  # capturing: Enter from the PIN, typed ahead, saves once the samples come
            self.save_when_captured = event.input.id == "pin"
        elif not self.samples:
            self.action_capture()
        elif event.input.id == "pin":
            self.action_save()
        else:
            self.focus_next()

    @on(Button.Pressed, "#capture")
    def action_capture(self) -> None:
        if self.working:
            return  # the samples are being saved
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
        self.focus_credentials()  # keys typed meanwhile (a PIN made ready) go there, never into the name

    @on(CaptureDone)
    def show_capture(self, message: CaptureDone) -> None:
        result = message.update.result
        if result.request != self.request:
            return  # not ours, or shown already
        self.request, self.captured, self.confirmed = None, result, ()
        self.samples = result.samples
        self.query_one("#capture", Button).disabled = False
        table = self.query_one("#samples", DataTable)
        table.clear()
        for i, s in enumerate(self.samples, start=1):
            table.add_row(str(i), f"{s.quality:.2f}", f"{s.size} px", f"{s.sharpness:.0f}", f"{s.frontality:.2f}")
        self.query_one("#ok", Button).disabled = not self.samples
        if self.samples:
            self.query_one("#thumb", Static).update(halfblock(self.samples[0].photo_jpeg, width=12))
        self.show_hint()
        save, self.save_when_captured = self.save_when_captured, False
        if self.samples:
            self.focus_credentials()
            if save:
                self.action_save()

    def show_hint(self) -> None:
        """What the capture gave, under its warnings (in yellow); whom Save is for is the line above, which
        follows the name field: never said twice, never stale."""
        result = self.captured
        if result is None:
            return
        hint = Text(result.message or f"{plural(len(self.samples), 'sample')}; press Save to keep them as said above")
        for warning in self.warnings():  # on the hint line: a refusal written on the error line leaves it in sight
            hint = Text.assemble((f"warning: {warning}", "bold yellow"), "\n", hint)
        self.query_one("#enroll-hint", Static).update(hint)

    def warnings(self) -> tuple[str, ...]:
        """Why these samples may not be of the person meant: Save asks to be pressed twice then."""
        result, whom = self.captured, self.whom
        if result is None or not self.samples:
            return ()
        found: list[str] = []
        if result.crowded:
            found.append("more than one face was in view; these samples are of the largest (the nearest): "
                         "check the picture")
        if result.others:
            found.append(f"someone else stood alone in front of the camera in {result.others} of the pictures: "
                         "these samples are of one of the two; check the picture, or capture again")
        cut = sum(sample.cut for sample in self.samples)
        if cut:
            found.append(f"the face runs off the edge of the picture in {plural(cut, 'sample')}: part of it is "
                         "missing; have them stand in the middle, and capture again")
        blurred = median(sample.sharpness for sample in self.samples)
        if blurred < BLURRED:
            found.append(f"the pictures are blurred or dark (sharpness {blurred:.0f}; a sharp face gives several "
                         "hundred): more light, or hold still, and capture again")
        match = result.match
        if match and not (match.person_id and match.person_id == whom.person_id):
            found.append(f"this face already looks like {match.name} ({match.similarity:.2f})")
        elif whom.person_id and whom.enrolled and match is None:
            found.append("this face is not recognised as the person above: their enrolled photos do not "
                         "match it; is it them?")
        return tuple(found)
    def focus_credentials(self) -> None:
        """Samples to save: the cursor goes to what saving needs (brought into sight at 80x24), the
        staff name when it is empty, else the PIN."""
        names = [name for name in self.query(StaffName) if not name.value.strip()]
        pins = [pin for pin in self.query(Pin) if pin.display]
        for field in (names or pins)[:1]:
            field.focus()

    def refused(self, text: str, about_pin: bool = True) -> None:
        super().refused(text, about_pin)
        self.whom_for = ("", "")  # the roster may have changed: whom, read again (at the latest on Save)
        self.who_changed()

    @on(Button.Pressed, "#ok")
    def action_save(self) -> None:
        if self.working:
            return
        if not self.samples:
            self.error("capture first (enter, or ctrl+r)")
            return
        target = self.target()
        if self.whom_for != (target.name, target.person_id):  # typed since the last answer: whom, read now
            self.drop_reads(self.show_who)
            self.show_who(self.read_who(target))
        warnings = self.warnings()
        if warnings and (self.whom_for, warnings) != self.confirmed:
            self.confirmed = (self.whom_for, warnings)
            self.error("read the warning above: press Save (ctrl+s) again to keep these samples anyway")
            return
        meant = replace(self.target(), meant=self.whom.person_id)  # refused if the roster says otherwise by then
        self.finish(EnrollRequest(meant, self.samples, self.pin()))  # refused: the samples stay
