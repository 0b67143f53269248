"""The live worker's correctness targets, run the way a user runs them: `faceattend watch --json`.

Every event is traced back to the frames it came from, with two clues. The worker processes frames
in order and puts a frame's events on the queue before the stats line that counts it, so with
--every-frame (nothing dropped) the events between two stats lines come from the frames those two
lines count. And with --every-frame the recogniser runs on the source's own clock (frame n at
T0 + n / fps), so the event times, anchored by those windows, narrow each event to a frame or two.
Sources whose content is known frame by frame (the demo stream, a recording of it, a slideshow
folder) then say who was in view: a check-in must name that person.
"""

from __future__ import annotations

import json
import math
import random
import re
import shutil
import time
from collections import Counter

import cv2
import numpy as np
import pytest

from faceattend_tui.cli import main
from faceattend_tui.config import load_settings
from faceattend_tui.demo import DemoSource, demo_cast, prepare_demo, write_demo_video
from faceattend_tui.live.camera import make_source, parse_source

ROSTER = ["Alex Moreau", "Bea Santos", "Chen Wei", "Dana Okafor", "Eli Novak", "Farah Haddad"]
STAGES = ("detect_ms", "track_ms", "embed_ms")


def quiet(_text: str) -> None:
    pass


def watch(capsys, *args: str, max_seconds: float = 240) -> tuple[int, list[dict], float]:
    """Run `faceattend watch --json` on the CPU; exit code, the JSON lines and the seconds it took."""
    capsys.readouterr()
    start = time.monotonic()
    code = main(["watch", "--device", "cpu", "--json", "--no-preview", "--max-seconds", str(max_seconds), *args])
    seconds = time.monotonic() - start
    out = capsys.readouterr().out
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert lines, "watch printed nothing"
    assert all(next(iter(line)) == "type" for line in lines), out
    return code, lines, seconds


def of_type(lines: list[dict], kind: str) -> list[dict]:
    return [line for line in lines if line["type"] == kind]


def frames_read(lines: list[dict]) -> int:
    """The number of frames the source delivered, from its "ended after N frames" status."""
    ended = [line for line in lines if line.get("kind") == "camera-ended"]
    assert len(ended) == 1, of_type(lines, "status")
    return int(re.search(r"ended after (\d+) frames", ended[0]["message"]).group(1))


def stats_windows(lines: list[dict], total: int) -> list[tuple[dict, int, int]]:
    """Each check-in and unknown event with the frames (0-based, first..last) the stats lines allow."""
    done, waiting, out = 0, [], []
    for line in lines:
        if line["type"] == "stats":
            assert line["dropped"] == 0  # --every-frame: frame n of the source is the n-th processed
            done += line["frames"]
            out += [(event, first, done - 1) for event, first in waiting]
            waiting = []
        elif line["type"] in ("checkin", "unknown"):
            waiting.append((line, done))
    assert done <= total
    return out + [(event, first, total - 1) for event, first in waiting]


def event_frames(lines: list[dict], total: int, fps: float) -> list[tuple[dict, int, int]]:
    """Each check-in and unknown event with the frames it can come from: the frame it names, checked
    against the stats lines and the event times (T0 + frame / fps)."""
    windows = narrowed_windows(lines, total, fps)
    for event, first, last in windows:
        assert first <= event["frame"] <= last, (event, first, last)
    return [(event, event["frame"], event["frame"]) for event, _, _ in windows]


def narrowed_windows(lines: list[dict], total: int, fps: float) -> list[tuple[dict, int, int]]:
    """Each check-in and unknown event with the frames the stats lines allow, narrowed by the event times."""
    windows = stats_windows(lines, total)
    if not windows:
        return []
    earliest = max(event["time"] - last / fps for event, _, last in windows)  # bounds on the time of frame 0
    latest = min(event["time"] - first / fps for event, first, _ in windows)
    assert earliest <= latest + 1e-6, "event times do not follow the source's clock (frame n at T0 + n / fps)"
    return [(event, max(first, math.floor((event["time"] - latest) * fps + 1e-6)),
             min(last, math.ceil((event["time"] - earliest) * fps - 1e-6))) for event, first, last in windows]


def check_stats(lines: list[dict]) -> None:
    stats = of_type(lines, "stats")
    assert stats, "no stats lines"
    for line in stats:
        assert line["fps"] > 0 and line["frames"] > 0, line
        assert all(isinstance(line[key], int | float) and line[key] >= 0 for key in STAGES), line
    assert max(line["detect_ms"] for line in stats) > 0


