"""Station responsiveness, measured on a real terminal (tmux) as a user sees it.

A log with 5,000 people on the roster and 20,000 past check-ins; the station runs on a video of
the demo scene, so the recognition worker runs at camera rate beside the TUI on the same cores.
Measured:
  start-up      launching `faceattend` until the roster is on screen
  key press     a key's arrival until the screen update showing its result has been written
  check-in      the worker's decision until the row has been drawn
The station runs with probes (benchmarks/tui_probe.py): a key from its arrival until the frame
that shows its result is written; a check-in from the worker's decision until its row is drawn.

    python benchmarks/bench_tui.py [--people 5000] [--checkins 20000]
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import cv2
import numpy as np

from faceattend_tui.attendance import Attendance, Checkin, Session, open_store
from faceattend_tui.config import load_settings
from faceattend_tui.demo import demo_cast, prepare_demo, write_demo_video
from faceattend_tui.gallery.templates import Entry, Manifest, load_manifest, save_manifest, save_person
from faceattend_tui.vision.pipeline import FaceEngine

SESSION = "faceattend-bench"
DEMO_PEOPLE = ("Alex Moreau", "Bea Santos", "Chen Wei", "Dana Okafor", "Eli Novak", "Farah Haddad")


def build_data(root: Path, people: int, checkins: int) -> None:
    """The demo roster plus `people` others (random templates) and `checkins` past check-ins."""
    settings = load_settings(root, {"device": "cpu"})
    engine = FaceEngine.from_settings(settings, log=lambda _: None)
    prepare_demo(load_settings(root), engine, log=lambda _: None)
    manifest = load_manifest(settings.tensors_dir) or Manifest()
    rng = np.random.default_rng(0)
    names = [f"Person {i:05d}" for i in range(people)]
    photo = cv2.imencode(".jpg", np.full((32, 32, 3), 128, np.uint8))[1].tobytes()
    photo_sha = hashlib.sha256(photo).hexdigest()
    for name in names:  # a tiny photo each, recorded as extracted, so extraction keeps them
        (settings.images_dir / f"{name}.jpg").write_bytes(photo)
        row = rng.standard_normal((1, 512)).astype(np.float32)
        digest = save_person(settings.tensors_dir, name, row / np.linalg.norm(row))
        manifest.people[name] = Entry([{"image": f"{name}.jpg", "sha256": photo_sha}], digest)
    save_manifest(settings.tensors_dir, manifest)
    start = datetime(2026, 1, 5, 8, 0, tzinfo=timezone.utc)
    per_session = min(people, 2500)
    with open_store(root) as store:
        att = Attendance(store)
        att.sync_people({**{name: 1 for name in names}, **{name: 1 for name in DEMO_PEOPLE}})
        ids = [att.by_folder(name).id for name in names]
        for s in range(max(1, checkins // per_session)):
            when = start + timedelta(days=s)
            session = store.create_session(Session(0, f"Lecture {s + 1}", when, expected=ids))
            with store.batch():
                for i in rng.choice(people, per_session, replace=False):
                    store.record_checkin(Checkin(session.id, ids[i], when + timedelta(seconds=int(i))))
            store.end_session(session.id, when + timedelta(hours=2))


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True).stdout


def screen() -> str:
    return tmux("capture-pane", "-p", "-t", SESSION)


def send(key: str, literal: bool = False) -> None:
    tmux("send-keys", "-t", SESSION, *(["-l"] if literal else []), key)


def wait(check, seconds: float = 60.0) -> float:
    """Poll the screen until check(text); returns the time it first held."""
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        if check(screen()):
            return time.perf_counter()
        time.sleep(0.003)
    raise TimeoutError(f"screen never matched; it shows:\n{screen()}")


def live_rows(text: str) -> set[str]:
    pattern = r"│\s*\d\d:\d\d:\d\d\s+{}\s+\d\.\d\d\s+present"
    return {name for name in DEMO_PEOPLE if re.search(pattern.format(re.escape(name)), text)}


def checkin_rows(seconds: float) -> set[str]:
    seen: set[str] = set()
    deadline = time.time() + seconds
    while time.time() < deadline and len(seen) < len(DEMO_PEOPLE):
        seen |= live_rows(screen())
        time.sleep(0.05)
    return seen


def press(key: str, literal: bool = False, pause: float = 0.35) -> None:
    send(key, literal)
    time.sleep(pause)


def read_log(path: Path) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {}
    for line in path.read_text().splitlines():
        what, ms = line.split("\t")
        found.setdefault(what, []).append(float(ms))
    return found


def run_station(root: Path, video: Path, latency_log: Path) -> tuple[float, set[str]]:
    probe = Path(__file__).with_name("tui_probe.py")
    tmux("kill-session", "-t", SESSION)
    launched = time.perf_counter()
    tmux("new-session", "-d", "-s", SESSION, "-x", "170", "-y", "45",
         f"env -u COLUMNS -u LINES {sys.executable} {probe} {latency_log} "
         f"station --source {video} --no-preview --data {root}")
    usable = wait(lambda text: "Person 00000" in text, 60) - launched
    press("s")
    press("Benchmark", literal=True)
    press("Enter")
    seen = checkin_rows(60)
    for _ in range(5):
        for key in ("Tab", "Down", "PageDown", "a", "?", "Escape"):
            press(key)
    press("/")
    for char in "Person 042":
        press(char, literal=True, pause=0.15)
    press("Escape")
    press("q")
    press("y")
    for _ in range(60):
        if SESSION not in tmux("ls"):
            break
        time.sleep(0.5)
    return usable, seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=5000)
    parser.add_argument("--checkins", type=int, default=20000)
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        sys.exit("this benchmark needs tmux")
    root = Path(tempfile.mkdtemp(prefix="fa-bench-tui-"))
    build_data(root, args.people, args.checkins)
    engine = FaceEngine.from_settings(load_settings(root, {"device": "cpu"}), log=lambda _: None)
    video = write_demo_video(root / "demo.avi", demo_cast(engine, root, log=lambda _: None))
    latency_log = root / "latency.tsv"
    usable, seen = run_station(root, video, latency_log)
    probes = read_log(latency_log)
    keys = [v for what, values in probes.items() if what.startswith("key ") for v in values]
    checkins = probes.get("checkin", [])
    print(f"{args.people} people on the roster, {args.checkins} check-ins in the log; worker on the demo video")
    print(f"{'start-up to a usable screen':36s} {usable * 1e3:7.0f} ms (launch to roster on screen)  target <= 2000 ms")
    print(f"{'key press to rendered result':36s} {statistics.median(keys):7.1f} ms median, worst "
          f"{max(keys):.0f} ms over {len(keys)} keys  target <= 100 ms")
    by_key = {w[4:]: statistics.median(v) for w, v in probes.items() if w.startswith("key ")}
    print("  median by key: " + ", ".join(f"{k} {v:.0f}" for k, v in sorted(by_key.items())))
    slow = [f"{w[4:]} {v:.0f}" for w, values in probes.items() if w.startswith("key ") for v in values if v > 100]
    print(f"  over 100 ms: {', '.join(slow) or 'none'}")
    if checkins:
        print(f"{'check-in decision to its row drawn':36s} {statistics.median(checkins):7.1f} ms median, worst "
              f"{max(checkins):.0f} ms over {len(checkins)} check-ins ({len(seen)} seen in tmux)  target <= 100 ms")
        screen_part = probes.get("checkin on screen", [])
        print(f"{'  of which the screen (message to drawn)':36s} {statistics.median(screen_part):7.1f} ms median")
    tmux("kill-session", "-t", SESSION)
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
