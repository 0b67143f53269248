"""Import a roster CSV: id,name,groups and optionally photo (a path next to the file)."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.widgets import Button, Input, Static

from faceattend_tui.tui.screens.base import Dialog, Secret, pin_fields


@dataclass(frozen=True)
class ImportRequest:
    path: str
    pin: Secret


class ImportScreen(Dialog[ImportRequest]):
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
        path = self.required("path", "type the path of the CSV file")
        if path is None:
            return
        # Photos in the roster are extracted, which takes a while: the dialog stays open meanwhile.
        self.finish(ImportRequest(path, self.pin()), working=f"importing {path} ...")
