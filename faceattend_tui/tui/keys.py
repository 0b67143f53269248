"""Keys typed fast act in the order they were typed.

Over a laggy SSH link a whole burst of keys arrives at once ("s", "Maths", Tab, a PIN). Textual hands a
key to the focused widget and runs a key's binding only once the key has come back up from it, by which
time the keys typed after it may have been read: a dialog opened too late for the text typed after its
key, a backspace applied after the characters that followed it, an arrow applied after the command typed
next (which then acted on the row above), a list opened by Enter taking the focus after the arrow meant
for it. Here each key waits its turn: until what the keys before it set going is done (the widgets'
messages, then what those asked of the app, such as a change of focus); its binding then runs as the
key is read, tried from the focused widget out as Textual does; and keys typed while a list dialog reads
what it lists wait for its rows, those typed while the station answers a dialog for its answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections import deque
from typing import TYPE_CHECKING, ClassVar

from textual import events
from textual.app import App
from textual.await_complete import AwaitComplete
from textual.binding import Binding
from textual.command import CommandPalette
from textual.widgets import Input

from faceattend_tui.text import JOINERS
from faceattend_tui.tui.screens import Dialog

if TYPE_CHECKING:
    from textual.message_pump import MessagePump
    from textual.screen import Screen

KEYS_CATCH_UP = 1.0  # seconds a key waits at most for the keys typed before it to reach the focused widget
UNHELD = ("escape", "ctrl+q")  # keys that go at once even while a dialog is busy
TYPED_AHEAD_FOR = 10.0  # seconds: keys held longer for a station's answer were not typed ahead for what follows


class Palette(CommandPalette):
    """Textual's command palette, where a page key read before its list is laid out does nothing (ctrl+p
    then PageUp in one burst ended the station with a KeyError inside Textual)."""

    def _action_command_list(self, action: str) -> None:
        with contextlib.suppress(KeyError):
            super()._action_command_list(action)

    def dismiss(self, result: None = None) -> AwaitComplete:
        """Close the palette, never the screen under it (a double click outside it closed it twice: the main
        screen's turn ended the station)."""
        return super().dismiss(result) if self.is_active else AwaitComplete.nothing()


ALT_LETTER = re.compile(r"alt\+(shift\+)?[a-z0-9]")


def escape_then(event: events.Key) -> list[events.Key]:
    """Escape and the key typed after it, read in one go (a slow SSH link), arrive as Alt+key: the station
    binds no Alt keys, so they are the two keys typed (else the letter went into a dialog's field and the
    Escape that was to close it was lost)."""
    if not ALT_LETTER.fullmatch(event.key) or not event.character or len(event.character) != 1:
        return []
    return [events.Key("escape", "\x1b"), events.Key(event.character, event.character)]


class KeysInOrder(App[None]):
    """The station's keys, each acting in the order typed (see the module's docstring)."""

    KEY_ACTIONS: ClassVar[dict[str, str]] = {}  # what a main-screen key does

    def __init__(self) -> None:
        super().__init__()
        self.held_keys: list[events.Key] | None = None  # typed while a dialog is busy (see `held_while_busy`)
        self.holding_for: Dialog[object] | None = None
        self.held_for_answer = False  # held while the station had the dialog's request
        self.held_since = 0.0
        self.typed: deque[events.Key] = deque()  # read, waiting for their turn
        self.in_turn: events.Key | None = None

    def action_command_palette(self) -> None:
        if self.use_command_palette and not any(isinstance(s, CommandPalette) for s in self.screen_stack):
            self.push_screen(Palette(id="--command-palette"))

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not event.is_forwarded and (keys := escape_then(event)):
            for key in keys:
                await self.on_event(key)
            return
        if isinstance(event, events.Key) and not event.is_forwarded and event is not self.in_turn:
            if not self.typed and event.is_printable and isinstance(self.focused, Input):
                await self.handle(event)  # text typed into a field: nothing set going before it to wait for
                return
            self.typed.append(event)  # its turn comes after what the keys before it asked the app to do
            if len(self.typed) == 1:
                self.call_later(self.next_key)
            return
        await self.handle(event)

    async def next_key(self) -> None:
        """The oldest key read waits for what the keys before it set going (a list opened by Enter takes the
        focus a moment later, and the arrow after it is the list's; a group picked gives the focus back to
        its box before Tab moves on): the widgets' messages, then what those asked the app to do."""
        await self.caught_up()
        self.call_later(self.key_in_turn)

    async def key_in_turn(self) -> None:
        self.in_turn = self.typed[0]
        try:
            await self.on_event(self.in_turn)
        finally:
            self.in_turn = None
            self.typed.popleft()
            if self.typed:
                self.call_later(self.next_key)

    async def handle(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not event.is_forwarded:
            if isinstance(self.screen, Dialog):
                self.screen.key_typed()
            if await self.held_while_busy(event):
                return
            command = self.command_at_once(event.key)
            if command is not None:
                await self.caught_up()
                await self.run_action(*command)
                return
            if await self.bound_in_order(event):
                return
            if self.joiner_typed(event):
                return
        await super().on_event(event)

    def joiner_typed(self, event: events.Key) -> bool:
        """A zero-width joiner or non-joiner typed into a field (Shift+Space on a Persian keyboard: علی‌رضا):
        a field takes only printable keys, and these are not, so a name typed was another spelling."""
        if not (event.character and event.character in JOINERS and isinstance(self.focused, Input)):
            return False
        field = self.focused
        if field.selection.is_empty:
            field.insert_text_at_cursor(event.character)
        else:
            field.replace(event.character, *field.selection)
        return True

    async def held_while_busy(self, event: events.Key) -> bool:
        """Whether the key waits, with those before it, while the dialog on top is busy: a list still to show
        its rows ("hx" exported nothing, "hv" voided nothing, Enter on a person then "c" lost the c), or a
        request with the station (two marks typed in one burst went both to the first person, or the second
        one's keys opened other dialogs, a PIN landing in a visible field). Escape and Ctrl+Q are never
        held: they go at once and drop what waited."""
        if self.held_keys is not None and (self.screen is not self.holding_for or not self.holding_for.busy):
            await self.release_held()  # the dialog closed or settled meanwhile
        if event.key in UNHELD:
            self.held_keys, self.holding_for = None, None
            return False
        if self.held_keys is None:
            screen = self.screen
            if not (isinstance(screen, Dialog) and screen.busy):
                return False
            self.held_keys, self.holding_for, self.held_for_answer = [], screen, screen.working
            self.held_since = time.monotonic()
            screen.when_settled(self.release_held)
        self.held_keys.append(event)
        return True

    async def release_held(self) -> None:
        """The keys held go on in order. Those held for an answer are dropped, and this said, where it left the
        dialog open (a refusal) or was long in coming (pressed while a roster import ran, not typed ahead)."""
        keys, held_for = self.held_keys or [], self.holding_for
        self.held_keys, self.holding_for = None, None
        if keys and self.held_for_answer and held_for is not None:
            if held_for is self.screen:
                held_for.keys_dropped(len(keys))
                return
            if time.monotonic() - self.held_since > TYPED_AHEAD_FOR:
                self.notify(f"the {len(keys)} keys pressed while the station was busy were not used",
                            severity="warning")
                return
        for key in keys:
            await self.handle(key)
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
        # as Textual tries them, from the focused widget out: the reason field's arrows (a scroll that does
        # nothing there) give way to the mark dialog's, which choose the status
        bound = [(node, binding) for node, bindings in self.screen._modal_binding_chain  # noqa: SLF001
                 for binding in bindings.key_to_bindings.get(event.key, ())]
        if not bound or any(binding.priority for _, binding in bound):  # Tab and the like: their usual way
            return False
        for node, binding in bound:
            if await self.run_action(binding.action, node):
                return True
        return False

    async def caught_up(self, widget: MessagePump | None = None) -> None:
        """Wait until the messages sent to `widget` before now are handled (a second at most each). Without
        one: those of the focused widget, then of each widget around it out to the screen, which take what
        it passes on (a group picked from its list reaches the list's select box so)."""
        if widget is not None:
            await self._caught_up(widget)
            return
        focused = self.focused
        for node in focused.ancestors_with_self if focused is not None else []:
            await self._caught_up(node)
            if node is self.screen:
                break

    @staticmethod
    async def _caught_up(widget: MessagePump) -> None:
        typed = asyncio.Event()
        if widget.call_later(typed.set):
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(typed.wait(), KEYS_CATCH_UP)
