"""Messages from the station's event pump to the screen."""

from __future__ import annotations

from textual.message import Message

from faceattend_tui.station import Update


class StationUpdate(Message):
    """One update from the station (check-in, status, stats, capture...)."""

    def __init__(self, update: Update) -> None:
        super().__init__()
        self.update = update

    def can_replace(self, message: Message) -> bool:
        # A newer stats line makes an unread older one pointless; everything else is kept.
        return (isinstance(message, StationUpdate) and message.update.kind == "stats"
                and self.update.kind == "stats")
