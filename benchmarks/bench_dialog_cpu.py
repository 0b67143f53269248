"""What the station's screen costs while a dialog stays open, against the main screen in the same run.

Runs `faceattend demo` in tmux (a real terminal, 80x24), waits for its doorway, then counts the
station process's CPU time (user + system, from /proc) over --seconds windows: first on the main
screen, then with the start-session dialog left open. Prints the median CPU per minute of each.
Linux with tmux only.

    python benchmarks/bench_dialog_cpu.py [--windows 3] [--seconds 20]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SESSION = "faceattend-bench-dialog"
TICKS = os.sysconf("SC_CLK_TCK")


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=False).stdout


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def station_pid(data: Path) -> int:
    """The station's own process (not the recognition worker it starts, nor tmux's shell)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                args = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"demo" in args and os.fsencode(str(data)) in args and b"python" in args[0]:
                return int(entry.name)
    raise SystemExit("the station did not start")


def per_minute(pid: int, windows: int, seconds: float) -> float:
    samples = []
    for _ in range(windows):
        before = cpu_seconds(pid)
        time.sleep(seconds)
        samples.append((cpu_seconds(pid) - before) * 60 / seconds)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--windows", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    if not shutil.which("tmux"):
        raise SystemExit("needs tmux")
    data = Path(tempfile.mkdtemp(prefix="faceattend-bench-")) / "demo"
    faceattend = Path(sys.executable).with_name("faceattend")
    command = f"QT_QPA_PLATFORM=offscreen {faceattend} demo --data {data} --no-preview"
    tmux("new-session", "-d", "-s", SESSION, "-x", "80", "-y", "24", command)
    try:
        for _ in range(180):
            if "no session running" in tmux("capture-pane", "-p", "-t", SESSION):
                break
            time.sleep(1)
        time.sleep(10)  # the worker's start-up settles
        pid = station_pid(data)
        main_screen = per_minute(pid, args.windows, args.seconds)
        tmux("send-keys", "-t", SESSION, "s")
        time.sleep(3)
        dialog = per_minute(pid, args.windows, args.seconds)
        print(f"station CPU, median of {args.windows} windows of {args.seconds:.0f} s (seconds per minute):")
        print(f"  main screen         {main_screen:6.2f}")
        print(f"  start dialog open   {dialog:6.2f}  ({dialog / main_screen:.1f}x)")
    finally:
        tmux("kill-session", "-t", SESSION)
        shutil.rmtree(data.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
