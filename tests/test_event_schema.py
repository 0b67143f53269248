"""One schema for the JSON lines of `watch --json` and `station --headless --json` (README, "Headless and scripting").

Every line keeps its own fields and carries person_id, display_name (null for a line about no person)
and at (ISO 8601 with a UTC offset, on the clock of the `timezone` setting). The fake worker feeds every
kind of line through the real output paths; the last test runs both commands on the real models.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import shutil
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import cv2
import numpy as np
import pytest
from fakes import FakeWorker, enroll_fake_people, now_with_minutes_to_spare

from faceattend_tui.attendance import Attendance, open_store
from faceattend_tui.cli import main
from faceattend_tui.cli.headless import Headless, HeadlessOptions, run_headless
from faceattend_tui.config import load_settings
from faceattend_tui.live import events as ev
from faceattend_tui.station import LiveChanged, RosterChanged, Sighting, Station

ZONE = "Asia/Kolkata"  # +05:30 all year: an offset that is nobody's local time by accident
OFFSET = timedelta(hours=5, minutes=30)
PERSON_LINES = {"checkin", "spoof", "waiting", "present", "recorded", "not-on-list", "not-recorded", "in", "seen",
                "kept"}

# the fields each type had before the common ones, with their JSON types: they must stay
OLD_FIELDS = {
    "ready": {"device": str, "detector": str, "recognizer": str, "recognizer_sha256": str, "embedding_dim": int,
              "people": int, "pid": int},
    "checkin": {"name": str, "similarity": float, "track": int, "time": float, "votes": int},
    "spoof": {"name": str, "track": int, "time": float},
    "waiting": {"name": str, "track": int, "time": float, "asked": str},
    "unknown": {"track": int, "time": float},
    "stats": {"fps": float, "detect_ms": float, "embed_ms": float, "faces": int, "tracks": int, "frames": int},
    "status": {"kind": str, "message": str},
    "error": {"message": str},
    "recorded": {"id": str, "name": str, "status": str, "time": str, "similarity": float, "session": str,
                 "new": bool, "station": str},
    "not-on-list": {"name": str, "time": str},
    "not-recorded": {"name": str, "time": str, "reason": str},
    "kept": {"name": str, "time": str},
    "in": {"name": str, "time": str},
    "seen": {"name": str, "time": str},
    "session": {"state": str, "id": int, "name": str},
    "roster": {"message": str},
}


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def check_schema(line: dict) -> None:
    """The common fields, and the type's own fields with their types."""
    assert next(iter(line)) == "type" and isinstance(line["type"], str)
    for field, kind in OLD_FIELDS[line["type"]].items():
        assert isinstance(line[field], kind), (line["type"], field, line)
    assert {"person_id", "display_name", "at"} <= set(line)
    at = datetime.fromisoformat(line["at"])
    assert at.utcoffset() == OFFSET, line
    if line["type"] in PERSON_LINES:
        assert isinstance(line["display_name"], str) and line["display_name"]
        assert line["person_id"] is None or isinstance(line["person_id"], str)
    else:
        assert line["person_id"] is None and line["display_name"] is None, line
    if isinstance(line.get("time"), float):  # the worker's epoch seconds: the same moment
        assert at.timestamp() == pytest.approx(line["time"], abs=1e-3)
    elif isinstance(line.get("time"), str):  # the log's ISO time: the same moment
        assert at == datetime.fromisoformat(line["time"])


def write_zone(data) -> None:
    data.mkdir(parents=True, exist_ok=True)
    (data / "faceattend.toml").write_text(f'timezone = "{ZONE}"\n', encoding="utf-8")


# ----- watch --json ----------------------------------------------------------------------------


def test_every_watch_line_has_the_common_fields(tmp_path, monkeypatch, capsys):
    data = tmp_path / "data"
    write_zone(data)
    with open_store(data) as store:
        Attendance(store).add_person("Céline Gérard", person_id="S3", folder="S3")
    now = time.time()
    fed = [
        ev.Ready(device="cpu", detector="scrfd_500m_bnkps", recognizer="w600k_mbf", recognizer_sha256="0" * 64,
                 embedding_dim=512, people=2, pid=1),
        ev.GalleryLoaded(message="gallery loaded: 2 people, 2 templates", people=2),
        ev.CameraStatus(state="opened", message="opened x", source="x"),
        ev.Checkin(name="S3", similarity=0.71, track=1, time=now, votes=3),
        ev.Checkin(name="stranger-folder", similarity=0.66, track=2, time=now + 0.5, votes=3),
        ev.Spoof(name="S3", track=3, time=now + 1),
        ev.Unknown(track=4, time=now + 1.5),
        ev.Stats(fps=29.5, detect_ms=11.0, track_ms=0.1, embed_ms=4.0, faces=2, tracks=2, frames=30),
        ev.Busy(message="35 faces in view"),
        ev.Notice(topic="pause", message="paused"),
        ev.Error(message="a hiccup", fatal=False),
        ev.SourceFinished(message="source finished: x"),
    ]

    def fake_handle(config):
        worker = FakeWorker(config)
        for event in fed:
            worker.feed(event)
        return worker

    monkeypatch.setattr("faceattend_tui.cli.watch.WorkerHandle", fake_handle)
    code = main(["watch", "--data", str(data), "--source", "0", "--json", "--no-preview", "--max-seconds", "20"])
    lines = json_lines(capsys.readouterr().out)
    assert code == 1  # the error line
    assert [line["type"] for line in lines] == [e.type for e in fed]
    for line in lines:
        check_schema(line)
    known, unknown_folder = (line for line in lines if line["type"] == "checkin")
    assert (known["name"], known["person_id"], known["display_name"]) == ("S3", "S3", "Céline Gérard")
    # no log knows this folder: no id, and the folder's name is the best name known
    assert (unknown_folder["name"], unknown_folder["person_id"], unknown_folder["display_name"]) == (
        "stranger-folder", None, "stranger-folder")
    (spoof,) = (line for line in lines if line["type"] == "spoof")
    assert (spoof["name"], spoof["person_id"], spoof["display_name"]) == ("S3", "S3", "Céline Gérard")
    assert "face_jpeg" not in json.dumps(lines)


