"""How the station's screen closes: every way out stops an import's photo reading first, a running
session is asked about, and a bug that ends the screen is kept in the station's log."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from rich.traceback import Traceback
from textual.app import App

from faceattend_tui.tui.screens import ConfirmScreen

if TYPE_CHECKING:
    from rich.console import RenderableType

    from faceattend_tui.station import Station

LOG = logging.getLogger("faceattend.screen")


class ClosesCleanly(App[None]):
    """The closing part of the station's app; needs its `station`."""

    station: Station
    _ending_error: BaseException

    async def action_quit(self) -> None:
        """ctrl+q, Textual's own quit: asks like q while a session runs."""
        self.action_quit_station()

    def action_quit_station(self) -> None:
        if self.station.active is None:
            self.exit()
            return
        question = f"Session {self.station.active.name!r} is running. Quit? It stays open and resumes next time."
        self.push_screen(ConfirmScreen(question), lambda confirmed: self.exit() if confirmed else None)

    def exit(self, result: None = None, return_code: int = 0, message: RenderableType | None = None) -> None:
        """Every way out (q, a hang-up, a service stop, a terminal gone): an import's photo reading stops
        between two people first, so the screen does not wait for hundreds of photos."""
        self.station.stop_photo_reading()
        super().exit(result, return_code, message)

    def _handle_exception(self, error: Exception) -> None:
        """A bug that ends the screen: its traceback goes to the station's log too (the terminal's goes with
        the SSH session), then Textual shows it and closes."""
        LOG.error("internal error: the screen stopped", exc_info=error)
        self._ending_error = error
        super()._handle_exception(error)

    def _fatal_error(self) -> None:
        """Textual's traceback on the terminal, without the values of local names: they hold people's names
        and records, shown to whoever looks at the screen."""
        error = self._ending_error
        self.bell()
        self.panic(Traceback.from_exception(type(error), error, error.__traceback__, show_locals=False, width=None))
