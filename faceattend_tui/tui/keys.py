"""Keys typed fast act in the order they were typed.

Over a laggy SSH link a whole burst of keys arrives at once ("s", "Maths", Tab, a PIN). Textual hands a
key to the focused widget and runs a key's binding only once the key has come back up from it, by which
time the keys typed after it may have been read: a dialog opened too late for the text typed after its
key, a backspace applied after the characters that followed it, an arrow applied after the command typed
next (which then acted on the row above). Here a key's binding runs as the key is read, once the keys
sent to the focused widget before it are in; and keys typed while a list dialog reads what it lists wait
for its rows.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, ClassVar

from textual import events
from textual.app import App
from textual.binding import Binding
from textual.widgets import Input

from faceattend_tui.tui.screens import Dialog

if TYPE_CHECKING:
    from textual.message_pump import MessagePump
    from textual.screen import Screen

KEYS_CATCH_UP = 1.0  # seconds a key waits at most for the keys typed before it to reach the focused widget
UNHELD = ("escape", "ctrl+q")  # keys that go at once even while a dialog is busy


class KeysInOrder(App[None]):
    """The station's keys, each acting in the order typed (see the module's docstring)."""

    KEY_ACTIONS: ClassVar[dict[str, str]] = {}  # what a main-screen key does

    def __init__(self) -> None:
        super().__init__()
        self.held_keys: list[events.Key] | None = None  # typed while a list dialog reads its rows
        self.holding_for: Dialog[object] | None = None

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not event.is_forwarded:
            if isinstance(self.screen, Dialog):
                self.screen.key_typed()
            if await self.waits_for_rows(event):
                return
            command = self.command_at_once(event.key)
            if command is not None:
                await self.caught_up()
                await self.run_action(*command)
                return
            if await self.bound_in_order(event):
                return
        await super().on_event(event)

    async def waits_for_rows(self, event: events.Key) -> bool:
        """Whether the key waits, with those before it, while the list dialog on top is still to show its
        rows ("hx" exported nothing, "hv" voided nothing, Enter on a person then "c" lost the c). Escape and
        Ctrl+Q are never held: they go at once and drop what waited."""
        if self.held_keys is not None and (self.screen is not self.holding_for or not self.holding_for.busy):
            await self.release_held()  # the dialog closed or settled meanwhile
        if event.key in UNHELD:
            self.held_keys, self.holding_for = None, None
            return False
        if self.held_keys is None:
            screen = self.screen
            if not (isinstance(screen, Dialog) and screen.busy):
                return False
            self.held_keys, self.holding_for = [], screen
            screen.when_settled(self.release_held)
        self.held_keys.append(event)
        return True

    async def release_held(self) -> None:
        keys, self.held_keys, self.holding_for = self.held_keys or [], None, None
        for key in keys:
            await self.on_event(key)
            await self.caught_up(self.screen)  # a dialog the key opened is mounted and focused
            await self.caught_up()

    def command_at_once(self, key: str) -> tuple[str, App[None] | Screen[object]] | None:
        """The action a key runs at once, and where; None where the key is typed or goes its usual way."""
        if isinstance(self.focused, Input):
            return None
        if len(self.screen_stack) == 1:
            return (self.KEY_ACTIONS[key], self) if key in self.KEY_ACTIONS else None
        screen = self.screen
        for binding in screen.BINDINGS:  # a dialog's letter keys; Enter and the arrows stay the list's
            if isinstance(binding, Binding) and len(key) == 1 and binding.key == key:
                return (binding.action, screen) if screen.check_action(binding.action, ()) is not False else None
        return None

    async def bound_in_order(self, event: events.Key) -> bool:
        """A key bound to an action (backspace, an arrow, Enter) runs its binding now, after the keys typed
        before it and before those typed after it ("Physcs", two backspaces, "ics" saved "Physcsi"; "Down d"
        removed the person above the one moved to). Printable keys go their usual way: typed, or a command."""
        if self.focused is None or event.is_printable:
            return False
        await self.caught_up()
        active = self.screen.active_bindings.get(event.key)
        if active is None or active.binding.priority:  # unbound, or Tab and the like: their usual way
            return False
        return await self.run_action(active.binding.action, active.node)

    async def caught_up(self, widget: MessagePump | None = None) -> None:
        """Wait until the messages sent to `widget` (the focused one) before now are handled (a second at most)."""
        widget = widget if widget is not None else self.focused
        typed = asyncio.Event()
        if widget is not None and widget.call_later(typed.set):
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(typed.wait(), KEYS_CATCH_UP)