def test_watch_as_text_names_people_as_the_log_knows_them(tmp_path, monkeypatch, capsys):
    data = tmp_path / "data"
    write_zone(data)
    with open_store(data) as store:
        Attendance(store).add_person("Céline Gérard", person_id="S3", folder="S3")

    def fake_handle(config):
        worker = FakeWorker(config)
        worker.checkin("S3", when=time.time())
        worker.feed(ev.Spoof(name="S3", track=3, time=time.time()))
        worker.feed(ev.SourceFinished(message="source finished: x"))
        return worker

    monkeypatch.setattr("faceattend_tui.cli.watch.WorkerHandle", fake_handle)
    assert main(["watch", "--data", str(data), "--source", "0", "--no-preview", "--max-seconds", "20"]) == 0
    out = capsys.readouterr().out
    assert "check-in  Céline Gérard (similarity" in out and "refused   Céline Gérard:" in out
    stamp = next(line for line in out.splitlines() if "check-in" in line)[:5]  # HH:MM on the site's clock
    site = datetime.now(ZoneInfo(ZONE))
    assert stamp in {f"{site:%H:%M}", f"{site - timedelta(minutes=1):%H:%M}"}, (stamp, site)


def test_watch_without_a_log_names_people_by_their_folder(tmp_path, monkeypatch, capsys):
    data = tmp_path / "data"
    write_zone(data)

    def fake_handle(config):
        worker = FakeWorker(config)
        worker.checkin("Yao", when=time.time())
        worker.feed(ev.SourceFinished(message="source finished: x"))
        return worker

    monkeypatch.setattr("faceattend_tui.cli.watch.WorkerHandle", fake_handle)
    assert main(["watch", "--data", str(data), "--source", "0", "--json", "--max-seconds", "20"]) == 0
    checkin, finished = json_lines(capsys.readouterr().out)
    check_schema(checkin)
    check_schema(finished)
    assert (checkin["name"], checkin["person_id"], checkin["display_name"]) == ("Yao", None, "Yao")


# ----- station --headless --json ---------------------------------------------------------------


@pytest.fixture
def station(tmp_path):
    write_zone(tmp_path)
    enroll_fake_people(tmp_path, ["Ann", "Bob"])
    made = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker, user="staff", name="door")
    made.open()
    ann = next(p for p in made.people() if p.name == "Ann")
    made.attendance.update_person(ann.id, groups=["3A"])
    yield made
    made.close()


def test_every_headless_line_has_the_common_fields(station):
    by_name = {p.name: p for p in station.people()}
    ann, bob = by_name["Ann"], by_name["Bob"]
    later = time.time() + 1
    station.worker.checkin("Ann", 0.71, track=1, when=later)  # recorded
    station.worker.checkin("Bob", 0.69, track=2, when=later + 0.5)  # not in group 3A
    station.worker.checkin("Ann", 0.73, track=5, when=later + 0.6)  # back in view: already recorded
    station.worker.feed(ev.Spoof(name="Ann", track=3, time=later + 1))
    station.worker.feed(ev.Waiting(name="Bob", track=6, time=later + 1.2, asked="blink"))
    station.worker.feed(ev.Unknown(track=4, time=later + 1.5))
    station.worker.feed(ev.Stats(fps=29.5, detect_ms=11.0, track_ms=0.1, embed_ms=4.0, faces=2, tracks=2,
                                 frames=30))
    station.worker.feed(ev.Error(message="a hiccup"))
    station.worker.feed(ev.SourceFinished(message="source finished: demo"))
    out = io.StringIO()
    code = run_headless(station, HeadlessOptions("Maths", group="3A", json=True, max_seconds=20), out)
    lines = json_lines(out.getvalue())
    assert code == 1  # the error
    for line in lines:
        check_schema(line)
    types = [line["type"] for line in lines]
    assert types[0] == "session" and lines[0]["state"] == "started" and lines[-1]["state"] == "stopped"
    assert {"checkin", "recorded", "not-on-list", "spoof", "waiting", "unknown", "stats", "error",
            "status"} <= set(types)
    who = {(line["type"], line["person_id"], line["display_name"]) for line in lines if line["type"] in PERSON_LINES}
    assert who == {("checkin", ann.id, "Ann"), ("recorded", ann.id, "Ann"), ("spoof", ann.id, "Ann"),
                   ("checkin", bob.id, "Bob"), ("not-on-list", bob.id, "Bob"), ("waiting", bob.id, "Bob")}
    recorded, again = (line for line in lines if line["type"] == "recorded")
    assert (recorded["new"], again["new"], again["id"], again["status"]) == (True, False, ann.id, "present")
    # the old fields keep their meaning: name is the display name, time the ISO time
    assert (recorded["id"], recorded["name"], recorded["status"], recorded["session"]) == (
        ann.id, "Ann", "present", "Maths")
    ann_checkin = next(line for line in lines if line["type"] == "checkin" and line["person_id"] == ann.id)
    assert ann_checkin["name"] == ann.folder  # the template folder, as before
    assert datetime.fromisoformat(recorded["at"]) == datetime.fromisoformat(ann_checkin["at"])


def test_a_session_stopped_at_another_door_is_said_and_faces_after_it_are_not_recorded(station):
    """A shared database: another door ended the session; the headless door says so instead of going on silently."""
    from faceattend_tui.cli.headless import Headless

    out = io.StringIO()
    headless = Headless(station, HeadlessOptions("Maths", json=True), out)
    headless.start_session()
    session = station.active
    station.stop_session()  # as the other door's stop reaches this one: the station's notice follows
    headless.on_update(LiveChanged(station.live, f"session {session.name!r} was stopped at another station"))
    ann = next(p for p in station.people() if p.name == "Ann")
    headless.on_update(Sighting("Ann", 0.8, datetime.now().astimezone(), "no session", ann.id))
    lines = json_lines(out.getvalue())
    for line in lines:
        check_schema(line)
    assert [(line["type"], line.get("state") or line.get("reason")) for line in lines] == [
        ("session", "started"), ("session", "stopped-elsewhere"), ("not-recorded", "no session running")]
    assert (lines[1]["id"], lines[1]["name"]) == (session.id, "Maths") and lines[2]["person_id"] == ann.id


