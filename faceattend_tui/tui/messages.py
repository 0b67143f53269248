"""Messages from the station's event pump to the screen: one per kind of station update."""

from __future__ import annotations

from textual.message import Message

from faceattend_tui import station as st


class StationMessage(Message, bubble=False):
    """Carries one station update; `for_update` picks the message class for its type.

    None bubbles: each is posted straight to whoever handles it (the app, or the enrollment dialog).
    Textual sets `bubble` per class from the class's arguments, so every subclass says it again (a
    CaptureDone that bubbled from the dialog back to the app was posted to the dialog again, for
    as long as the dialog stayed open)."""

    update: st.Update

    def __init__(self, update: st.Update) -> None:
        super().__init__()
        self.update = update


class CheckinShown(StationMessage, bubble=False):
    update: st.CheckinShown


class Sighting(StationMessage, bubble=False):
    update: st.Sighting


class UnknownFaces(StationMessage, bubble=False):
    update: st.UnknownFaces

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, UnknownFaces)  # only the latest count matters


class CaptureDone(StationMessage, bubble=False):
    update: st.CaptureDone


class LiveChanged(StationMessage, bubble=False):
    update: st.LiveChanged

    def can_replace(self, message: Message) -> bool:
        # An unread older state is pointless once a newer one arrives, unless it has something to say.
        return isinstance(message, LiveChanged) and not message.update.notice


class RosterChanged(StationMessage, bubble=False):
    update: st.RosterChanged


class Problem(StationMessage, bubble=False):
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
