"""The live recognition worker: recogniser logic in-process, then the real worker process."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from faceattend_tui.config import Settings, load_settings
from faceattend_tui.gallery.extract import Extractor
from faceattend_tui.gallery.templates import load_gallery
from faceattend_tui.live import events as ev
from faceattend_tui.live.door import FACE_COLOURS, DoorState, draw, layout
from faceattend_tui.live.preview import display_problem
from faceattend_tui.live.recognizer import LiveRecognizer, Overlay
from faceattend_tui.live.worker import WorkerConfig, WorkerHandle
from faceattend_tui.vision.identity import RecognizerId
from faceattend_tui.vision.imageio import read_image


def face_crop(image: np.ndarray, face, scale: float = 2.2) -> np.ndarray:
    cx, cy = (face.box[:2] + face.box[2:]) / 2
    half = max(face.width, face.height) * scale / 2
    x1, y1 = int(max(cx - half, 0)), int(max(cy - half, 0))
    return image[y1 : int(cy + half), x1 : int(cx + half)]


@pytest.fixture(scope="module")
def people(engine, sample_photo):
    """Portraits: Yao Ming (enrolled) and a stranger cut from the gdp photo."""
    yao = read_image(sample_photo("yaoming.jpg"))
    gdp = read_image(sample_photo("gdp.jpg"))
    stranger = face_crop(gdp, engine.detect(gdp)[0])
    return {"yao": yao, "stranger": cv2.resize(stranger, (220, 280))}


@pytest.fixture(scope="module")
def data_root(engine, people, tmp_path_factory):
    root = tmp_path_factory.mktemp("station")
    images = root / "database_image"
    images.mkdir()
    cv2.imwrite(str(images / "Yao.jpg"), people["yao"])
    Extractor(engine, images, root / "database_tensor").run()
    return root


def scene(portrait: np.ndarray, x: int) -> np.ndarray:
    frame = np.full((480, 640, 3), 90, np.uint8)
    h, w = portrait.shape[:2]
    frame[100 : 100 + h, x : x + w] = portrait
    return frame


def gallery_of(engine, root: Path):
    gallery, _ = load_gallery(root / "database_tensor", engine.recognizer.sha256, engine.embedder.dim)
    return gallery


def close_up(engine, portrait: np.ndarray, shift: int = 0) -> np.ndarray:
    """A 512-px frame the face fills, its chin running off the bottom edge: someone right at the camera."""
    x1, y1, x2, y2 = engine.detect(portrait)[0].box
    height, side = y2 - y1, int((y2 - y1) * 1.25)
    wide = cv2.copyMakeBorder(portrait, 400, 400, 400, 400, cv2.BORDER_REPLICATE)
    left, top = int((x1 + x2 - side) / 2) + 400 + shift, int(y1 - 0.15 * height) + 400
    frame = wide[top:int(y2) + 400, left:left + side]
    return cv2.resize(frame, (512, round(512 * frame.shape[0] / frame.shape[1])))


def test_someone_so_close_that_their_face_runs_off_the_frame_still_checks_in(engine, people, data_root):
    """A pupil who stood right at the camera was never found (18 of 118 frames) and recorded absent."""
    frames = [close_up(engine, people["yao"], shift) for shift in range(6)]
    assert not engine.detect(frames[0])  # the detector alone misses such a face
    live = LiveRecognizer(engine, gallery_of(engine, data_root), Settings(votes_needed=3))
    events = [e for i, frame in enumerate(frames) for e in live.process(frame, now=i / 30)]
    assert [(e.type, e.name) for e in events] == [("checkin", "Yao")]


def test_an_empty_doorway_is_searched_again_for_a_face_too_close_only_every_third_frame(engine, people, data_root,
                                                                                         monkeypatch):
    """An idle station spent two detections on every empty frame: a core of two at 30 fps."""
    from faceattend_tui.live import recognizer as module

    looks = []
    monkeypatch.setattr(module, "detect_close", lambda engine, frame: looks.append(frame) or [])
    live = LiveRecognizer(engine, gallery_of(engine, data_root), Settings(votes_needed=3))
    empty = np.full((480, 640, 3), 90, np.uint8)
    for i in range(9):  # nobody has been in view: an empty scene
        live.process(empty, now=100 + i / 30)
    assert len(looks) == 3 and live.idle(100.5)
    live.process(scene(people["yao"], 200), now=200.0)  # someone walks up...
    looks.clear()
    for i in range(6):  # ...and is too close to be found: every frame is looked at again for a while
        live.process(empty, now=200 + (i + 1) / 30)
    assert len(looks) == 6 and not live.idle(200.2)


def test_enrolled_person_checks_in_once_after_three_frames(engine, people, data_root):
    live = LiveRecognizer(engine, gallery_of(engine, data_root), Settings(threshold=0.32, votes_needed=3))
    events = []
    for i in range(8):
        events += [(i, e) for e in live.process(scene(people["yao"], 200 + 3 * i), now=i / 30)]
    assert [(i, e.type, e.name) for i, e in events] == [(2, "checkin", "Yao")]
    event = events[0][1]
    assert event.similarity > 0.5 and event.track == 1
    assert cv2.imdecode(np.frombuffer(event.face_jpeg, np.uint8), cv2.IMREAD_COLOR).shape == (112, 112, 3)
    assert live.overlays[0].state == "known" and live.overlays[0].label.startswith("Yao")


def test_stranger_gives_one_unknown_event_and_no_checkin(engine, people, data_root):
    live = LiveRecognizer(engine, gallery_of(engine, data_root),
                          Settings(threshold=0.32, unknown_after=1.0, recheck_seconds=0.5))
    events = []
    for i in range(45):
        events += live.process(scene(people["stranger"], 250), now=i / 15)
    assert [e.type for e in events] == ["unknown"]
    stats, _ = live.take_stats(fps=15.0, dropped=0)
    assert stats.frames == 45 and stats.detect_ms > 0


def test_many_faces_are_recognised_a_few_per_frame_and_say_so(engine, people, data_root):
    small = cv2.resize(people["yao"], (100, 124))
    frame = np.full((480, 640, 3), 90, np.uint8)
    for row in range(3):
        for col in range(6):
            frame[row * 150 + 20 : row * 150 + 144, col * 105 + 5 : col * 105 + 105] = small
    live = LiveRecognizer(engine, gallery_of(engine, data_root), Settings(max_embeds_per_frame=4))
    checkins = [e for i in range(20) for e in live.process(frame, now=i / 10) if e.type == "checkin"]
    stats, busy = live.take_stats(fps=10.0, dropped=0)
    assert stats.faces >= 15
    assert busy is not None and "recognising 4 per frame" in busy.message
    assert len(checkins) >= 10  # every face gets its turn; none is starved for ever
    live.times.skipped_embeds, live.times.faces = 2, 4  # no more faces than it recognises: tracks lingered
    _, busy = live.take_stats(fps=10.0, dropped=0)
    assert busy is not None and busy.message.startswith("faces coming and going: recognising 4")


def test_preview_draws_boxes_and_reports_missing_display(monkeypatch):
    frame = np.zeros((240, 320, 3), np.uint8)
    out = draw(frame, layout(frame.shape, [Overlay((100, 100, 160, 170), "known", "Ann", 1)], DoorState(), 0.0))
    assert out[170, 130].tolist() == list(FACE_COLOURS["known"]) and out[135, 160].tolist() == list(
        FACE_COLOURS["known"])
    assert frame.max() == 0  # the camera frame itself is untouched
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    if os.name == "posix":
        assert "DISPLAY" in display_problem()


def test_a_display_nobody_answers_on_is_said_by_its_name_by_the_station_and_doctor(monkeypatch, capsys, tmp_path):
    """With Qt quietened (as the worker has it), the reason given was "Reinstalling the application may fix
    this problem"; doctor called the display present."""
    from faceattend_tui.cli import main
    from faceattend_tui.live.preview import quiet_qt

    monkeypatch.setenv("DISPLAY", ":97")
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.setenv("QT_LOGGING_RULES", "*=false")
    quiet_qt()
    assert "could not connect to display :97" in display_problem()
    main(["doctor", "--data", str(tmp_path), "--cameras", "0"])
    (line,) = [x for x in capsys.readouterr().out.splitlines() if x.startswith("display:")]
    assert "could not connect to display :97" in line and "the preview window will be off" in line