def test_a_headless_run_ending_leaves_a_session_of_another_name_running(station, capsys):
    """A kiosk run with --session Maths stopped the timetable's Physics, opened at another door meanwhile."""
    from faceattend_tui.cli.headless import Headless

    headless = Headless(station, HeadlessOptions("Maths", json=True), io.StringIO())
    headless.start_session()
    station.stop_session()  # another door's timetable closes Maths and opens Physics
    physics = station.start_session("Physics")
    headless.finish()
    assert station.active is not None and station.active.id == physics.id
    assert "session 'Physics' runs, not 'Maths': left for whoever started it" in capsys.readouterr().err


def test_a_headless_stop_refused_at_the_end_is_an_error_unless_another_door_stopped_it(station, monkeypatch,
                                                                                        capsys):
    from faceattend_tui.cli.headless import Headless
    from faceattend_tui.station import PinRefused, StationError, StoppedElsewhere

    headless = Headless(station, HeadlessOptions("Maths", json=True), io.StringIO())
    headless.start_session()
    full = StationError("could not write to attendance.journal: No space left on device")
    for refusal in (PinRefused("wrong staff name or PIN"), full, StoppedElsewhere("stopped at another station")):
        monkeypatch.setattr(station, "stop_session", lambda *args, refusal=refusal, **kwargs: (_ for _ in ()).throw(
            refusal))
        if not isinstance(refusal, StoppedElsewhere):  # a service manager must see the session left open
            with pytest.raises(StationError):
                headless.finish()
            assert "session 'Maths' stays open, not stopped" in capsys.readouterr().err  # the exit said "done"
        else:
            headless.finish()
            assert "not stopped here: stopped at another station" in capsys.readouterr().err


def test_an_arrival_kept_while_the_database_is_away_is_its_own_line(station):
    from faceattend_tui.cli.headless import Headless

    out = io.StringIO()
    headless = Headless(station, HeadlessOptions("", json=True), out)
    ann = next(p for p in station.people() if p.name == "Ann")
    headless.on_update(Sighting("Ann", 0.8, datetime.now().astimezone(), "kept", ann.id))
    (line,) = json_lines(out.getvalue())
    check_schema(line)
    assert (line["type"], line["person_id"], line["name"]) == ("kept", ann.id, "Ann")


def test_someone_who_joins_the_running_session_is_said(station):
    from faceattend_tui.cli.headless import Headless

    out = io.StringIO()
    headless = Headless(station, HeadlessOptions("Maths", json=True), out)
    headless.on_update(RosterChanged("joined the running session: Dara"))
    (line,) = json_lines(out.getvalue())
    check_schema(line)
    assert (line["type"], line["message"]) == ("roster", "joined the running session: Dara")


def test_a_headless_door_in_work_mode_says_in_then_seen_not_that_nothing_was_recorded(station):
    import dataclasses

    from faceattend_tui.attendance.hours import PresenceBook
    from faceattend_tui.cli.headless import Headless

    station.settings = dataclasses.replace(station.settings, mode="work")
    station.presence = PresenceBook(station.store, station.name)
    out = io.StringIO()
    headless = Headless(station, HeadlessOptions("", json=True), out)
    now = now_with_minutes_to_spare()
    for when in (now, now + 120):
        station.worker.checkin("Ann", when=when)
        for update in station.poll(timeout=0.05):
            headless.on_update(update)
    lines = json_lines(out.getvalue())
    for line in lines:
        check_schema(line)
    assert [(line["type"], line["display_name"]) for line in lines] == [("in", "Ann"), ("seen", "Ann")]


def test_a_session_whose_camera_never_opened_is_voided_not_left_all_absent(station):
    station.worker.feed(ev.CameraStatus(state="error", message="no readable image in folder x", source="x"))
    station.worker.feed(ev.SourceFinished(message="source finished: x"))
    out = io.StringIO()
    assert run_headless(station, HeadlessOptions("Maths", json=True, max_seconds=20), out) == 1
    last = json_lines(out.getvalue())[-1]
    check_schema(last)
    assert (last["type"], last["state"], last["name"]) == ("session", "voided", "Maths")
    (session,) = station.sessions()
    assert session.voided and session.voided_by == "station" and "camera gave no picture" in session.void_reason


def test_a_camera_that_opens_late_keeps_its_session_and_one_that_never_does_exits_1(station):
    station.worker.feed(ev.CameraStatus(state="reconnecting", message="camera not answering", source="rtsp://x"))
    station.worker.camera_opens("rtsp://x")
    out = io.StringIO()
    assert run_headless(station, HeadlessOptions("Maths", max_seconds=0.5), out) == 0
    assert "voided" not in out.getvalue()  # an IP camera booting after a power cut: the absences are real
    station.close()  # the service starts again, for the next lesson
    station.open()
    station.worker.feed(ev.CameraStatus(state="reconnecting", message="camera not answering", source="rtsp://x"))
    out = io.StringIO()
    assert run_headless(station, HeadlessOptions("Science", max_seconds=0.5), out) == 1
    assert "voided session 'Science'" in out.getvalue()


def test_a_session_whose_camera_opened_but_gave_no_picture_is_voided(station):
    """A video of no frames, or a device that opens and sends nothing: everyone was filed absent."""
    station.worker.feed(ev.CameraStatus(state="opened", message="opened zero.avi", source="zero.avi"))
    station.worker.feed(ev.Stats(fps=0.0, detect_ms=0.0, track_ms=0.0, embed_ms=0.0, faces=0, tracks=0, frames=0))
    station.worker.feed(ev.CameraStatus(state="error", message="no frames could be read", source="zero.avi"))
    out = io.StringIO()
    assert run_headless(station, HeadlessOptions("Maths", max_seconds=0.5), out) == 1
    (session,) = station.sessions()
    assert session.voided and "camera gave no picture" in session.void_reason


