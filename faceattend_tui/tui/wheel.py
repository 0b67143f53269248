"""The mouse wheel over a list moves its highlighted row, and the view with it: a key that acts on the
highlighted row (mark, details, open) never acts on one scrolled out of sight."""

from __future__ import annotations

from textual import events

WHEEL_ROWS = 3  # rows a notch of the wheel moves


class WheelMovesCursor:
    """For a list widget, placed before its Textual base class; the list says how to move its cursor."""

    def wheel_move(self, rows: int) -> bool:
        """Move the highlighted row by `rows` (within the list); False when it could not move."""
        raise NotImplementedError

    def _on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        self._wheel(event, WHEEL_ROWS)

    def _on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self._wheel(event, -WHEEL_ROWS)

    def _wheel(self, event: events.MouseScrollDown | events.MouseScrollUp, rows: int) -> None:
        # ctrl or shift: sideways, as Textual scrolls it; at either end the wheel goes on to what holds the list
        if not (event.ctrl or event.shift) and self.wheel_move(rows):
            event.prevent_default()
            event.stop()