# -- the real worker process


def folder_of(tmp_path: Path, images: list[np.ndarray]) -> Path:
    folder = tmp_path / "slides"
    folder.mkdir()
    for i, image in enumerate(images):
        cv2.imwrite(str(folder / f"{i:02d}.jpg"), image)
    return folder


def run_until(handle: WorkerHandle, done, seconds: float = 60.0) -> list[ev.Event]:
    events = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        events += handle.poll(timeout=0.2)
        if done(events):
            return events
    raise AssertionError(f"timed out; events: {[(e.type, e.kind, getattr(e, 'message', '')) for e in events]}")


def config_for(root: Path, source: str, **extra) -> WorkerConfig:
    return WorkerConfig(settings=load_settings(root, {"device": "cpu", "threads": 1}), source=source,
                        preview=False, **extra)


def finished(events) -> bool:
    return any(e.kind == "source-finished" for e in events)


@pytest.mark.timeout(120)
@pytest.mark.slow
def test_worker_process_checks_in_from_a_folder_and_restarts_after_a_crash(people, data_root, tmp_path):
    slides = folder_of(tmp_path, [scene(people["yao"], 200), scene(people["stranger"], 250)])
    handle = WorkerHandle(config_for(data_root, str(slides), realtime=False, loop=True))
    handle.start()
    try:
        events = run_until(handle, lambda got: any(e.type == "checkin" for e in got))
        assert events[0].type in ("ready", "status")
        assert [e.name for e in events if e.type == "checkin"] == ["Yao"]
        os.kill(handle.process.pid, signal.SIGKILL)
        events = run_until(handle, lambda got: any(e.type == "ready" for e in got))
        restarted = [e for e in events if e.kind == "worker-restarted"]
        assert restarted and "restarted" in restarted[0].message
        assert handle.alive
    finally:
        handle.stop()
    assert not handle.alive


def checked_in_after_a_restart(events) -> bool:
    restarted = next((i for i, e in enumerate(events) if e.kind == "worker-restarted"), None)
    return restarted is not None and any(e.type == "checkin" for e in events[restarted:])


@contextlib.contextmanager
def display_lost(people, data_root, tmp_path, lose) -> Iterator[tuple[WorkerHandle, list[ev.Event]]]:
    """A worker showing the door on a display, that display lost by `lose()`: the handle and the events
    up to a check-in made after the restart that followed."""
    slides = folder_of(tmp_path, [scene(people["yao"], 200), scene(people["stranger"], 250)])
    config = dataclasses.replace(config_for(data_root, str(slides), realtime=False, loop=True), preview=True)
    handle = WorkerHandle(config)
    handle.start()
    try:
        run_until(handle, lambda got: any(e.kind == "preview-on" for e in got))
        lose()
        yield handle, run_until(handle, checked_in_after_a_restart, seconds=90)
    finally:
        handle.stop()


@pytest.mark.timeout(180)
@pytest.mark.slow
def test_a_door_display_that_stops_answering_leaves_recognition_going_without_it(people, data_root, tmp_path,
                                                                                 xvfb_server):
    """A frozen X server held the frame loop, which draws the door: for as long as it was frozen nobody was
    recorded, and nothing was said."""
    freeze = lambda: xvfb_server.send_signal(signal.SIGSTOP)  # noqa: E731 - thawed by the fixture
    with display_lost(people, data_root, tmp_path, freeze) as (handle, events):
        said = [e.message for e in events if e.kind in ("preview-unavailable", "worker-restarted")]
        assert "did not answer for 5 s" in said[0] and "without the door display" in said[1]
        assert handle.alive and not handle.config.preview and handle.restarts == 0


@pytest.mark.timeout(180)
@pytest.mark.slow
def test_a_door_display_that_goes_away_is_not_counted_as_a_crash(people, data_root, tmp_path, xvfb_server):
    """Qt ends the process when its display goes: that was said as a crash, counted towards the five that
    stop recognition, and the restarted worker tried the display again."""
    with display_lost(people, data_root, tmp_path, xvfb_server.kill) as (handle, events):
        said = next(e.message for e in events if e.kind == "worker-restarted")
        assert "without the door display, which went away" in said
        assert handle.alive and not handle.config.preview and handle.restarts == 0


@pytest.mark.timeout(120)
def test_a_stop_signal_to_the_whole_group_leaves_the_worker_to_its_station(data_root, tmp_path):
    """systemd's stop (SIGTERM to every process of the service) killed the worker, which was restarted
    while the station was stopping; Ctrl+C did the same."""
    handle = WorkerHandle(config_for(data_root, "99"))
    handle.start()
    try:
        run_until(handle, lambda got: any(e.kind == "camera-reconnecting" for e in got))
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            os.kill(handle.process.pid, sig)
        time.sleep(1.0)
        assert handle.alive and not [e for e in handle.poll(0.1) if e.kind == "worker-restarted"]
    finally:
        handle.stop()
    assert not handle.alive