@pytest.mark.parametrize("blank_for", ["all", "part"])
def test_a_session_whose_picture_was_blank_throughout_is_voided(station, blank_for):
    """A lens left covered, a capture card without signal: frames came, all one flat colour, and the
    session was kept with everyone absent (exit 0). A picture blank for a while only is a real session."""
    station.worker.feed(ev.CameraStatus(state="opened", message="opened camera 0", source="0"))
    for blank in (True, blank_for == "all", True):
        station.worker.feed(ev.Stats(fps=25.0, detect_ms=1.0, track_ms=0.0, embed_ms=0.0, faces=0, tracks=0,
                                     frames=50, blank=blank))
    out = io.StringIO()
    code = run_headless(station, HeadlessOptions("Maths", json=True, max_seconds=0.5), out)
    (session,) = station.sessions()
    if blank_for == "part":
        assert code == 0 and not session.voided
        return
    assert code == 1 and session.voided and "blank throughout (lens covered? no signal?)" in session.void_reason
    last = json_lines(out.getvalue())[-1]
    check_schema(last)
    assert (last["type"], last["state"], last["reason"]) == ("session", "voided", session.void_reason)


def test_a_session_the_camera_failed_in_after_recording_is_kept(station):
    station.worker.checkin("Ann", 0.71, track=1, when=time.time() + 1)
    station.worker.feed(ev.CameraStatus(state="error", message="the camera stopped", source="0"))
    station.worker.feed(ev.SourceFinished(message="source finished: 0"))
    out = io.StringIO()
    assert run_headless(station, HeadlessOptions("Maths", max_seconds=20), out) == 1
    assert "voided" not in out.getvalue()
    (session,) = station.sessions()
    assert not session.voided


def test_a_source_that_is_not_there_starts_no_session(tmp_path, capsys):
    data = tmp_path / "data"
    with open_store(data) as store:
        Attendance(store).add_person("Ann Lee", person_id="S1")
    code = main(["station", "--headless", "--session", "Maths", "--source", str(tmp_path / "clip.mp4"),
                 "--data", str(data)])
    assert code == 2
    assert "source not found" in capsys.readouterr().err
    with open_store(data) as store:
        assert store.sessions() == []


# ----- both commands on the real models ---------------------------------------------------------


@pytest.mark.timeout(240)
@pytest.mark.slow
def test_watch_and_headless_name_a_real_face_alike(tmp_path, sample_photo, models_dir, capsys):
    shutil.copy(sample_photo("yaoming.jpg"), tmp_path / "yao.jpg")
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name,groups,photo\nS3,Céline Gérard,3A,yao.jpg\n", encoding="utf-8")
    data = tmp_path / "data"
    write_zone(data)
    assert main(["people", "import", str(roster), "--data", str(data), "--device", "cpu"]) == 0
    slides = tmp_path / "slides"
    slides.mkdir()
    yao = cv2.imread(str(sample_photo("yaoming.jpg")))
    frame = np.full((480, 640, 3), 90, np.uint8)
    frame[100 : 100 + yao.shape[0], 200 : 200 + yao.shape[1]] = yao[:380, :440]
    cv2.imwrite(str(slides / "00.jpg"), frame)
    common = ["--data", str(data), "--source", str(slides), "--json", "--no-preview", "--device", "cpu",
              "--max-seconds", "90"]
    capsys.readouterr()
    assert main(["watch", "--every-frame", *common]) == 0
    watched = json_lines(capsys.readouterr().out)
    assert main(["station", "--headless", "--session", "Morning", *common]) == 0
    headless = json_lines(capsys.readouterr().out)
    for line in watched + headless:
        check_schema(line)
    checkins = [line for line in watched if line["type"] == "checkin"]
    assert [(c["name"], c["person_id"], c["display_name"]) for c in checkins] == [("S3", "S3", "Céline Gérard")]
    (recorded,) = (line for line in headless if line["type"] == "recorded")
    assert (recorded["id"], recorded["name"], recorded["person_id"], recorded["display_name"]) == (
        "S3", "Céline Gérard", "S3", "Céline Gérard")


def test_the_readme_documents_every_line_type_and_its_fields():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip().strip("`").split("`")[0]: line
            for line in readme.splitlines() if line.startswith("| `")}
    for field in ("person_id", "display_name", "at"):
        assert field in rows
    for kind, fields in OLD_FIELDS.items():
        assert kind in rows, kind
        assert all(f"`{field}`" in rows[kind] for field in fields), (kind, rows[kind])
    assert all(f"`{field.name}`" in rows[kind.type] for kind in (ev.Checkin, ev.Stats, ev.Ready)
               for field in dataclasses.fields(kind) if field.name not in kind.hidden)


def test_the_headless_station_drops_the_sheet_of_the_session_it_stops(tmp_path):
    write_zone(tmp_path)
    enroll_fake_people(tmp_path, ["Ann", "Bob"])
    share = tmp_path / "share"
    share.mkdir()
    made = Station(load_settings(tmp_path, {"export_dir": str(share)}), "demo", worker_factory=FakeWorker,
                   name="door")
    made.open()
    try:
        made.worker.checkin("Ann", 0.71, track=1, when=time.time() + 1)
        made.worker.feed(ev.SourceFinished(message="source finished: demo"))
        out = io.StringIO()
        assert run_headless(made, HeadlessOptions("Maths", json=True, max_seconds=20), out) == 0
    finally:
        made.close()
    assert [p.suffix for p in share.iterdir()] == [".csv"]  # written at exit, not at the next start
    assert json_lines(out.getvalue())[-1]["type"] == "sheet"


def test_a_headless_session_stays_open_when_recognition_stops_for_good(tmp_path, capsys):
    """Not stopped with everyone absent: a service manager starts the station again, which resumes it."""
    write_zone(tmp_path)
    enroll_fake_people(tmp_path, ["Ann", "Bob"])
    made = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker, name="door")
    made.open()
    try:
        made.worker.checkin("Ann", 0.71, track=1, when=time.time() + 1)
        made.worker.feed(ev.Error(message="recognition worker stopped (exit code -9); not restarting", fatal=True))
        assert run_headless(made, HeadlessOptions("Maths", max_seconds=20), io.StringIO()) == 1
        assert made.active is not None and made.active.name == "Maths"
    finally:
        made.close()
    assert "session 'Maths' stays open" in capsys.readouterr().err


