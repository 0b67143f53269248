"""Import a roster CSV: id,name,groups and optionally photo (a path next to the file)."""

from __future__ import annotations

from dataclasses import dataclass, field

from textual import on
from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import Button, Input, Static

from faceattend_tui.station import PhotoWatch
from faceattend_tui.tui.screens.base import Dialog, Secret, pin_fields


@dataclass(frozen=True)
class ImportRequest:
    path: str
    pin: Secret
    watch: PhotoWatch = field(default_factory=PhotoWatch)  # the photos read so far; Escape stops them


class ImportScreen(Dialog[ImportRequest]):
    """A roster CSV to import: id,name,groups and optionally photo (a path next to the file)."""

    OK = "Import"

    class PhotosRead(Message):
        def __init__(self, done: int, total: int) -> None:
            super().__init__()
            self.done, self.total = done, total

    photos: PhotoWatch | None = None  # while the photos of a request are read

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
        path = self.required("path", "type the path of the CSV file")
        if path is None:
            return
        # Photos in the roster are extracted, which takes a while: the dialog stays open meanwhile.
        self.photos = PhotoWatch(read=self.tell_photos_read)
        self.finish(ImportRequest(path, self.pin(), self.photos), working=f"importing {path} ...")

    def tell_photos_read(self, done: int, total: int) -> None:  # in the station's thread
        self.post_message(self.PhotosRead(done, total))

    @on(PhotosRead)
    def photos_read(self, message: PhotosRead) -> None:
        message.stop()
        if not self.working or self.photos is None:
            return
        stopping = self.photos.stop.is_set()
        then = "stopping after this person's photos ..." if stopping else "Escape stops after this person"
        self.working_text(f"reading photos: {message.done} of {message.total} ({then})")

    def action_cancel(self) -> None:
        if self.working and self.photos is not None:  # the people are in; their photos stop between two people
            self.photos.stop.set()
            self.working_text("stopping after this person's photos ...")
            return
        super().action_cancel()

    def refused(self, text: str, about_pin: bool = True) -> None:
        self.photos = None
        super().refused(text, about_pin)
