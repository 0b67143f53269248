"""The keys, from the main screen's bindings (their tooltips say more)."""

from __future__ import annotations

from collections.abc import Iterable

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, Static

from faceattend_tui.tui.screens.base import Dialog, DialogBody

KEY_NAMES = {"slash": "/", "question_mark": "?"}


def help_text(bindings: Iterable[Binding]) -> str:
    """The help screen's text, from the main screen's key bindings (their tooltips say more)."""
    lines = []
    for binding in bindings:
        key = binding.key_display or KEY_NAMES.get(binding.key, binding.key)
        lines.append(f"  [b]{escape(key):8}[/b] {escape(binding.tooltip or binding.description)}")
    lines.append(f"  [b]{'ctrl+p':8}[/b] all commands")
    lines.append(f"  [b]{'enter':8}[/b] a person's details, a mark's reason in full (roster, session)")
    lines.append(f"  [b]{'ctrl+r':8}[/b] enrolling: capture again (the person at the camera now)")
    lines.append(f"  [b]{'ctrl+s':8}[/b] enrolling: save the samples")
    lines += ["", "Check-ins are saved before they appear. A running session survives a restart."]
    return "\n".join(lines)


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