def test_two_stations_dropping_sheets_in_one_folder_keep_each_others(tmp_path):
    """Two doors with logs of their own (session ids start at 1 in each) and one office share."""
    share = tmp_path / "share"
    share.mkdir()
    for door, person in (("door-a", "Ann"), ("door-b", "Bob")):
        root = tmp_path / door / "data"  # both data roots named alike, as they often are
        write_zone(root)
        enroll_fake_people(root, [person])
        made = Station(load_settings(root, {"export_dir": str(share)}), "demo", worker_factory=FakeWorker, name="door")
        made.open()
        try:
            made.worker.checkin(person, 0.71, track=1, when=time.time() + 1)
            made.worker.feed(ev.SourceFinished(message="source finished: demo"))
            assert run_headless(made, HeadlessOptions("Maths", max_seconds=20), io.StringIO()) == 0
        finally:
            made.close()
    sheets = sorted(share.iterdir())
    assert len(sheets) == 2
    assert {"Ann", "Bob"} == {name for path in sheets for name in ("Ann", "Bob") if name in path.read_text("utf-8-sig")}


def test_a_sheet_that_cannot_be_written_at_exit_fails_the_run_and_waits_for_the_next(tmp_path):
    write_zone(tmp_path)
    enroll_fake_people(tmp_path, ["Ann"])
    share = tmp_path / "share"
    share.write_text("not a folder: the drive is not mounted")
    made = Station(load_settings(tmp_path, {"export_dir": str(share / "sheets")}), "demo",
                   worker_factory=FakeWorker, name="door")
    made.open()
    try:
        made.worker.camera_opens("demo")
        made.worker.feed(ev.SourceFinished(message="source finished: demo"))
        out = io.StringIO()
        assert run_headless(made, HeadlessOptions("Maths", max_seconds=20), out) == 1
    finally:
        made.close()
    last = out.getvalue().splitlines()[-1]
    assert "could not be written" in last and "waits in the log for the next station" in last
    assert "retrying" not in last  # nothing is left running to retry


def test_a_headless_door_following_the_timetable_says_its_sessions_with_ids_and_counts(tmp_path):
    """A script reading the lines learns of the timetable's sessions as of those started with --session."""
    from zoneinfo import ZoneInfo

    from fakes import FakeClock

    from faceattend_tui.attendance.timetable import read_slots, save_slots
    from faceattend_tui.cli.headless import Headless

    write_zone(tmp_path)
    enroll_fake_people(tmp_path, ["Ann", "Bob"])
    clock = FakeClock(datetime(2024, 9, 2, 8, 0, tzinfo=ZoneInfo(ZONE)))  # a Monday, 08:00 on the site's clock
    door = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker, user="staff", name="door", clock=clock)
    door.open()
    try:
        save_slots(door.store, read_slots("name,group,weekday,start,end,late_after\nMaths,,Mon,08:00,09:00,\n"))
        door.follow_timetable = True
        out = io.StringIO()
        headless = Headless(door, HeadlessOptions("", json=True), out)
        for _ in range(2):
            for update in door.poll(timeout=0.05):
                headless.on_update(update)
            clock.advance(hours=1, minutes=1)  # past the slot's end
            door._timetable_next = 0.0  # the next poll looks at the timetable at once
        lines = [line for line in json_lines(out.getvalue()) if line["type"] == "session"]
    finally:
        door.close()
    for line in lines:
        check_schema(line)
    assert [(line["state"], line["name"]) for line in lines] == [("started", "Maths"), ("stopped", "Maths")]
    assert lines[0]["id"] == lines[1]["id"] and (lines[0]["expected"], lines[1]["absent"]) == (2, 2)


def test_a_headless_station_says_on_stderr_that_it_narrowed_permissions(station, capsys):
    """The README's "the station says so once": the screen did, the headless station said nothing."""
    station.tightened = 3
    run_headless(station, HeadlessOptions("Maths", json=True, max_seconds=0.3), io.StringIO())
    assert "note: face data is private: narrowed the permissions of 3 files and folders" in capsys.readouterr().err


def headless_door(tmp_path) -> Station:
    write_zone(tmp_path)
    enroll_fake_people(tmp_path, ["Ann", "Bob"])
    made = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker, name="door")
    made.open()
    made.worker.camera_opens("demo")
    return made


def present_in(made: Station, session_id: int) -> list[str]:
    summary = made.summary(session_id)
    return sorted(p.name for p in summary.people if p.status in ("present", "late"))


def test_a_reader_that_goes_away_loses_no_check_in_and_the_session_is_stopped(tmp_path, capsys):
    """`| head -4`: the check-in line itself failed to print and was never recorded; the session stayed open."""
    import os

    made = headless_door(tmp_path)
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has gone
    try:
        made.worker.checkin("Ann", 0.71, track=1, when=time.time() + 1)
        with os.fdopen(write_end, "w") as out:
            assert run_headless(made, HeadlessOptions("Maths", json=True, max_seconds=20), out) == 1
        (session,) = made.sessions()
        assert present_in(made, session.id) == ["Ann"] and made.active is None
    finally:
        made.close()
    assert "its reader went away; the run stopped there" in capsys.readouterr().err


@pytest.mark.timeout(60)
def test_a_reader_that_stops_reading_never_holds_up_recording_nor_the_stop(tmp_path, capsys):
    """A stalled door relay: recording stopped with the pipe full and queued check-ins were lost at the stop."""
    import os

    made = headless_door(tmp_path)
    read_end, write_end = os.pipe()  # nobody reads it: it holds 64 KiB at most
    try:
        for frame in range(2000):  # some 400 KB of lines before anyone arrives
            made.worker.feed(ev.Stats(fps=30.0, detect_ms=9.0, track_ms=0.1, embed_ms=4.0, faces=0, tracks=0,
                                      frames=frame))
        made.worker.checkin("Ann", 0.71, track=1, when=time.time() + 1)
        made.worker.feed(ev.SourceFinished(message="source finished: demo"))
        began = time.monotonic()
        with os.fdopen(write_end, "w") as out:
            assert run_headless(made, HeadlessOptions("Maths", json=True, max_seconds=20), out) == 0
        assert time.monotonic() - began < 15
        (session,) = made.sessions()
        assert present_in(made, session.id) == ["Ann"] and made.active is None
    finally:
        made.close()
        os.close(read_end)
    assert "lines of output were not written: their reader stopped reading" in capsys.readouterr().err