@pytest.mark.timeout(120)
def test_a_worker_log_that_cannot_be_written_is_said_and_recognition_goes_on(data_root, tmp_path):
    """worker.log left as a folder (or by another user): the worker died at each start, five times over,
    its tracebacks drawn over the station's screen, and nobody was recognised."""
    log = tmp_path / "worker.log"
    log.mkdir()
    handle = WorkerHandle(config_for(data_root, "99", log_path=str(log)))
    handle.start()
    try:
        events = run_until(handle, lambda got: any(e.kind == "camera-reconnecting" for e in got))
        said = [e.message for e in events if e.kind == "worker-log"]
        assert said and said[0].startswith(f"{log}: cannot be written")
        assert handle.alive and not [e for e in events if e.kind == "worker-restarted"]
    finally:
        handle.stop()


@pytest.mark.timeout(120)
def test_a_clip_shorter_than_the_stats_period_is_said_to_have_given_pictures(data_root, tmp_path):
    """A 10-frame clip with nobody in it ended before the first stats: a headless run took it for a camera
    that gave no picture and voided the session."""
    clip = tmp_path / "hallway.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (320, 240))
    for _ in range(10):
        writer.write(np.full((240, 320, 3), 90, np.uint8))
    writer.release()
    handle = WorkerHandle(config_for(data_root, str(clip), realtime=False))
    handle.start()
    try:
        events = run_until(handle, finished)
    finally:
        handle.stop()
    ended = next(i for i, e in enumerate(events) if e.kind == "source-finished")
    assert sum(e.frames for e in events[:ended] if isinstance(e, ev.Stats)) > 0
    assert all(e.blank for e in events[:ended] if isinstance(e, ev.Stats))  # one flat grey: a picture of nothing


def test_a_picture_that_shows_nothing_is_told_from_an_empty_doorway(sample_photo):
    """A covered lens or a capture card without signal gave 'camera live, nobody in view' all day long."""
    from faceattend_tui.live.worker import blank_picture

    photo = cv2.imread(str(sample_photo("players.jpg")))
    assert not blank_picture(photo) and not blank_picture(None)
    assert blank_picture(np.zeros((720, 1280, 3), np.uint8)) and blank_picture(np.full((480, 640, 3), (200, 60, 0),
                                                                                         np.uint8))
    assert blank_picture(np.zeros((1, 1, 3), np.uint8))  # a stream of 1x1 frames
    noisy_dark = np.random.default_rng(1).integers(0, 12, (480, 640, 3), dtype=np.uint8)  # a dim room at night
    assert not blank_picture(noisy_dark)


@pytest.mark.timeout(60)
def test_a_worker_whose_station_died_while_it_loaded_ends_on_its_own(data_root):
    """Killed while its worker loaded the models, the station left a worker holding the camera for ever."""
    import dataclasses
    import queue

    from faceattend_tui.live.worker import Worker

    config = dataclasses.replace(config_for(data_root, "99"), station_pid=2**22 + 7)  # no such process
    began = time.monotonic()
    Worker(config, queue.Queue(), queue.Queue()).run()
    assert time.monotonic() - began < 30


@pytest.mark.timeout(120)
def test_worker_reports_bad_sources_and_keeps_serving(data_root, tmp_path):
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "notes.txt").write_text("not a photo")
    handle = WorkerHandle(config_for(data_root, "99"))
    handle.start()
    try:
        events = run_until(handle, lambda got: any(e.kind == "camera-reconnecting" for e in got))
        retries = [e for e in events if e.kind == "camera-reconnecting"]
        assert "99" in retries[0].message and retries[0].retry_in > 0  # a camera down at start is retried
        handle.send(ev.SetSource(str(junk)))
        events = run_until(handle, lambda got: any(e.type == "error" or e.kind == "camera-error" for e in got))
        assert any(str(junk) in e.message for e in events if hasattr(e, "message"))
        handle.send(ev.SetSource(str(tmp_path / "missing.mp4")))
        events = run_until(handle, lambda got: any(e.type == "error" for e in got))
        assert "missing.mp4" in [e for e in events if e.type == "error"][0].message
        assert handle.alive
    finally:
        handle.stop()


@pytest.mark.timeout(120)
@pytest.mark.slow
def test_a_manifest_gone_from_under_a_running_worker_leaves_the_people_loaded_recognised(people, data_root,
                                                                                          tmp_path):
    """The data folder renamed (or a restore by hand) under a running station: the reload found no manifest
    and recognised nobody from then on, unsaid."""
    root = tmp_path / "station"
    shutil.copytree(data_root, root)
    slides = folder_of(tmp_path, [scene(people["yao"], 200)])
    handle = WorkerHandle(config_for(root, str(slides), realtime=False, loop=True))
    handle.start()
    manifest = root / "database_tensor" / "manifest.json"
    try:
        run_until(handle, lambda got: any(e.type == "checkin" for e in got))
        manifest.rename(manifest.with_suffix(".moved"))
        events = run_until(handle, lambda got: any(e.kind == "gallery" and "is gone" in e.message for e in got))
        assert "the 1 person loaded is still recognised" in events[-1].message
        assert not any(isinstance(e, ev.GalleryLoaded) for e in events)
        manifest.with_suffix(".moved").rename(manifest)
        events = run_until(handle, lambda got: any(isinstance(e, ev.GalleryLoaded) for e in got))
        assert "1 person" in next(e.message for e in events if isinstance(e, ev.GalleryLoaded))
    finally:
        handle.stop()


@pytest.mark.timeout(120)
@pytest.mark.slow
def test_gallery_change_and_capture_take_effect_without_restart(engine, people, data_root, tmp_path):
    root = tmp_path / "station"
    shutil.copytree(data_root, root)
    slides = folder_of(tmp_path, [scene(people["stranger"], 250)])
    handle = WorkerHandle(config_for(root, str(slides), realtime=False, loop=True))
    handle.start()
    try:
        run_until(handle, lambda got: any(e.kind == "camera-opened" for e in got))
        handle.send(ev.StartCapture("r1", seconds=1.0, count=3))
        events = run_until(handle, lambda got: any(e.type == "capture" for e in got))
        capture = next(e for e in events if e.type == "capture")
        assert capture.request == "r1" and capture.match is None and 1 <= len(capture.samples) <= 3
        sample = capture.samples[0]
        assert len(sample.embedding) == 512 and 0 < sample.quality <= 1 and sample.photo_jpeg

        from faceattend_tui.gallery.enroll import add_samples

        recognizer = RecognizerId("w600k_mbf", engine.recognizer.sha256, 512)
        add_samples(load_settings(root), "Newcomer", [s.photo_jpeg for s in capture.samples],
                    np.stack([s.embedding for s in capture.samples]), recognizer)
        events = run_until(handle, lambda got: any(e.type == "checkin" for e in got))
        assert any(e.kind == "gallery" and "2 people" in e.message for e in events)
        assert [e.name for e in events if e.type == "checkin"] == ["Newcomer"]
    finally:
        handle.stop()


