"""The built-in demo: the generated doorway scene, the demo roster, and recognition on its frames."""

from __future__ import annotations

import shutil
import time

import cv2
import numpy as np
import pytest

from faceattend_tui.config import Settings, load_settings
from faceattend_tui.demo import DemoSource, DemoSourceFactory, demo_cast, prepare_demo, write_demo_video
from faceattend_tui.demo.scene import GAP_FRAMES, HEIGHT, VISIBLE_FRAMES, WIDTH
from faceattend_tui.gallery.templates import load_gallery
from faceattend_tui.live.camera import LatestFrameReader, make_source, parse_source
from faceattend_tui.vision.models import find_asset

SEQUENCE = 9 * VISIBLE_FRAMES + 10 * GAP_FRAMES


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory):
    return tmp_path_factory.mktemp("demo")


@pytest.fixture(scope="module")
def cast(engine, demo_root):
    return demo_cast(engine, demo_root)


@pytest.fixture(scope="module")
def roster(engine, demo_root):
    """The demo enrolled next to someone else's photo (as `faceattend demo` leaves it)."""
    images = demo_root / "database_image"
    images.mkdir(parents=True)
    shutil.copy(find_asset("sample_yaoming", demo_root), images / "Yao Ming.jpg")
    return prepare_demo(load_settings(demo_root), engine, log=lambda _: None)


def read_all(source) -> int:
    """Read a source to its end, checking every frame; the number of frames."""
    count = 0
    ok, frame = source.read()
    while ok:
        assert frame.shape == (HEIGHT, WIDTH, 3) and frame.dtype == np.uint8
        count += 1
        ok, frame = source.read()
    assert frame is None
    return count


def test_cast_interleaves_made_up_names_and_strangers(cast):
    assert len(cast.enrolled) == 6 and len(cast.strangers) == 3
    assert [a.enrolled for a in cast.actors] == [True, True, False] * 3
    assert cast.roster == ["Alex Moreau", "Bea Santos", "Chen Wei", "Dana Okafor", "Eli Novak", "Farah Haddad"]
    assert all(a.portrait.dtype == np.uint8 and a.portrait.shape == (333, 282, 3) for a in cast.actors)


def test_frames_have_the_frame_shape_and_the_sequence_ends(cast):
    source = DemoSource(cast)
    assert (source.kind, source.name, source.fps, source.live) == ("demo", "demo", 30.0, False)
    source.open()
    assert read_all(source) == len(source) == SEQUENCE
    assert source.read() == (False, None)
    in_view = [a.name for i in range(len(source)) for a in source.people_at(i)]
    assert len(in_view) == 9 * VISIBLE_FRAMES
    assert [in_view[i * VISIBLE_FRAMES] for i in range(9)] == [a.name for a in cast.actors]
    source.release()
    assert source.read() == (False, None)


def test_loop_mode_restarts_and_seeds_repeat(cast):
    source = DemoSource(cast, loop=True)
    source.open()
    first = [source.read()[1] for _ in range(GAP_FRAMES + 5)]
    for _ in range(SEQUENCE - len(first)):
        assert source.read()[0]
    again = [source.read() for _ in range(GAP_FRAMES + 5)]
    assert all(ok for ok, _ in again)
    assert all(np.array_equal(a, b) for (_, a), b in zip(again, first, strict=True))
    other = DemoSource(cast, seed=1)
    other.open()
    assert not np.array_equal(other.render(GAP_FRAMES + 4), first[-1])


def test_rendering_is_cheap(cast):
    source = DemoSource(cast)
    source.open()
    times = []
    for index in range(GAP_FRAMES, GAP_FRAMES + 2 * VISIBLE_FRAMES):
        start = time.perf_counter()
        source.render(index)
        times.append(time.perf_counter() - start)
    assert np.median(times) < 0.010  # about 1 ms here; loose for busy machines