def check_demo_run(lines: list[dict], cast) -> dict:
    """The demo targets on a run over the whole demo sequence; a summary for the report."""
    source = DemoSource(cast)
    total = frames_read(lines)
    assert total == len(source)
    checkins = of_type(lines, "checkin")
    assert Counter(c["name"] for c in checkins) == Counter(cast.roster), [(c["name"], c["track"]) for c in checkins]
    strangers = {actor.name for actor in cast.strangers}
    summary = {"similarity": [], "unknown": [], "frames": total, "widest": 0}
    for event, first, last in event_frames(lines, total, source.fps):
        in_view = {actor.name for index in range(first, last + 1) for actor in source.people_at(index)}
        summary["widest"] = max(summary["widest"], last - first + 1)
        if event["type"] == "checkin":
            assert in_view == {event["name"]}, (event, first, last, in_view)
            summary["similarity"].append(event["similarity"])
        else:
            assert in_view and in_view <= strangers, (event, first, last, in_view)  # not an enrolled person
            summary["unknown"] += sorted(in_view)
    unknown = of_type(lines, "unknown")
    assert unknown, "the strangers walked by without an unknown event"
    assert len({e["track"] for e in unknown}) == len(unknown)  # one decision per track
    return summary


# -- 1. the demo stream


@pytest.mark.timeout(300)
@pytest.mark.slow
def test_watch_demo_checks_in_each_roster_person_once(engine, tmp_path, capsys):
    code, lines, seconds = watch(capsys, "--source", "demo", "--data", str(tmp_path), "--every-frame")
    assert code == 0
    roster = prepare_demo(load_settings(tmp_path), engine, log=quiet)  # enrolled by watch already: nothing to redo
    assert roster == ROSTER
    summary = check_demo_run(lines, demo_cast(engine, tmp_path, log=quiet))
    check_stats(lines)
    assert not of_type(lines, "error")
    assert {k: v for k, v in lines[-1].items() if k != "at"} == {  # `at`: see test_event_schema.py
        "type": "status", "kind": "source-finished", "message": "source finished: demo", "person_id": None,
        "display_name": None}
    print(f"demo: {seconds:.1f} s, {summary}")


# -- 2. a recording of the demo stream


@pytest.mark.timeout(300)
@pytest.mark.slow
def test_watch_video_file_of_the_demo_checks_in_each_roster_person_once(engine, tmp_path, capsys):
    assert prepare_demo(load_settings(tmp_path), engine, log=quiet) == ROSTER
    cast = demo_cast(engine, tmp_path, log=quiet)
    video = write_demo_video(tmp_path / "demo.avi", cast)
    code, lines, seconds = watch(capsys, "--source", str(video), "--data", str(tmp_path), "--every-frame")
    assert code == 0
    summary = check_demo_run(lines, cast)
    check_stats(lines)
    assert not of_type(lines, "error")
    assert lines[-1]["type"] == "status" and lines[-1]["kind"] == "source-finished"
    assert str(video) in lines[-1]["message"]
    print(f"video: {seconds:.1f} s, {summary}")


# -- 3. real photos as a slideshow


def held_up(image: np.ndarray, size: tuple[int, int] = (640, 480)) -> np.ndarray:
    """A small, tightly cropped photo as a camera sees one held up: in the middle of a larger frame."""
    width, height = size
    frame = np.full((height, width, 3), 96, np.uint8)
    h, w = image.shape[:2]
    top, left = (height - h) // 2, (width - w) // 2
    frame[top : top + h, left : left + w] = image
    return frame