def test_a_session_stopped_before_the_camera_opened_is_voided_not_filed_with_everyone_absent(tmp_path):
    """A service restarted during start-up filed a sheet saying the whole class was absent."""
    write_zone(tmp_path)
    enroll_fake_people(tmp_path, ["Ann", "Bob"])
    made = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker, name="door")
    made.open()
    try:
        out = io.StringIO()
        assert run_headless(made, HeadlessOptions("Maths", json=True, max_seconds=0.3), out) == 1
        (session,) = made.sessions()
        assert session.voided and "camera gave no picture" in session.void_reason
    finally:
        made.close()


def door_at(tmp_path, start: datetime):
    """An opened door with Ann and Bob on a clock the test moves, and that clock."""
    from fakes import FakeClock

    write_zone(tmp_path)
    enroll_fake_people(tmp_path, ["Ann", "Bob"])
    clock = FakeClock(start)
    door = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker, name="door", clock=clock)
    door.open()
    return door, clock


def test_a_session_left_running_on_an_earlier_day_is_stopped_at_its_last_record_and_a_new_one_starts(tmp_path):
    """A daily service with --session "Maths 3A": yesterday's session, left open by a crash, took today's class,
    every one of them late."""
    door, clock = door_at(tmp_path, datetime(2024, 9, 2, 8, 0, tzinfo=ZoneInfo(ZONE)))
    try:
        yesterday = door.start_session("Maths 3A", late_after=10)
        ann = next(p for p in door.people() if p.name == "Ann")
        clock.advance(minutes=3)
        door.mark(ann.id, "present", "came in early")
        clock.advance(days=1)
        out = io.StringIO()
        run_headless(door, HeadlessOptions("Maths 3A", json=True, max_seconds=0.3), out)
        first, started = json_lines(out.getvalue())[:2]
        old = next(s for s in door.sessions() if s.id == yesterday.id)
    finally:
        door.close()
    assert (first["state"], first["id"]) == ("stopped", yesterday.id) and "left running since 2024-09-02" in first[
        "message"]
    assert old.ended_at == datetime(2024, 9, 2, 8, 3, tzinfo=ZoneInfo(ZONE))  # its last record, not today
    assert started["state"] == "started" and started["id"] != yesterday.id


def test_a_service_with_a_session_that_runs_into_the_next_day_starts_the_new_days_session(tmp_path, monkeypatch):
    """A daily service with --session, never restarted: Tuesday's arrivals go into Tuesday's session."""
    from faceattend_tui.cli import headless

    monkeypatch.setattr(headless, "NEW_DAY_EVERY", 0.0)
    door, clock = door_at(tmp_path, datetime(2024, 9, 2, 8, 0, tzinfo=ZoneInfo(ZONE)))
    polls, real_poll = [], door.poll

    def poll(timeout=0.1):
        polls.append(1)
        if len(polls) == 3:
            clock.advance(days=1)  # the night passes
        return real_poll(timeout)

    door.poll = poll
    try:
        out = io.StringIO()
        run_headless(door, HeadlessOptions("Maths 3A", json=True, max_seconds=1.5), out)
        sessions = sorted(door.sessions(), key=lambda s: s.id)
    finally:
        door.close()
    lines = [(line["state"], line["id"]) for line in json_lines(out.getvalue()) if line["type"] == "session"]
    monday, tuesday = sessions[0].id, sessions[1].id
    assert lines[:3] == [("started", monday), ("stopped", monday), ("started", tuesday)]
    assert sessions[1].started_at.date().isoformat() == "2024-09-03"


def test_a_services_new_day_session_makes_people_late_from_the_hour_of_the_day_before(tmp_path, monkeypatch):
    """A service with --late-after 5 started at 07:55 and never restarted: Tuesday's session begins just after
    midnight, and Tuesday's 08:00 arrivals are on time as on Monday, not late since 00:06."""
    from faceattend_tui.cli import headless

    monkeypatch.setattr(headless, "NEW_DAY_EVERY", 0.0)
    zone = ZoneInfo(ZONE)
    door, clock = door_at(tmp_path, datetime(2024, 9, 2, 7, 55, tzinfo=zone))
    polls, real_poll = [], door.poll

    def poll(timeout=0.1):
        polls.append(1)
        if len(polls) == 3:
            clock.now = datetime(2024, 9, 3, 0, 1, tzinfo=zone)  # the night: the new day's session starts
        if len(polls) == 6:
            clock.now = datetime(2024, 9, 3, 8, 1, tzinfo=zone)
            door.worker.checkin("Ann", when=datetime(2024, 9, 3, 7, 59, tzinfo=zone).timestamp())
            door.worker.checkin("Bob", track=2, when=clock.now.timestamp())
        return real_poll(timeout)

    door.poll = poll
    try:
        run_headless(door, HeadlessOptions("Maths 3A", late_after=5, json=True, max_seconds=1.5), io.StringIO())
        tuesday = max(door.sessions(), key=lambda s: s.id)
        statuses = {p.name: p.status for p in door.summary(tuesday.id).people}
    finally:
        door.close()
    assert tuesday.started_at.astimezone(zone).hour == 0
    assert tuesday.late_deadline == datetime(2024, 9, 3, 8, 0, tzinfo=zone)
    assert statuses == {"Ann": "present", "Bob": "late"}


def test_a_services_new_day_session_after_one_with_nobody_late_has_nobody_late(tmp_path, monkeypatch):
    """The service (--late-after 5) resumed a session staff had started for 3A without a late time; the new
    day's session was late from 00:06, every 08:00 arrival late, and it expected everyone, not 3A."""
    from faceattend_tui.cli import headless

    monkeypatch.setattr(headless, "NEW_DAY_EVERY", 0.0)
    zone = ZoneInfo(ZONE)
    door, clock = door_at(tmp_path, datetime(2024, 9, 2, 7, 55, tzinfo=zone))
    ann = next(p for p in door.people() if p.name == "Ann")
    door.attendance.update_person(ann.id, groups=["3A"])
    door.start_session("Maths 3A", group="3A")
    polls, real_poll = [], door.poll

    def poll(timeout=0.1):
        polls.append(1)
        if len(polls) == 3:
            clock.now = datetime(2024, 9, 3, 0, 1, tzinfo=zone)
        return real_poll(timeout)

    door.poll = poll
    try:
        run_headless(door, HeadlessOptions("Maths 3A", late_after=5, json=True, max_seconds=1.5, keep_open=True),
                     io.StringIO())
        tuesday = max(door.sessions(), key=lambda s: s.id)
    finally:
        door.close()
    assert tuesday.started_at.astimezone(zone).date().isoformat() == "2024-09-03"
    assert tuesday.late_deadline is None
    assert (tuesday.group, tuesday.expected) == ("3A", [ann.id])  # the group staff chose, not everyone