@pytest.mark.timeout(120)
def test_watch_command_prints_json_events_and_exits_when_the_folder_ends(people, data_root, tmp_path, capsys):
    from faceattend_tui.cli import main

    slides = folder_of(tmp_path, [scene(people["yao"], 200)])
    (data_root / "faceattend.toml").write_text(f"source = {str(slides)!r}\n")  # a URL's password: not in argv
    code = main(["watch", "--data", str(data_root), "--device", "cpu", "--json",
                 "--no-preview", "--every-frame", "--max-seconds", "90"])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0
    assert all(next(iter(line)) == "type" for line in lines)
    checkins = [line for line in lines if line["type"] == "checkin"]
    assert [c["name"] for c in checkins] == ["Yao"]
    assert set(checkins[0]) >= {"name", "similarity", "track", "time"} and "face_jpeg" not in checkins[0]
    assert lines[-1]["type"] == "status" and lines[-1]["kind"] == "source-finished"
    assert load_settings(data_root).threshold == pytest.approx(Settings().threshold)


@pytest.mark.timeout(180)
@pytest.mark.slow
def test_a_camera_mounted_sideways_checks_people_in_once_its_picture_is_turned(people, data_root, tmp_path, capsys):
    from faceattend_tui.cli import main

    across_the_room = cv2.resize(people["yao"], None, fx=0.3, fy=0.3)  # a face about 40 px high
    sideways = cv2.rotate(scene(across_the_room, 300), cv2.ROTATE_90_COUNTERCLOCKWISE)
    slides = folder_of(tmp_path, [sideways])

    def names(*extra: str) -> list[str]:
        code = main(["watch", "--source", str(slides), "--data", str(data_root), "--device", "cpu", "--json",
                     "--no-preview", "--every-frame", "--max-seconds", "90", *extra])
        assert code == 0
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        return [line["name"] for line in lines if line["type"] == "checkin"]

    assert names() == []  # a face this small lying on its side is not found
    assert names("--camera-rotate", "90") == ["Yao"]