@pytest.mark.shared_data
@pytest.mark.timeout(300)
@pytest.mark.slow
def test_watch_slideshow_of_real_photos_never_checks_in_a_wrong_name(shared_data, tmp_path, capsys):
    folders = sorted(p for p in (shared_data / "identities").iterdir()
                     if p.is_dir() and p.name.startswith(("wild-id", "cast-")))
    photos = {p.name: sorted(f for f in p.iterdir() if f.suffix.lower() in (".jpg", ".jpeg", ".png")) for p in folders}
    people = sorted(name for name, files in photos.items() if len(files) >= 2)
    assert len(people) >= 15

    root = tmp_path / "data"  # enrolled: the first photo of each person
    for person in people:
        (root / "database_image" / person).mkdir(parents=True)
        shutil.copy(photos[person][0], root / "database_image" / person / photos[person][0].name)
    assert main(["extract", "--data", str(root), "--device", "cpu"]) == 0

    # Shown: all the other photos, interleaved across people in a fixed shuffled order (the folder
    # source goes by name). After each photo a thin empty strip shows for as long as a photo, so
    # every photo's faces start new tracks.
    shown = [(person, path) for person in people for path in photos[person][1:]]
    random.Random(7).shuffle(shown)
    slides = tmp_path / "slides"
    slides.mkdir()
    for index, (person, path) in enumerate(shown):
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if max(image.shape[:2]) < 320:  # the cast-* crops: a face filling the whole frame is not detected
            cv2.imwrite(str(slides / f"{index:03d}a-{person}.png"), held_up(image))
        else:
            shutil.copy(path, slides / f"{index:03d}a-{person}{path.suffix}")
        cv2.imwrite(str(slides / f"{index:03d}b-gap.png"), np.full((16, 640, 3), 96, np.uint8))
    folder = make_source(parse_source(str(slides)))  # as the worker builds it
    per_image = folder.frames_per_image

    code, lines, seconds = watch(capsys, "--source", str(slides), "--data", str(root), "--every-frame",
                                 max_seconds=280)
    assert code == 0
    assert lines[-1]["type"] == "status" and lines[-1]["kind"] == "source-finished"
    assert not of_type(lines, "error")
    total = frames_read(lines)
    assert total == 2 * len(shown) * per_image
    check_stats(lines)

    checkins = of_type(lines, "checkin")
    wrong, widest = [], 0
    for event, first, last in event_frames(lines, total, folder.fps):
        if event["type"] != "checkin":
            continue
        widest = max(widest, last - first + 1)
        images = range(first // per_image, last // per_image + 1)
        if any(i % 2 or shown[i // 2][0] != event["name"] for i in images):  # a gap, or someone else's photo
            wrong.append((event["name"], [shown[i // 2][0] if i % 2 == 0 else "gap" for i in images], first, last))
    assert wrong == []
    assert {c["name"] for c in checkins} == set(people)  # everyone recognised at least once
    assert len(checkins) >= 0.9 * len(shown)  # nearly every photo: each starts its own track
    sims = [c["similarity"] for c in checkins]
    print(f"slideshow: {len(shown)} photos of {len(people)} people, {len(checkins)} check-ins "
          f"(each traced to at most {widest} frames), {len(of_type(lines, 'unknown'))} unknown, "
          f"similarity {min(sims):.3f}..{max(sims):.3f}, {seconds:.1f} s")


# -- 4. sources that fail


@pytest.mark.timeout(120)
@pytest.mark.slow
def test_watch_retries_a_camera_that_is_down_until_time_is_up(tmp_path, capsys):
    code, lines, seconds = watch(capsys, "--source", "99", "--data", str(tmp_path), max_seconds=8)
    assert code == 1  # it never opened
    retries = [line for line in lines if line.get("kind") == "camera-reconnecting"]
    assert len(retries) >= 2 and all(line["source"] == "camera 99" for line in retries)
    first = retries[0]["message"]
    assert re.match(r"trying again at \d\d:\d\d:\d\d \(", first) and "camera 99" in first
    waits = [line["retry_in"] for line in retries]
    assert waits == sorted(waits) and max(waits) <= 10
    assert not any(line.get("kind") == "source-finished" for line in lines)
    assert seconds >= 8


@pytest.mark.timeout(120)
@pytest.mark.slow
def test_watch_retries_a_stream_that_is_down(tmp_path, capsys):
    code, lines, _ = watch(capsys, "--source", "rtsp://127.0.0.1:9/x", "--data", str(tmp_path), max_seconds=6)
    retries = [line for line in lines if line.get("kind") == "camera-reconnecting"]
    assert code == 1 and len(retries) >= 2 and "127.0.0.1:9" in retries[0]["message"]


@pytest.mark.timeout(120)
def test_watch_missing_video_file_says_so_at_once_and_exits_2(tmp_path, capsys):
    start = time.monotonic()
    code = main(["watch", "--device", "cpu", "--json", "--no-preview", "--source", "/nonexistent/video.mp4",
                 "--data", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""  # before any model loads: one line on stderr, as the station says it
    assert "/nonexistent/video.mp4" in err and len(err.strip().splitlines()) == 1
    assert time.monotonic() - start < 5
