"""Messages from the station's event pump to the screen: one per kind of station update."""

from __future__ import annotations

from textual.message import Message

from faceattend_tui import station as st


class StationMessage(Message):
    """Carries one station update; `for_update` picks the message class for its type."""

    bubble = False  # posted straight to whoever handles it (the app, or the enrollment dialog)
    update: st.Update

    def __init__(self, update: st.Update) -> None:
        super().__init__()
        self.update = update


class CheckinShown(StationMessage):
    update: st.CheckinShown


class Sighting(StationMessage):
    update: st.Sighting


class UnknownFaces(StationMessage):
    update: st.UnknownFaces

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, UnknownFaces)  # only the latest count matters


class CaptureDone(StationMessage):
    update: st.CaptureDone


class LiveChanged(StationMessage):
    update: st.LiveChanged

    def can_replace(self, message: Message) -> bool:
        # An unread older state is pointless once a newer one arrives, unless it has something to say.
        return isinstance(message, LiveChanged) and not message.update.notice


class RosterChanged(StationMessage):
    update: st.RosterChanged


class Problem(StationMessage):
    update: st.Problem


MESSAGES: dict[type, type[StationMessage]] = {
    st.CheckinShown: CheckinShown, st.Sighting: Sighting, st.UnknownFaces: UnknownFaces,
    st.CaptureDone: CaptureDone, st.LiveChanged: LiveChanged, st.RosterChanged: RosterChanged,
    st.Problem: Problem,
}


def for_update(update: st.Update) -> StationMessage:
    """The message that carries this update; an update of an unknown type is a programming error."""
    try:
        return MESSAGES[type(update)](update)
    except KeyError:
        raise TypeError(f"the screen has no message for {update!r}") from None
