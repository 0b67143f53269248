"""Short tones at the door: one when a check-in is written, another for "please see staff".

No audio library: the tones are made here as WAV data and handed to the system's own player
(winsound on Windows, aplay/paplay on Linux, afplay on macOS) without waiting. Where there is no
player or no audio device nothing happens and nothing is printed.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import tempfile
import wave
from collections.abc import Iterable
from pathlib import Path

import numpy as np

RATE = 22050
TONES = {  # (frequency Hz, seconds) played one after the other
    "checkin": ((880.0, 0.09), (1320.0, 0.14)),  # rising: done
    "see-staff": ((440.0, 0.16), (330.0, 0.22)),  # falling: ask for help
}
PLAYERS = (("aplay", "-q"), ("paplay",), ("afplay",))


def tone_wav(notes: Iterable[tuple[float, float]]) -> bytes:
    """16-bit mono WAV of the notes, each faded in and out so it does not click."""
    parts: list[np.ndarray] = []
    for frequency, seconds in notes:
        t = np.arange(int(RATE * seconds)) / RATE
        fade = np.minimum(1.0, np.minimum(t, seconds - t) / 0.01)
        parts.append(0.35 * np.sin(2 * np.pi * frequency * t) * fade)
    samples = (np.concatenate(parts) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(samples.tobytes())
    return buffer.getvalue()


class Chime:
    """Plays the tones when on; silent (and quiet) when off or when this machine cannot play."""

    def __init__(self, on: bool):
        self.on = on
        self.player = find_player() if on else None
        self.files: dict[str, Path] = {}

    def play(self, kind: str) -> None:
        if not self.on or kind not in TONES:
            return
        if sys.platform == "win32":
            import winsound

            winsound.PlaySound(tone_wav(TONES[kind]), winsound.SND_MEMORY | winsound.SND_ASYNC)
            return
        if self.player is None:
            return
        try:
            subprocess.Popen([*self.player, str(self._file(kind))], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        except OSError:
            self.player = None  # it went away: stay quiet from now on

    def close(self) -> None:
        for path in self.files.values():
            path.unlink(missing_ok=True)
        self.files.clear()

    def _file(self, kind: str) -> Path:
        if kind not in self.files:
            with tempfile.NamedTemporaryFile(prefix=f"faceattend-{kind}-", suffix=".wav", delete=False) as handle:
                handle.write(tone_wav(TONES[kind]))
            self.files[kind] = Path(handle.name)
        return self.files[kind]


def find_player() -> tuple[str, ...] | None:
    for command in PLAYERS:
        if shutil.which(command[0]):
            return command
    return None
