"""The station with latency probes, for benchmarks/bench_tui.py.

    python benchmarks/tui_probe.py LOG station --source VIDEO --no-preview --data DIR

Runs the real station, but its screen writes one line per key press (arrival to the frame that
shows its result) and per check-in (the worker's decision to the frame that shows its row) to LOG.
"""

from __future__ import annotations

import sys
import time

from textual import events, on

from faceattend_tui.cli import build_parser, cmd_station
from faceattend_tui.tui import messages as msg
from faceattend_tui.tui.app import StationApp

LOG = ""


class ProbedApp(StationApp):
    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):
            start = time.perf_counter()
            self.call_after_refresh(write, f"key {event.key}", start, time.perf_counter)
        await super().on_event(event)

    @on(msg.CheckinShown)
    def probe_checkin(self, message: msg.CheckinShown) -> None:  # beside the app's own handler
        if message.update.new:
            self.call_after_refresh(write, "checkin", message.update.sent, time.time)
            self.call_after_refresh(write, "checkin on screen", time.perf_counter(), time.perf_counter)


def write(what: str, start: float, clock) -> None:
    with open(LOG, "a", encoding="utf-8") as fh:
        fh.write(f"{what}\t{(clock() - start) * 1e3:.1f}\n")


def main() -> int:
    global LOG
    LOG = sys.argv[1]
    args = build_parser().parse_args(sys.argv[2:])
    return cmd_station(args, app_class=ProbedApp)


if __name__ == "__main__":
    sys.exit(main())