def test_demo_source_plays_through_make_source_and_the_reader(engine, demo_root):
    source = make_source(parse_source("demo"), demo_factory=lambda: DemoSourceFactory(str(demo_root))(engine))
    assert isinstance(source, DemoSource)
    with LatestFrameReader(source, realtime=False) as reader:
        while reader.latest(timeout=5) is not None:
            pass
    kinds = [s.kind for s in reader.statuses()]
    assert kinds == ["opened", "ended"] and reader.frames_read == SEQUENCE


def test_prepare_demo_writes_the_roster_and_is_incremental(engine, demo_root, roster):
    images = demo_root / "database_image"
    assert roster == ["Alex Moreau", "Bea Santos", "Chen Wei", "Dana Okafor", "Eli Novak", "Farah Haddad"]
    assert sorted(p.stem for p in images.glob("*.jpg")) == sorted([*roster, "Yao Ming"])
    other = (images / "Yao Ming.jpg").read_bytes()
    stamps = {p.name: p.stat().st_mtime_ns for p in images.iterdir()}
    lines = []
    assert prepare_demo(load_settings(demo_root), engine, log=lines.append) == roster
    assert any("0 photos extracted, 7 reused" in line for line in lines), lines
    assert {p.name: p.stat().st_mtime_ns for p in images.iterdir()} == stamps
    assert (images / "Yao Ming.jpg").read_bytes() == other
    assert sorted(p.stem for p in (demo_root / "database_tensor").glob("*.npy")) == sorted([*roster, "Yao Ming"])


def observe(engine, gallery, source, step: int = 3) -> tuple[dict, int]:
    """Per cast member: frames sampled, frames named right, similarities and any wrong names."""
    seen = {a.name: {"frames": 0, "right": 0, "sims": [], "wrong": []} for a in source.cast.actors}
    background_faces = 0
    for index in range(0, len(source), step):
        frame = source.render(index)
        faces = engine.detect(frame)
        people = source.people_at(index)
        if not people:
            background_faces += len(faces)
            continue
        record = seen[people[0].name]
        record["frames"] += 1
        matches = gallery.match(engine.embed(frame, faces), Settings().threshold) if faces else []
        for match in matches:
            if match.name is not None and match.name != people[0].name:
                record["wrong"].append((index, match.name, round(match.similarity, 3)))
        named = [m for m in matches if m.name == people[0].name]
        record["right"] += bool(named)
        record["sims"] += [m.similarity for m in (named if people[0].enrolled else matches)]
    return seen, background_faces


@pytest.mark.slow
def test_enrolled_people_are_named_and_strangers_never(engine, demo_root, roster, cast):
    gallery, warnings = load_gallery(demo_root / "database_tensor", engine.recognizer.sha256, engine.embedder.dim)
    assert not warnings
    source = DemoSource(cast)
    source.open()
    seen, background_faces = observe(engine, gallery, source)
    assert background_faces == 0
    for actor in cast.actors:
        record = seen[actor.name]
        assert record["wrong"] == [], actor.name
        if actor.enrolled:
            assert record["right"] >= 0.7 * record["frames"], (actor.name, record["right"], record["frames"])
        else:
            assert record["right"] == 0
    lowest = min(min(seen[a.name]["sims"]) for a in cast.enrolled)
    highest = max(max(seen[a.name]["sims"]) for a in cast.strangers)
    print(f"demo margins: lowest enrolled match {lowest:.3f}, highest stranger {highest:.3f}")
    assert highest < Settings().threshold - 0.06 and lowest > Settings().threshold + 0.2


@pytest.mark.slow
def test_write_demo_video_reads_back_every_frame(cast, tmp_path):
    path = write_demo_video(tmp_path / "demo.avi", cast)
    capture = cv2.VideoCapture(str(path))
    count = 0
    ok, frame = capture.read()
    while ok:
        assert frame.shape == (HEIGHT, WIDTH, 3)
        count += 1
        ok, frame = capture.read()
    capture.release()
    assert count == SEQUENCE


def test_the_demo_roster_is_private(roster, demo_root):
    import stat

    images = demo_root / "database_image"
    assert stat.S_IMODE(images.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in images.glob("*.jpg")} == {0o600}