@pytest.mark.timeout(120)
@pytest.mark.slow
def test_one_person_under_two_names_is_said_when_the_worker_loads(engine, people, data_root, tmp_path, capsys):
    from faceattend_tui.cli import main

    root = tmp_path / "station"
    shutil.copytree(data_root, root)
    cv2.imwrite(str(root / "database_image" / "Yao Again.jpg"), people["yao"])  # enrolled twice
    cv2.imwrite(str(root / "database_image" / "Other.jpg"), people["stranger"])
    Extractor(engine, root / "database_image", root / "database_tensor").run()
    slides = folder_of(tmp_path, [scene(people["stranger"], 200)])
    assert main(["watch", "--data", str(root), "--source", str(slides), "--device", "cpu", "--json",
                 "--no-preview", "--max-seconds", "60"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    alike = [line for line in lines if line.get("kind") == "look-alike"]
    assert len(alike) == 1 and sorted(alike[0]["folders"]) == ["Yao", "Yao Again"]
    assert alike[0]["similarity"] > 0.9 and "would check in as both" in alike[0]["message"]


def test_one_frame_that_cannot_be_drawn_leaves_the_door_display_open(monkeypatch):
    """No window here (Qt keeps one display per process): what reaches the screen is recorded."""
    from faceattend_tui.live import preview as module

    shown = []
    monkeypatch.setattr(module.cv2, "imshow", lambda title, image: shown.append(image.shape))
    monkeypatch.setattr(module.cv2, "waitKey", lambda delay: -1)
    preview = module.Preview("fullscreen")
    preview.open, preview.size = True, (1280, 800)
    preview.show(np.zeros((1, 4000, 3), np.uint8), [], DoorState(), time.time())  # a corrupt frame of a stream
    assert preview.open and preview.problem is None and shown == []
    preview.show(np.zeros((480, 640, 3), np.uint8), [], DoorState(), time.time())
    assert preview.open and len(shown) == 1


def test_preview_window_opens_on_a_virtual_display(xvfb_display):
    from faceattend_tui.live.preview import Preview

    preview = Preview()
    assert preview.start() is None and preview.open
    preview.show(np.zeros((240, 320, 3), np.uint8), [Overlay((10, 10, 80, 90), "pending", "", 1)], DoorState(),
                 time.time())
    assert preview.open and preview.problem is None
    preview.stop()
    assert not preview.open


def test_unreachable_display_is_reported_not_fatal(monkeypatch):
    from faceattend_tui.live.preview import Preview

    free = next(n for n in range(77, 200) if not Path(f"/tmp/.X11-unix/X{n}").exists())
    monkeypatch.setenv("DISPLAY", f":{free}")  # no X server there
    preview = Preview()
    problem = preview.start()
    assert problem is not None and not preview.open


def test_a_capture_tells_a_face_cut_off_at_the_edge_and_prefers_the_whole_one(engine, people):
    """Half a face at the picture's edge scored quality 1.00 and frontality 1.00, and was saved as it was."""
    from faceattend_tui.live.capture import Capture

    whole = scene(people["yao"], 200)
    half = np.roll(whole, -320, axis=1)  # the face moved left until half of it is outside the picture
    half[:, -320:] = 90
    capture = Capture("r1", until=0.0, count=5, min_face=40)
    for frame in (half, whole):
        capture.offer(engine, frame, engine.detect(frame))
    cut, kept = capture.samples
    assert (cut.cut, kept.cut) == (True, False) and cut.quality < kept.quality
    assert capture.best()[0] is kept and capture.best()[0].as_event().cut is False


def test_a_capture_leaves_out_a_passer_by_and_refuses_two_people_taking_turns():
    from faceattend_tui.live.capture import Capture, Sample

    def sample(vector, quality_size: int) -> Sample:
        v = np.asarray(vector, np.float32)
        return Sample(b"jpeg", v / np.linalg.norm(v), quality_size, 200.0, 0.95)

    rng = np.random.default_rng(3)
    ann, bob = rng.standard_normal(512), rng.standard_normal(512)

    def capture_of(anns: int, bobs: int) -> Capture:
        capture = Capture("r", 0.0, count=5, min_face=Settings().capture_min_face)
        capture.samples = [sample(ann + 0.3 * rng.standard_normal(512), 120) for _ in range(anns)]
        capture.samples += [sample(bob + 0.3 * rng.standard_normal(512), 100) for _ in range(bobs)]
        return capture

    passing = capture_of(12, 1)  # Bob walked past behind Ann for one picture
    best = passing.best()
    assert not passing.mixed() and len(best) == 5
    assert all(float(s.embedding @ (ann / np.linalg.norm(ann))) > 0.8 for s in best)
    assert capture_of(3, 3).mixed() and capture_of(10, 3).mixed()  # which of them is meant cannot be told


@pytest.mark.timeout(120)
@pytest.mark.slow
def test_a_capture_ends_on_time_when_the_camera_gives_no_picture(data_root):
    handle = WorkerHandle(config_for(data_root, "99"))  # no such camera: retried, no frames
    handle.start()
    try:
        run_until(handle, lambda got: any(e.type == "ready" for e in got))
        started = time.monotonic()
        handle.send(ev.StartCapture("r1", seconds=0.5, count=3))
        events = run_until(handle, lambda got: any(e.type == "capture" for e in got), seconds=20)
        capture = next(e for e in events if e.type == "capture")
        assert capture.samples == () and "no picture came from the camera" in capture.message
        assert time.monotonic() - started < 5
    finally:
        handle.stop()



def test_the_worker_shows_what_the_station_decided_and_strangers_get_see_staff(tmp_path):
    import queue

    from faceattend_tui.live.worker import Worker

    worker = Worker(config_for(tmp_path, "0"), queue.Queue(), queue.Queue())
    worker._handle(ev.SetSession("Maths 3A", present=3, expected=25))
    worker._handle(ev.ShowOutcome("late", "Ann Lee", 4, ev.AT_LATE, time="09:14", deadline="09:10"))
    banner = worker.door.current(time.monotonic())
    assert (banner.kind, banner.title, banner.track) == ("late", "Ann Lee", 4)
    assert (worker.door.session, worker.door.present, worker.door.expected) == ("Maths 3A", 3, 25)
    worker._see_staff(9)
    assert worker.door.current(time.monotonic()).kind == "see-staff"
    assert worker.door.current(time.monotonic() + worker.settings.banner_seconds + 1) is None


def test_the_banner_of_someone_removed_or_erased_leaves_the_door_at_once(tmp_path):
    """Erased while their check-in banner showed, their name stayed at the door until the banner's time ran out
    (30 s where banner_seconds is 30)."""
    import queue
    from types import SimpleNamespace

    from faceattend_tui.gallery.matcher import Gallery
    from faceattend_tui.live.worker import Worker

    def gallery(*names: str) -> Gallery:
        return Gallery(list(names), np.eye(len(names), 512, dtype=np.float32), np.arange(len(names)))

    worker = Worker(config_for(tmp_path, "0"), queue.Queue(), queue.Queue())
    worker.recognizer = SimpleNamespace(gallery=gallery("S1", "S2"), names={"S1": "محمد عبد الله", "S2": "Bo Lin"},
                                        set_gallery=lambda g: setattr(worker.recognizer, "gallery", g))
    worker._handle(ev.ShowOutcome("checked-in", "Bo Lin", 3, ""))
    worker._handle(ev.ShowOutcome("checked-in", "محمد عبد الله", 4, ""))
    worker._see_staff(9)
    worker._load_gallery = lambda: gallery("S2")
    worker.reload_gallery()
    shown = [(b.kind, b.title) for b in worker.door.banners]
    assert shown == [("checked-in", "Bo Lin"), ("see-staff", "Not recognised")]
    worker.recognizer.names = {"S2": "Bo Lin", "S3": "Bo Lin"}  # a namesake erased: the other keeps theirs
    worker.recognizer.gallery = gallery("S2", "S3")
    worker.recognizer.tracker = SimpleNamespace(tracks=[SimpleNamespace(id=5, state="known", name="S3")])
    worker._handle(ev.ShowOutcome("checked-in", "Bo Lin", 5, ""))
    worker.reload_gallery()
    assert [(b.title, b.track) for b in worker.door.banners if b.kind == "checked-in"] == [("Bo Lin", 3)]


class BlinkingLandmarks:
    """The real 106-point model, with the eyelids closed on chosen frames (a blink without a video)."""

    def __init__(self, model, closed_frames: set[int]):
        self.model, self.closed, self.frame = model, closed_frames, 0

    def points(self, image, faces):
        from faceattend_tui.vision.layout106 import LEFT_EYE, RIGHT_EYE

        points = self.model.points(image, faces)
        if self.frame in self.closed:
            for eye in (RIGHT_EYE, LEFT_EYE):
                lids = points[:, list(eye)]
                centre = lids.mean(axis=1, keepdims=True)
                points[:, list(eye), 1] = (centre[..., 1] + 0.15 * (lids[..., 1] - centre[..., 1]))
        self.frame += 1
        return points


@pytest.fixture(scope="module")
def landmarks_model(models_dir):
    from faceattend_tui.vision import landmarks106
    from faceattend_tui.vision.models import find_asset
    from faceattend_tui.vision.runtime import RuntimeOptions

    return landmarks106.load(find_asset("landmarks_2d106", models_dir.parent), RuntimeOptions("cpu", 1))


@pytest.mark.parametrize("blinks", [False, True])
@pytest.mark.slow
def test_with_liveness_on_a_face_checks_in_only_after_it_blinks(engine, people, data_root, landmarks_model, blinks):
    closed = {14, 15} if blinks else set()
    saved = engine.landmarks
    engine.landmarks = BlinkingLandmarks(landmarks_model, closed)
    try:
        live = LiveRecognizer(engine, gallery_of(engine, data_root), Settings(liveness="blink"))
        events = []
        for i in range(40):
            events += [(i, e) for e in live.process(scene(people["yao"], 200), now=i / 15)]
            if i == 8:
                assert [o.label for o in live.overlays] == ["blink"]  # recognised, asked for a sign of life
    finally:
        engine.landmarks = saved
    checkins = [(i, e) for i, e in events if e.type == "checkin"]
    if not blinks:
        assert checkins == []  # a still picture of Yao never checks in
        return
    ((when, checkin),) = checkins
    assert when >= 16 and checkin.name == "Yao"  # after the eyes opened again, not before
    assert checkin.time == pytest.approx(when / 15)  # let in then, not when first recognised (late or not)
    assert checkin.evidence["blink_time"] is not None and checkin.evidence["frames"] >= 16


def test_a_face_held_for_want_of_a_sign_of_life_is_said_once(engine, people, data_root, landmarks_model):
    """Recognised but never blinking: staff could not tell it from nobody coming."""
    saved = engine.landmarks
    engine.landmarks = BlinkingLandmarks(landmarks_model, set())
    try:
        live = LiveRecognizer(engine, gallery_of(engine, data_root), Settings(liveness="blink"))
        events = [(i, e) for i in range(120) for e in live.process(scene(people["yao"], 200), now=i / 15)]
    finally:
        engine.landmarks = saved
    ((when, waiting),) = [(i, e) for i, e in events if e.type == "waiting"]
    assert (waiting.name, waiting.asked) == ("Yao", "blink") and 5 <= when / 15 <= 6  # some 5 s after recognised
    assert not [e for _, e in events if e.type == "checkin"]


def test_a_face_that_blinked_before_it_was_recognised_checks_in_with_its_evidence(engine, people, data_root,
                                                                                  landmarks_model):
    saved = engine.landmarks
    engine.landmarks = BlinkingLandmarks(landmarks_model, {2, 3})  # live long before the votes agree
    try:
        settings = Settings(liveness="blink", votes_needed=10, window_votes=10, window_seconds=None)
        live = LiveRecognizer(engine, gallery_of(engine, data_root), settings)
        events = [e for i in range(24) for e in live.process(scene(people["yao"], 200), now=i / 15)]
    finally:
        engine.landmarks = saved
    (checkin,) = [e for e in events if e.type == "checkin"]
    assert checkin.name == "Yao" and checkin.evidence is not None and checkin.evidence["blink_time"] is not None


def test_a_track_that_names_someone_else_needs_their_own_sign_of_life(engine, people, data_root, landmarks_model):
    """A phone held up where a person stood, looking enough like them that the track goes on: the person's
    blink must not check in whoever the phone shows."""
    from faceattend_tui.gallery.matcher import Match

    saved = engine.landmarks
    engine.landmarks = BlinkingLandmarks(landmarks_model, {14, 15})  # Yao blinks once, early
    try:
        live = LiveRecognizer(engine, gallery_of(engine, data_root), Settings(liveness="blink"))
        events = [e for i in range(25) for e in live.process(scene(people["yao"], 200), now=i / 15)]
        live.gallery.match = lambda embeddings, *rest: [Match("Eve", 0.9, "Eve") for _ in embeddings]
        events += [e for i in range(25, 70) for e in live.process(scene(people["yao"], 200), now=i / 15)]
    finally:
        engine.landmarks = saved
    assert [e.name for e in events if e.type == "checkin"] == ["Yao"]  # Eve never blinked


def test_a_capture_with_two_faces_in_view_says_so(engine, people):
    from faceattend_tui.live.capture import Capture

    two = scene(people["yao"], 20)
    two[100:380, 380:600] = people["stranger"]
    alone, crowded = (Capture("r", 0.0, count=3, min_face=40) for _ in range(2))
    for _ in range(3):
        alone.offer(engine, scene(people["yao"], 200), engine.detect(scene(people["yao"], 200)))
        crowded.offer(engine, two, engine.detect(two))
    assert (alone.crowded, crowded.crowded) == (0, 3) and len(crowded.samples) == 3


def test_a_capture_where_two_people_take_turns_is_refused_with_real_faces(engine, people):
    from faceattend_tui.live.capture import Capture
    from faceattend_tui.vision.pipeline import largest

    def alone(photo: np.ndarray) -> np.ndarray:  # a portrait with no one else in it
        return cv2.resize(face_crop(photo, largest(engine.detect(photo)), 1.4), (220, 280))

    yao, stranger = alone(people["yao"]), alone(people["stranger"])
    turns = Capture("r", 0.0, count=3, min_face=40)
    for i in range(6):  # one steps out, the other steps in: never two faces at once
        frame = scene(yao if i % 2 else stranger, 200)
        turns.offer(engine, frame, engine.detect(frame))
    assert turns.crowded == 0 and turns.someone_else() == 3 and turns.mixed()
    steady = Capture("r", 0.0, count=3, min_face=40)
    for x in (180, 200, 220, 240):
        frame = scene(people["yao"], x)
        steady.offer(engine, frame, engine.detect(frame))
    assert not steady.mixed() and steady.best()


class DeadProcess:
    exitcode = -9

    def is_alive(self) -> bool:
        return False


def test_the_worker_is_restarted_after_crashes_days_apart_but_not_after_five_in_a_row(tmp_path, monkeypatch):
    handle = WorkerHandle(config_for(tmp_path, "0"))
    monkeypatch.setattr(handle, "start", lambda: setattr(handle, "started", time.monotonic()))
    monkeypatch.setattr(time, "sleep", lambda _: None)
    handle.restarts, handle.started, handle.process = 5, time.monotonic() - 3 * 24 * 3600, DeadProcess()
    (event,) = handle._on_death()  # ran for days since its last crash: not a loop of crashes
    assert isinstance(event, ev.Notice) and handle.restarts == 1
    for _ in range(4):
        handle.process = DeadProcess()
        handle._on_death()
    handle.process = DeadProcess()
    (event,) = handle._on_death()  # the sixth crash within seconds: it gives up, and says so
    assert isinstance(event, ev.Error) and event.fatal and "not restarting" in event.message
    assert "was killed by SIGKILL (out of memory? see the kernel's log" in event.message  # not "exit code -9"


class WindowKilled(DeadProcess):
    exitcode = 1  # what Qt ends the process with when its link to the display is cut


def test_a_door_window_killed_from_outside_is_no_crash_and_the_header_says_the_preview_is_off(tmp_path, monkeypatch):
    """xkill on the door window, six times: each was counted as a crash, the sixth stopped recognition for
    good, and after a restart without the window the header still said "preview on"."""
    import faceattend_tui.live.worker as worker_module

    handle = WorkerHandle(dataclasses.replace(config_for(tmp_path, "0"), preview=True))
    monkeypatch.setattr(handle, "start", lambda: setattr(handle, "started", time.monotonic()))
    monkeypatch.setattr(worker_module, "display_problem", lambda: None)  # the display itself is fine
    for _ in range(6):
        handle.config.preview, handle.process = True, WindowKilled()  # p opened it again
        status, notice = handle._on_death()
        assert (status.kind, notice.kind) == ("preview-off", "worker-restarted") and "closed from outside" in \
            notice.message
        assert handle.restarts == 0 and not handle.config.preview
    handle.process = WindowKilled()  # no window open: an exit of 1 is a crash like any other
    (event,) = handle._on_death()
    assert "exit code 1" in event.message and handle.restarts == 1


def test_a_worker_that_ends_opening_the_door_display_just_asked_for_is_started_again_to_open_it(tmp_path,
                                                                                                 monkeypatch):
    """The X server restarted while the preview was off: p ended the worker (Qt's link to the old server was
    dead), which came back without the window, said as "closed from outside"; only a second p opened it."""
    import queue

    import faceattend_tui.live.worker as worker_module

    handle = WorkerHandle(config_for(tmp_path, "0"))
    monkeypatch.setattr(handle, "start", lambda: setattr(handle, "started", time.monotonic()))
    monkeypatch.setattr(worker_module, "display_problem", lambda: None)  # the new server answers
    handle.commands = queue.Queue()
    handle.send(ev.SetPreview(True))  # p
    handle.process = WindowKilled()
    (notice,) = handle._on_death()
    assert "restarted to open the door display" in notice.message and handle.config.preview
    assert handle.restarts == 0  # no crash
    handle.process = WindowKilled()  # it ends so again: the window goes, as any window cut from outside
    status, notice = handle._on_death()
    assert status.kind == "preview-off" and not handle.config.preview


def test_a_door_window_killed_from_outside_just_after_it_opened_is_not_opened_again(tmp_path, monkeypatch):
    """xkill 3 s after p: the worker was started again to open the window (as after an X server restart), and
    said the display had gone away and come back, which it had not."""
    import queue

    import faceattend_tui.live.worker as worker_module

    handle = WorkerHandle(config_for(tmp_path, "0"))
    monkeypatch.setattr(handle, "start", lambda: setattr(handle, "started", time.monotonic()))
    monkeypatch.setattr(worker_module, "display_problem", lambda: None)
    handle.commands, handle.events = queue.Queue(), queue.Queue()
    handle.send(ev.SetPreview(True))  # p
    handle.events.put(ev.PreviewStatus(message="preview window open", state="on"))
    handle.process = WindowKilled()  # xkill
    kinds = [e.kind for e in handle.poll(timeout=0.01)]
    assert kinds == ["preview-on", "preview-off", "worker-restarted"] and not handle.config.preview


def test_a_worker_that_says_it_cannot_work_is_not_restarted(tmp_path, monkeypatch):
    """A model that cannot run fails the same way every time: restarting it only delays saying so."""
    handle = WorkerHandle(config_for(tmp_path, "0"))
    handle.events = __import__("queue").Queue()
    handle.events.put(ev.Error(message="worker failed: models/x.onnx: the recogniser cannot run", fatal=True))
    handle.process = DeadProcess()
    events = handle.poll(timeout=0.01)
    assert [type(e).__name__ for e in events] == ["Error", "Error"] and "not restarting" in events[1].message


def test_the_workers_log_begins_afresh_at_its_limit_keeping_the_last_one(tmp_path):
    import subprocess
    import sys

    log = tmp_path / "worker.log"
    program = (
        "import sys; from faceattend_tui.live import worker\n"
        "worker.LOG_LIMIT = 500\n"
        f"worker.redirect_output({str(log)!r})\n"
        "for _ in range(30): print('[mjpeg @ 0x7f07] overread 8', flush=True)\n"  # a damaged stream, a line a frame
        f"worker.keep_log_small({str(log)!r})\n"
        "print('after the limit', flush=True)\n"
    )
    subprocess.run([sys.executable, "-c", program], check=True, timeout=60)
    assert log.read_text() == "after the limit\n"
    assert (tmp_path / "worker.log.1").read_text().count("overread") == 30


WORKER_DIES_WITH_A_LARGE_ROSTER = """
import sys, time
from pathlib import Path
from faceattend_tui.config import load_settings
from faceattend_tui.live import events as ev
from faceattend_tui.live.worker import WorkerConfig, WorkerHandle

def main():
    settings = load_settings(Path(sys.argv[1]), {"device": "cuda"})  # no GPU here: the worker stops at once
    names = {f"S{i:05d}": f"Student Number {i}" for i in range(5000)}  # 150 KiB of names for its first command
    handle = WorkerHandle(WorkerConfig(settings=settings, source="0", preview=False, names=names), restart=False)
    handle.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(isinstance(e, ev.Error) and e.fatal for e in handle.poll(0.2)):
        pass
    handle.stop()
    print("stopped")

if __name__ == "__main__":
    main()
"""


@pytest.mark.timeout(120)
def test_a_station_whose_worker_died_before_reading_a_large_rosters_names_still_exits(tmp_path):
    """5,000 names fill the pipe to a worker that never reads them: the exit must not wait for it."""
    import subprocess
    import sys

    if shutil.which("nvidia-smi"):
        pytest.skip("a GPU here: the worker would not stop at once")
    script = tmp_path / "dies.py"
    script.write_text(WORKER_DIES_WITH_A_LARGE_ROSTER)
    done = subprocess.run([sys.executable, str(script), str(tmp_path / "data")], capture_output=True, text=True,
                          timeout=90, cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0 and done.stdout.strip() == "stopped", done.stderr[-2000:]


SIGNAL_MASKS = '''
import multiprocessing as mp, signal, time
from multiprocessing import resource_tracker
from faceattend_tui.live.worker import deaf_children

def ignored(pid):
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1], 16) for line in status if line.startswith("SigIgn:"))

if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)  # as a terminal starts it, whatever started this one
    ctx = mp.get_context("spawn")
    with deaf_children():
        queue = ctx.Queue()  # as the worker's: the first one starts the resource tracker
        child = ctx.Process(target=time.sleep, args=(2,))
        child.start()
    time.sleep(0.5)
    for pid in (child.pid, resource_tracker._resource_tracker._pid):
        mask = ignored(pid)
        print(bool(mask & 1 << (signal.SIGHUP - 1)), bool(mask & 1 << (signal.SIGINT - 1)))
    print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)
    child.join()
'''


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads the signal masks in /proc")
def test_the_worker_and_the_resource_tracker_start_deaf_to_ctrl_c_and_a_hang_up(tmp_path):
    """A hang-up to the station's group (an SSH session closed) killed multiprocessing's resource tracker;
    the station started another, which printed tracebacks into a service's journal on a clean stop."""
    import subprocess
    import sys

    script = tmp_path / "masks.py"
    script.write_text(SIGNAL_MASKS, encoding="utf-8")
    shown = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert shown.stdout.split("\n")[:3] == ["True True", "True True", "True"], shown.stderr


@pytest.mark.timeout(120)
def test_a_door_language_file_that_cannot_be_used_is_said_and_recognition_goes_on(data_root, tmp_path):
    """A German file saved by Notepad (a byte-order mark) crashed the worker five times over ("unknown notice
    topic"), and nobody was recognised all day."""
    import dataclasses
    import queue

    from faceattend_tui.live.worker import Worker

    lang = data_root / "models" / "lang"
    lang.mkdir(parents=True, exist_ok=True)
    (lang / "de.toml").write_bytes("\ufeff\"checked in\" = \"angemeldet\"\n".encode())
    (lang / "fr-CA.toml").write_text("this is not toml = = =\n", encoding="utf-8")
    try:
        for locale, said in (("de-DE", None), ("fr-CA", "door display in fr: ")):
            config = config_for(data_root, str(tmp_path / "none"))
            config = dataclasses.replace(config, settings=dataclasses.replace(config.settings, locale=locale))
            events: queue.Queue = queue.Queue()
            worker = Worker(config, queue.Queue(), events)
            worker.start()
            try:
                got = [events.get_nowait() for _ in range(events.qsize())]
            finally:
                worker._close_source()
            assert any(isinstance(e, ev.Ready) for e in got), got
            notices = [e.message for e in got if isinstance(e, ev.Notice) and e.topic == "door-words"]
            assert (notices[0].startswith(said) if said else notices == []), notices
            assert worker.door.words.tag == ("de" if said is None else "fr")
            if said is None:
                assert worker.door.words.say("checked in") == "angemeldet"
    finally:
        shutil.rmtree(lang)


def test_a_worker_that_cannot_be_started_is_said_with_the_limit_that_stopped_it(data_root, monkeypatch):
    """Out of file handles, the station ended with 'error: Too many open files', naming nothing; a restart
    that failed the same way would have ended the station with a traceback."""
    import errno

    from faceattend_tui.errors import FaceattendError

    handle = WorkerHandle(config_for(data_root, "99"))

    def no_handles() -> None:
        raise OSError(errno.EMFILE, "Too many open files")

    monkeypatch.setattr(handle, "_launch", no_handles)
    with pytest.raises(FaceattendError, match=r"cannot start the recognition worker: Too many open files \(this "
                                              r"process may open \d+ files: see `ulimit -n`\)"):
        handle.start()
    handle.restart, handle.process = True, None
    (error,) = handle._on_death()
    assert isinstance(error, ev.Error) and error.fatal and "cannot start the recognition worker" in error.message


def test_a_worker_stopped_with_more_unread_events_than_its_pipe_holds_gives_every_one_back(tmp_path, monkeypatch):
    """stop() waited for the worker to end before reading its events: one whose unread events filled the pipe
    could not end, was killed after the wait, and every event it still held was lost (18 of 26 check-ins)."""
    import fakes

    import faceattend_tui.live.worker as worker_module

    monkeypatch.setattr(worker_module, "worker_main", fakes.chatty_worker)
    handle = WorkerHandle(WorkerConfig(settings=load_settings(tmp_path), source="0"), restart=False)
    handle.start()
    time.sleep(0.5)  # none read: the pipe fills
    left = handle.stop(timeout=4.0)
    assert [e.message[:4] for e in left] == [f"{n:04d}" for n in range(300)]


@pytest.mark.parametrize("first", ["stranger", "fade", "picture", "picture-fading"])
def test_a_strangers_blink_does_not_check_in_a_picture_in_their_place(engine, people, data_root, landmarks_model,
                                                                      first):
    """Someone not enrolled blinks where a photo of someone enrolled is shown: before it (while the station
    still decides who they are; the photo cut or faded in over 1.3 s), while the photo waits for a sign of
    life, or after the photo waiting for one faded slowly into them: the blink was not Yao's."""
    def alone(photo: np.ndarray) -> np.ndarray:
        return cv2.resize(face_crop(photo, engine.detect(photo)[0], 1.4), (220, 280))

    yao, stranger = alone(people["yao"]), alone(people["stranger"])
    fade = [cv2.addWeighted(stranger, 1 - k / 20, yao, k / 20, 0) for k in range(1, 20)]
    shown = {"stranger": [stranger] * 8 + [yao] * 52, "fade": [stranger] * 8 + fade + [yao] * 40,
             "picture": [yao] * 20 + [stranger] * 8 + [yao] * 40,
             "picture-fading": [yao] * 20 + fade[::-1] + [stranger] * 20 + fade + [yao] * 40}[first]
    blink = {"picture": 23, "picture-fading": 44}.get(first, 3)
    saved = engine.landmarks
    engine.landmarks = BlinkingLandmarks(landmarks_model, {blink, blink + 1})  # the stranger blinks
    try:
        live = LiveRecognizer(engine, gallery_of(engine, data_root), Settings(liveness="blink"))
        events = [e for i, face in enumerate(shown) for e in live.process(scene(face, 200), now=i / 15)]
    finally:
        engine.landmarks = saved
    assert [e.type for e in events if e.type == "checkin"] == []
    assert [o.label for o in live.overlays] == ["blink"]  # Yao is asked for their own sign of life


def test_a_face_held_for_a_sign_of_life_of_someone_removed_meanwhile_never_checks_in(engine, people, data_root,
                                                                                     landmarks_model):
    """Erased or removed while their face waited for a blink: the reloaded gallery has no Yao, and the blink
    after it must not release the check-in held for them."""
    from faceattend_tui.gallery.matcher import Gallery

    saved = engine.landmarks
    engine.landmarks = BlinkingLandmarks(landmarks_model, {30, 31})
    try:
        live = LiveRecognizer(engine, gallery_of(engine, data_root), Settings(liveness="blink"))
        events = [e for i in range(20) for e in live.process(scene(people["yao"], 200), now=i / 15)]
        assert live.gate is not None and live.gate.held  # recognised, waiting for the blink
        live.set_gallery(Gallery.from_people({}, engine.embedder.dim))
        events += [e for i in range(20, 50) for e in live.process(scene(people["yao"], 200), now=i / 15)]
    finally:
        engine.landmarks = saved
    assert [e for e in events if e.type == "checkin"] == []


def test_a_face_waiting_for_a_sign_of_life_and_hidden_a_moment_by_someone_else_checks_in_when_it_blinks(
        engine, people, data_root, landmarks_model):
    def alone(photo: np.ndarray) -> np.ndarray:
        return cv2.resize(face_crop(photo, engine.detect(photo)[0], 1.4), (220, 280))

    yao, stranger = alone(people["yao"]), alone(people["stranger"])
    shown = [yao] * 20 + [stranger] * 8 + [yao] * 40
    saved = engine.landmarks
    engine.landmarks = BlinkingLandmarks(landmarks_model, {50, 51})  # Yao blinks after the other stepped away
    try:
        live = LiveRecognizer(engine, gallery_of(engine, data_root), Settings(liveness="blink"))
        events = [(i, e) for i, face in enumerate(shown) for e in live.process(scene(face, 200), now=i / 15)]
    finally:
        engine.landmarks = saved
    ((when, checkin),) = [(i, e) for i, e in events if e.type == "checkin"]
    assert checkin.name == "Yao" and when > 51
