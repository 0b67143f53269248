"""The worker's event vocabulary: typed records that pickle, print as JSON lines and are all handled."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
from fakes import FakeWorker, enroll_fake_people

from faceattend_tui.config import load_settings
from faceattend_tui.live import events as ev
from faceattend_tui.station import Station
from faceattend_tui.vision.identity import RecognizerId

SAMPLE = ev.CaptureSample(photo_jpeg=b"\xff\xd8jpeg", embedding=np.ones(4, np.float32) / 2, size=120,
                          sharpness=180.0, frontality=0.9, quality=0.8)

EXAMPLES = [
    ev.Ready(device="cpu", detector="scrfd_500m_bnkps", recognizer="w600k_mbf", recognizer_sha256="0" * 64,
             embedding_dim=512, people=3, pid=42),
    ev.Checkin(name="Ann", similarity=0.71, track=3, time=1000.0, votes=3, face_jpeg=b"\xff\xd8", sent=1000.1),
    ev.Unknown(track=4, time=1001.0),
    ev.Spoof(name="Ann", track=5, time=1002.0, evidence={"frames": 30, "flat_frames": 6}),
    ev.Waiting(name="Ann", track=6, time=1003.0, asked="blink"),
    ev.Stats(fps=29.5, detect_ms=11.0, track_ms=0.1, embed_ms=4.0, faces=2, tracks=2, frames=30, dropped=1),
    ev.CameraStatus(state="reconnecting", message="retrying in 1 s (lost camera 0)", source="camera 0",
                    retry_in=1.0),
    ev.SourceFinished(message="source finished: demo"),
    ev.PreviewStatus(state="unavailable", message="preview unavailable: no display"),
    ev.GalleryLoaded(message="gallery loaded: 3 people, 5 templates", people=3),
    ev.LookAlike(message="Ann and Ann B look like one person", folders=("Ann", "Ann B"), similarity=0.87),
    ev.Busy(message="35 faces in view: recognising 6 per frame, the rest wait their turn"),
    ev.Notice(topic="worker-restarted", message="recognition worker stopped (exit code -9); restarted (1)"),
    ev.Error(message="cannot open video file x.avi", fatal=False),
    ev.CaptureResult(request="r1", samples=(SAMPLE,), match=ev.MatchHint(name="Ann", similarity=0.6)),
]


def test_every_kind_has_an_example():
    assert {type(e) for e in EXAMPLES} == set(ev.EVENT_TYPES)


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda e: type(e).__name__)
def test_events_cross_a_process_queue_as_they_are(event):
    again = pickle.loads(pickle.dumps(event))
    assert type(again) is type(event) and ev.as_json(again) == ev.as_json(event)


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda e: type(e).__name__)
def test_json_lines_put_type_first_and_leave_binary_data_out(event):
    line = ev.as_json(event)
    assert next(iter(line)) == "type" and line["type"] == event.type
    text = json.dumps(line)  # everything left is plain JSON
    assert "jpeg" not in text and "\\u00ff" not in text


def test_status_json_keeps_the_documented_kinds():
    assert ev.as_json(ev.SourceFinished(message="source finished: demo")) == {
        "type": "status", "kind": "source-finished", "message": "source finished: demo"}
    opened = ev.as_json(ev.CameraStatus(state="opened", message="opened camera 0", source="camera 0"))
    assert opened == {"type": "status", "kind": "camera-opened", "message": "opened camera 0", "source": "camera 0"}
    checkin = ev.as_json(EXAMPLES[1])
    assert list(checkin) == ["type", "name", "similarity", "track", "time", "votes"]


def test_checkins_and_refused_pictures_name_their_folder_and_the_json_keeps_name():
    for event in (EXAMPLES[1], EXAMPLES[3]):
        assert event.folder == "Ann" == ev.about_folder(event)
        assert ev.as_json(event)["name"] == "Ann" and "folder" not in ev.as_json(event)


def test_the_ready_event_names_the_recogniser():
    assert EXAMPLES[0].recognizer_identity() == RecognizerId("w600k_mbf", "0" * 64, 512)


def test_unknown_states_and_topics_are_refused():
    with pytest.raises(ValueError):
        ev.CameraStatus(state="exploded", message="?", source="camera 0")
    with pytest.raises(ValueError):
        ev.Notice(topic="roster", message="nothing produces this")
    with pytest.raises(TypeError):
        ev.as_json({"type": "checkin"})


@pytest.fixture
def station(tmp_path):
    enroll_fake_people(tmp_path, ["Ann"])
    made = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker, user="staff")
    made.open()
    yield made
    made.close()


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda e: type(e).__name__)
def test_the_station_handles_every_kind(station, event):
    station.handle(event)  # no TypeError: each kind has its case


def test_a_refused_picture_is_audited_and_shown(station):
    update = station.handle(EXAMPLES[3])
    assert update.reason == "picture refused" and update.name == "Ann"
    (entry,) = [a for a in station.store.audit_log() if a.action == "checkin.refused"]
    assert entry.details["evidence"]["flat_frames"] == 6 and entry.details["person"]


def test_an_object_that_is_not_an_event_is_an_internal_error_and_the_next_events_go_on(station):
    from faceattend_tui.station import Problem

    station.worker.feed({"type": "checkin", "name": "Ann"})
    station.worker.ready()
    updates = station.poll(timeout=0.05)
    problems = [u.message for u in updates if isinstance(u, Problem)]
    assert len(problems) == 1 and problems[0].startswith("internal error while handling a dict: TypeError")
    assert station.recognizer is not None  # the ready event after it was taken


def test_the_worker_refuses_a_command_that_is_not_one():
    from faceattend_tui.live.worker import WorkerConfig, WorkerHandle

    handle = WorkerHandle(WorkerConfig(settings=load_settings("."), source="0"))
    with pytest.raises(TypeError):
        handle.send("pause")


def test_a_frame_number_is_printed_only_when_known():
    assert "frame" not in ev.as_json(EXAMPLES[1])
    assert list(ev.as_json(ev.Unknown(track=4, time=1001.0, frame=57))) == ["type", "track", "time", "frame"]
