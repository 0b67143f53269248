"""The machine's clock checked against the log and against itself: a station that boots with its clock
behind what it has recorded, or whose clock jumps while it runs (a time server's correction, a glitch),
says so; the timetable waits a little after a jump rather than open a day's slot on a wrong date."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

JUMP = 60.0  # seconds the wall clock may move apart from the steady one between two polls before it is a jump
HOLD = 120.0  # seconds the timetable waits after a jump, for a glitch to be put right
BEHIND = 120.0  # seconds the clock may be behind the log's latest record unsaid


def steady_clock() -> float:
    """Seconds on a clock that never jumps and, on Linux, goes on while the machine sleeps (a suspend is
    not a jump of the wall clock)."""
    boot = getattr(time, "CLOCK_BOOTTIME", None)
    return time.clock_gettime(boot) if boot is not None else time.monotonic()


def behind_notice(now: datetime, latest: datetime | None) -> str:
    """A warning when the clock is behind what the log has recorded (no clock battery, no time server yet)."""
    if latest is None or (latest - now).total_seconds() < BEHIND:
        return ""
    return (f"this machine's clock ({now:%Y-%m-%d %H:%M}) is behind the log's latest record ({latest:%Y-%m-%d %H:%M}): "
            "check-ins, lateness and sessions would be recorded on the wrong time; set the clock (NTP, timedatectl) "
            "before starting a session")


def jump_text(seconds: float) -> str:
    """"5 minutes ahead", "24.0 hours back", "3 days ahead"."""
    way, size = ("ahead" if seconds > 0 else "back"), abs(seconds)
    if size < 3600:
        return f"{round(size / 60)} minutes {way}"
    return f"{size / 3600:.1f} hours {way}" if size < 48 * 3600 else f"{round(size / 86400)} days {way}"


@dataclass
class ClockWatch:
    """The wall clock against the steady (monotonic) one, from one poll to the next."""

    wall: datetime | None = None
    steady: float = 0.0
    held_until: float = 0.0

    def jumped(self, wall: datetime, steady: float) -> float:
        """Seconds the wall clock jumped since the last look (0.0: none); a jump holds the timetable."""
        before, since = self.wall, steady - self.steady
        self.wall, self.steady = wall, steady
        if before is None:
            return 0.0
        jump = (wall - before).total_seconds() - since
        if abs(jump) < JUMP:
            return 0.0
        self.held_until = steady + HOLD
        return jump

    def holding(self, steady: float) -> bool:
        return steady < self.held_until
