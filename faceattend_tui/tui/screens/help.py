"""The keys, from the main screen's bindings (their tooltips say more)."""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, Static

from faceattend_tui.tui.screens.base import Dialog, DialogBody

KEY_NAMES = {"slash": "/", "question_mark": "?"}


def help_text(bindings: Iterable[Binding]) -> Group:
    """The help screen's text, from the main screen's key bindings (their tooltips say more): a key, and
    what it does in a column of its own (a long line wraps under the words, not under the keys)."""
    keys = Table.grid(padding=(0, 1))
    keys.add_column(width=8, style="bold", justify="right")
    keys.add_column(ratio=1)
    rows = [(binding.key_display or KEY_NAMES.get(binding.key, binding.key), binding.tooltip or binding.description)
            for binding in bindings]
    rows += [("ctrl+p", "all commands"), ("enter", "a person's details, a mark's reason in full (roster, session)"),
             ("ctrl+r", "enrolling: capture again (the person at the camera now)"),
             ("ctrl+s", "enrolling: save the samples")]
    for key, what in rows:
        keys.add_row(Text(key), Text(what))  # as written: a "[" in a tooltip is no markup
    return Group(keys, "", "Check-ins are saved before they appear. A running session survives a restart.")


class HelpScreen(Dialog[None]):
    BINDINGS = [Binding("escape", "close", "Close"), Binding("question_mark", "close", "Close")]

    def __init__(self, bindings: Iterable[Binding]) -> None:
        super().__init__()
        self.text = help_text(bindings)

    def action_close(self) -> None:
        self.app.pop_screen()  # installed once and kept, so it is popped rather than dismissed

    def on_screen_resume(self) -> None:
        self.query_one(DialogBody).scroll_home(animate=False)  # opened again: from the first keys

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