def test_someone_seen_as_a_service_stops_is_in_the_session_it_stops(tmp_path):
    """`systemctl stop` as Ann walks past: her check-in, sent after the last poll, counts."""
    door, _ = door_at(tmp_path, datetime(2024, 9, 2, 8, 0, tzinfo=ZoneInfo(ZONE)))
    worker = door.worker

    def stop():  # she is recognised between the last poll and the worker's stop
        worker.checkin("Ann")
        return FakeWorker.stop(worker)

    worker.stop = stop
    try:
        out = io.StringIO()
        run_headless(door, HeadlessOptions("Maths 3A", json=True, max_seconds=0.3), out)
    finally:
        door.close()
    (stopped,) = [line for line in json_lines(out.getvalue()) if line.get("state") == "stopped"]
    assert (stopped["present"], stopped["absent"]) == (1, 1)


def test_a_clock_that_jumps_a_day_ahead_for_a_moment_does_not_end_a_services_session(tmp_path, monkeypatch):
    from fakes import FakeClock

    from faceattend_tui.cli import headless

    monkeypatch.setattr(headless, "NEW_DAY_EVERY", 0.0)
    write_zone(tmp_path)
    enroll_fake_people(tmp_path, ["Ann", "Bob"])
    clock = FakeClock(datetime(2024, 9, 2, 8, 0, tzinfo=ZoneInfo(ZONE)))
    door = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker, name="door", clock=clock,
                   steady=time.monotonic)  # a real steady clock beside the wall clock that jumps
    door.open()
    polls, real_poll = [], door.poll

    def poll(timeout=0.1):
        polls.append(1)
        if len(polls) == 5:
            clock.advance(days=-1)  # ...put right a moment later
        said = real_poll(timeout)
        if len(polls) == 3:
            clock.advance(days=1)  # a time server's wrong answer, just after the poll looked at the clock...
        return said

    door.poll = poll
    try:
        run_headless(door, HeadlessOptions("Maths 3A", json=True, max_seconds=1.5), io.StringIO())
        sessions = door.sessions()
    finally:
        door.close()
    assert [s.started_at.date().isoformat() for s in sessions] == ["2024-09-02"]


def test_a_night_session_past_midnight_is_resumed_not_cut_in_two(tmp_path):
    door, clock = door_at(tmp_path, datetime(2024, 9, 2, 23, 30, tzinfo=ZoneInfo(ZONE)))
    try:
        night = door.start_session("Night shift")
        clock.advance(minutes=50)  # 00:20, the next calendar day: a restart in the same shift
        out = io.StringIO()
        run_headless(door, HeadlessOptions("Night shift", json=True, max_seconds=0.3), out)
        first = json_lines(out.getvalue())[0]
    finally:
        door.close()
    assert (first["state"], first["id"]) == ("resumed", night.id)


def test_resuming_needs_the_staff_pin_at_once_and_says_what_it_keeps(tmp_path, monkeypatch):
    """Resumed without FACEATTEND_PIN, the refusal came hours later, at the stop, and the session stayed open."""
    from faceattend_tui.attendance.staff import add_account
    from faceattend_tui.cli.headless import Headless
    from faceattend_tui.station import PinRefused

    made = headless_door(tmp_path)
    try:
        add_account(made.store, "Kim", "admin", "480917", "setup")
        monkeypatch.setenv("FACEATTEND_STAFF", "Kim")
        monkeypatch.setenv("FACEATTEND_PIN", "480917")
        Headless(made, HeadlessOptions("Maths"), io.StringIO()).start_session()
        monkeypatch.delenv("FACEATTEND_PIN")
        with pytest.raises(PinRefused):
            Headless(made, HeadlessOptions("Maths"), io.StringIO()).start_session()
        monkeypatch.setenv("FACEATTEND_PIN", "480917")
        out = io.StringIO()
        Headless(made, HeadlessOptions("Maths", group="3B", late_after=5, json=True), out).start_session()
        (resumed,) = json_lines(out.getvalue())
    finally:
        made.close()
    assert resumed["state"] == "resumed" and "keeps what it was started with: for everyone" in resumed["message"]
    assert "nobody late, not late after 5 min" in resumed["message"]


def test_a_resumed_session_asked_for_its_group_in_another_case_is_not_warned_about(tmp_path):
    """`--group 3a` is group 3A: resuming 3A's session with it is no change to warn about."""
    from faceattend_tui.cli.headless import Headless

    made = headless_door(tmp_path)
    try:
        ann = next(p for p in made.people() if p.name == "Ann")
        made.attendance.update_person(ann.id, groups=["3A"])
        Headless(made, HeadlessOptions("Maths", group="3A"), io.StringIO()).start_session()
        out = io.StringIO()
        Headless(made, HeadlessOptions("Maths", group="3a", json=True), out).start_session()
        (resumed,) = json_lines(out.getvalue())
    finally:
        made.close()
    assert resumed["state"] == "resumed" and "keeps what it was started with" not in resumed.get("message", "")


def test_a_stderr_nobody_reads_any_more_neither_crashes_the_run_nor_leaves_its_session_open(tmp_path, monkeypatch):
    """`2>&1 | logger` with logger gone: the resume's warning ended the run with the session running."""
    import os
    import sys

    made = headless_door(tmp_path)
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        made.start_session("Evening")
        gone = os.fdopen(write_end, "w")
        monkeypatch.setattr(sys, "stderr", gone)
        run_headless(made, HeadlessOptions("Evening", late_after=5, json=True, max_seconds=0.3), io.StringIO())
        monkeypatch.undo()
        with contextlib.suppress(BrokenPipeError):
            gone.close()
        assert made.active is None
    finally:
        made.close()


def test_a_hang_up_ignored_by_whoever_started_the_station_does_not_stop_it(station):
    import os
    import signal
    import threading

    station.worker.camera_opens()
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)  # as `nohup faceattend station --headless ... &`
    hang_up = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGHUP))
    stop = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGTERM))
    try:
        hang_up.start()
        stop.start()
        out = io.StringIO()
        started = time.monotonic()
        assert run_headless(station, HeadlessOptions("Maths", json=True, max_seconds=20), out) == 0
        assert time.monotonic() - started >= 0.9  # the hang-up came and went
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        hang_up.cancel()
        stop.cancel()
        signal.signal(signal.SIGHUP, previous)
    (stopped,) = [line for line in json_lines(out.getvalue()) if line.get("state") == "stopped"]
    assert stopped["message"] == "stopped by SIGTERM (asked to stop)"


def headless_with_fake_worker(monkeypatch, tmp_path, open_hook=None, finish_hook=None, seconds=1):
    """`faceattend station --headless` as run by a service, on a fake worker; the hooks run inside the open
    and the output's last drain (where a service manager's SIGTERM may come)."""
    import faceattend_tui.station as station_module
    from faceattend_tui.cli.output import Output

    real = station_module.Station

    def with_fake_worker(*args, **kwargs):
        made = real(*args, worker_factory=FakeWorker, user="staff", **kwargs)
        if open_hook is not None:
            opening = made.open

            def open_then_hook():
                opening()
                open_hook()
            made.open = open_then_hook
        return made

    monkeypatch.setattr(station_module, "Station", with_fake_worker)
    if finish_hook is not None:
        finishing = Output.finish
        monkeypatch.setattr(Output, "finish", lambda self: (finish_hook(), finishing(self))[1])
    enroll_fake_people(tmp_path, ["Ann", "Bob"])
    (tmp_path / "slides").mkdir()
    return main(["station", "--headless", "--session", "Maths", "--source", str(tmp_path / "slides"), "--data",
                 str(tmp_path), "--no-preview", "--max-seconds", str(seconds)])


def next_start_says_no_crash(data) -> list:
    """The next station on `data` opens without an "ended without closing" notice; its sessions."""
    again = Station(load_settings(data), "demo", worker_factory=FakeWorker, user="staff", name="door")
    again.open()
    try:
        assert not [n for n in again.start_notices() if "ended without closing" in n]
        return again.sessions()
    finally:
        again.close()


def test_a_sigterm_while_the_station_starts_closes_it_whole_with_its_lock_given_back(tmp_path, monkeypatch, capsys):
    """systemctl stop just after start: it killed the station holding its lock, and the next start told staff
    of a crash and to mark by hand whoever came."""
    import os
    import signal

    code = headless_with_fake_worker(monkeypatch, tmp_path, open_hook=lambda: os.kill(os.getpid(), signal.SIGTERM))
    assert code == 2 and "stopped by SIGTERM while the station started: nothing was recorded" in capsys.readouterr().err
    assert next_start_says_no_crash(tmp_path) == []  # and nothing was recorded


def test_a_second_sigterm_while_the_last_lines_go_out_does_not_cut_the_close_short(tmp_path, monkeypatch, capsys):
    import os
    import signal

    code = headless_with_fake_worker(monkeypatch, tmp_path, finish_hook=lambda: os.kill(os.getpid(), signal.SIGTERM))
    assert code in (0, 1) and "stopped session 'Maths'" in capsys.readouterr().out
    next_start_says_no_crash(tmp_path)


def test_a_session_left_open_by_keep_open_is_said_with_what_stopped_the_station(station, capsys):
    import signal

    out = io.StringIO()
    headless = Headless(station, HeadlessOptions("Maths", keep_open=True, max_seconds=0.3), out)
    headless.run()
    headless.stop_on(signal.SIGTERM)
    headless.finish()
    assert "note: session 'Maths' left open (--keep-open); stopped by SIGTERM (asked to stop)" in \
        capsys.readouterr().err
    assert station.active is not None


def test_a_headless_station_names_two_people_who_look_like_one_as_the_roster_does(station):
    ann = next(p for p in station.people() if p.name == "Ann")
    out = io.StringIO()
    Headless(station, HeadlessOptions("Maths"), out).on_event(
        ev.LookAlike(message="Ann and Bob look like one person", folders=("Ann", "Bob"), similarity=0.87))
    assert f"look-alike: Ann ({ann.id}) and Bob (" in out.getvalue()


def test_a_sigterm_just_before_the_run_takes_its_signals_stops_the_run(tmp_path, monkeypatch, capsys):
    """Between the start-up's end and the run's own handlers a SIGTERM was noted and never looked at: the
    station ran on until a service manager killed it, holding its lock."""
    import os
    import signal

    from faceattend_tui.cli import headless

    made = headless.Headless.__init__

    def then_stopped(self, *args, **kwargs):
        made(self, *args, **kwargs)
        os.kill(os.getpid(), signal.SIGTERM)  # before run_headless installs its handlers

    monkeypatch.setattr(headless.Headless, "__init__", then_stopped)
    started = time.monotonic()
    code = headless_with_fake_worker(monkeypatch, tmp_path, seconds=30)
    assert time.monotonic() - started < 15 and code in (0, 1)
    assert "stopped by SIGTERM" in capsys.readouterr().out


def test_a_headless_door_says_it_deleted_templates_put_back_for_someone_erased(tmp_path, capsys):
    """A backup put back brought an erased person's templates again: the station deleted them, but a headless
    run said nothing of it, on its output or in its warnings."""
    from test_station import amy_erased

    amy_erased(tmp_path)
    enroll_fake_people(tmp_path, ["amy", "raj"])
    made = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker, name="door")
    made.open()
    try:
        headless = Headless(made, HeadlessOptions("", json=True), io.StringIO())
        for update in made.poll(timeout=0.05):
            headless.on_update(update)
    finally:
        made.close()
    assert "warning: the photos in database_image/amy were someone's who was erased" in capsys.readouterr().err
