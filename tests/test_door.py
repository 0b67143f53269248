"""The door display: banners people can read from the door, placed away from the face, and the window."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import wave
from datetime import datetime, timedelta, timezone

import cv2
import numpy as np
import pytest

from faceattend_tui.attendance import RosterRow, Session
from faceattend_tui.live import events as ev
from faceattend_tui.live.door import LOOKS, Banner, DoorState, draw, layout, overlap
from faceattend_tui.live.recognizer import Overlay
from faceattend_tui.live.sound import Chime, tone_wav
from faceattend_tui.live.words import Words
from faceattend_tui.station import door_outcome

T0 = datetime(2026, 9, 7, 8, 50, tzinfo=timezone.utc)
FRAME = (480, 640, 3)


def face_at(y: int, track: int = 7) -> Overlay:
    return Overlay((260, y, 380, y + 140), "known", "Ann Lee", track)


def state_with(kind: str, track: int = 7, session: str = "Maths 3A") -> DoorState:
    door = DoorState(session=session, present=12, expected=25)
    door.show(Banner(kind, "Ann Lee", "08:58", track, until=100.0))
    return door


# ----- what the banner says --------------------------------------------------------------------


def test_the_outcome_of_a_check_in_is_said_in_words():
    session = Session(1, "Maths", T0, late_after_minutes=10)
    row = RosterRow("S1", "Ann Lee", "present", time=T0 + timedelta(minutes=8))
    local, late_at, deadline = ((T0 + timedelta(minutes=m)).astimezone() for m in (8, 14, 10))

    def said(row: RosterRow, new: bool) -> tuple[str, str]:
        return Banner.of(door_outcome(row, new, 3, session), 10.0).lines(Words())

    assert said(row, True) == ("Ann Lee", f"checked in at {local:%H:%M}")
    late = RosterRow("S1", "Ann Lee", "late", time=T0 + timedelta(minutes=14))
    assert said(late, True) == ("Ann Lee", f"late at {late_at:%H:%M}, after {deadline:%H:%M}")
    assert said(row, False) == ("Ann Lee", f"already here since {local:%H:%M}")
    assert said(RosterRow("S1", "Ann Lee", "present", time=None), False) == ("Ann Lee", "already here")
    with pytest.raises(ValueError):
        ev.ShowOutcome("welcome", "Ann", 1)


def test_a_lateness_that_begins_within_a_minute_is_said_with_its_seconds_at_the_door():
    """Started 54 seconds into a minute with 10 minutes' grace: one who came 4 seconds after the deadline
    read 'late at 09:08, after 09:08', while the header said 'late from 09:08:54'."""
    session = Session(1, "Maths", T0 + timedelta(minutes=8, seconds=54), late_after_minutes=10)
    came = T0 + timedelta(minutes=18, seconds=58)
    late = RosterRow("S1", "Ann Lee", "late", time=came)
    said = Banner.of(door_outcome(late, True, 3, session), 10.0).lines(Words())
    deadline = session.late_deadline.astimezone()
    assert said == ("Ann Lee", f"late at {came.astimezone():%H:%M:%S}, after {deadline:%H:%M:%S}")
    on_the_minute = Session(1, "Maths", T0, late_after_minutes=10)  # a timetable's: lateness from 09:00
    just_late = RosterRow("S1", "Ann Lee", "late", time=T0 + timedelta(minutes=10, seconds=30))
    said = Banner.of(door_outcome(just_late, True, 3, on_the_minute), 10.0).lines(Words())
    assert said == ("Ann Lee", f"late at {just_late.time.astimezone():%H:%M:%S}, "
                               f"after {on_the_minute.late_deadline.astimezone():%H:%M}")
    later = RosterRow("S1", "Ann Lee", "late", time=came + timedelta(minutes=3))
    said = Banner.of(door_outcome(later, True, 3, session), 10.0).lines(Words())
    assert said == ("Ann Lee", f"late at {later.time.astimezone():%H:%M}, after {deadline:%H:%M:%S}")


def test_every_banner_kind_has_a_word_and_a_shape_besides_its_colour():
    shapes = {look.icon for look in LOOKS.values()}
    assert shapes == {"tick", "clock", "info", "cross"}
    assert all(look.word for look in LOOKS.values())
    tick = draw(np.zeros(FRAME, np.uint8), layout(FRAME, [], state_with("checked-in"), 0.0))
    cross = draw(np.zeros(FRAME, np.uint8), layout(FRAME, [], state_with("see-staff"), 0.0))
    icon = (slice(380, 480), slice(0, 100))
    white = lambda image: (image[icon].min(axis=2) > 200)  # noqa: E731
    assert white(tick).sum() > 50 and white(cross).sum() > 50
    assert (white(tick) != white(cross)).sum() > 50  # different shapes, not only different colours


# ----- where it goes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("face_y", [20, 120, 300, 330])
def test_the_banner_never_covers_the_face_it_is_about(face_y):
    face = face_at(face_y)
    plan = layout(FRAME, [face], state_with("checked-in"), now=0.0)
    assert overlap(plan.banner_rect, face.box) == 0
    assert overlap(plan.panel, plan.banner_rect) == 0  # the corner panel moves out of its way


def test_the_banner_is_large_enough_to_read_from_the_door():
    plan = layout(FRAME, [], state_with("late"), now=0.0)
    x1, y1, x2, y2 = plan.banner_rect
    assert y2 - y1 >= 0.2 * FRAME[0] and x2 - x1 == FRAME[1]
    canvas = draw(np.zeros(FRAME, np.uint8), plan)
    band = canvas[y1:y2, x1:x2].reshape(-1, 3)
    assert np.mean(np.all(np.abs(band.astype(int) - LOOKS["late"].colour) < 40, axis=1)) > 0.5


def test_banners_expire_and_the_corner_says_when_nothing_is_recorded():
    door = state_with("checked-in")
    assert layout(FRAME, [], door, now=99.0).banner is not None
    assert layout(FRAME, [], door, now=101.0).banner is None
    assert layout(FRAME, [], door, now=0.0).panel_lines == ["Maths 3A", "12 of 25 here"]
    idle = DoorState()
    assert layout(FRAME, [], idle, now=0.0).panel_lines == ["No session", "not recording"]


def test_faces_waiting_for_a_decision_are_asked_to_hold_still():
    overlays = [Overlay((10, 10, 90, 90), "pending", "", 1), Overlay((300, 10, 380, 90), "unknown", "unknown", 2)]
    plan = layout(FRAME, overlays, DoorState(), now=0.0)
    assert [f.text for f in plan.faces] == ["hold still", "not recognised"]


def test_someone_not_on_the_list_keeps_reading_so_on_their_face_once_the_banner_has_gone():
    """After the 3 s banner their face was green with their name, as someone let in."""
    door = state_with("not-on-list", track=7)
    later = layout(FRAME, [face_at(200, track=7), face_at(20, track=8)], door, now=101.0)
    assert later.banner is None
    refused, other = later.faces
    assert refused.text == "please see staff: Ann Lee" and refused.colour == LOOKS["see-staff"].colour
    assert other.text == "Ann Lee" and other.colour != refused.colour
    door.show(Banner("checked-in", "Ann Lee", "", 7, until=200.0))  # a session that expects them now
    assert layout(FRAME, [face_at(200, track=7)], door, now=101.0).faces[0].text == "Ann Lee"
    door.show(Banner("not-on-list", "Ann Lee", "", 7, until=0.0))
    door.set_session(ev.SetSession(name="Choir", present=0, expected=9))  # another session: another list
    assert layout(FRAME, [face_at(200, track=7)], door, now=101.0).faces[0].text == "Ann Lee"


def test_names_stay_inside_the_picture_over_their_own_face_and_clear_of_each_other():
    """A long name ran 400 px off the right edge, across the next person's face, under their name."""
    long = "Bartholomew Maximilian Featherstonehaugh-Cholmondeley III"
    overlays = [Overlay((380, 200, 500, 340), "known", long, 1), Overlay((520, 210, 630, 350), "known", "Sheldon", 2),
                Overlay((-30, 20, 90, 160), "known", "Alexandros Papadimitriou", 3)]  # running off the left edge
    plan = layout(FRAME, overlays, DoorState(), now=0.0)
    labels = [f.label for f in plan.faces]
    assert all(x1 >= 0 and y1 >= 0 and x2 <= FRAME[1] and y2 <= FRAME[0] for x1, y1, x2, y2 in labels), labels
    assert plan.faces[0].text.startswith("Bartholomew") and plan.faces[0].text.endswith("...")
    assert plan.faces[1].text == "Sheldon" and plan.faces[2].text.startswith("Alex")
    for i, label in enumerate(labels):
        assert not any(overlap(label, other) for other in labels[i + 1:]), labels
        assert not any(overlap(label, o.box) for j, o in enumerate(overlays) if j != i), (label, i)


@pytest.mark.parametrize("shape", [FRAME, (720, 1280, 3)])
def test_the_name_of_a_face_as_tall_as_the_picture_is_drawn_inside_it(shape):
    """Someone close to the camera: their name went below the picture, a green strip at its edge."""
    height = shape[0]
    plan = layout(shape, [Overlay((180, 10, 460, height - 10), "known", "Ann Lee", 1)], DoorState(), now=0.0)
    _, top, _, bottom = plan.faces[0].label
    assert top >= 0 and bottom <= height and plan.faces[0].text == "Ann Lee"


def test_words_on_a_portrait_screen_are_sized_to_the_picture_not_the_screens_height():
    """On an 800x1280 screen the picture is 600 px high, its names drawn 1.6 times too large."""
    from faceattend_tui.live.door import text_scale

    assert text_scale((1280, 800, 3)) == text_scale((600, 800, 3)) < text_scale((800, 1280, 3))


def test_drawing_leaves_the_camera_frame_untouched():
    frame = np.full(FRAME, 90, np.uint8)
    draw(frame, layout(FRAME, [face_at(100)], state_with("already-here"), 0.0))
    assert frame.min() == frame.max() == 90


# ----- sound -------------------------------------------------------------------------------------


def test_tones_are_short_wav_files_and_silence_is_quiet(capfd):
    with wave.open(io.BytesIO(tone_wav([(880.0, 0.1)]))) as tone:
        assert tone.getnchannels() == 1 and tone.getframerate() == 22050 and tone.getnframes() == 2205
    off = Chime(False)
    off.play("checkin")
    nowhere = Chime(True)
    nowhere.player = None  # no player on this machine
    nowhere.play("see-staff")
    assert capfd.readouterr() == ("", "")


# ----- the window -----------------------------------------------------------------------------------


WINDOW = """
import sys, time, numpy as np
from pathlib import Path
from faceattend_tui.live.door import DoorState
from faceattend_tui.live.preview import Preview
import cv2
mode, remember = sys.argv[1], Path(sys.argv[2])
preview = Preview(mode, remember=remember)
assert preview.start() is None, preview.problem
preview.show(np.zeros((480, 640, 3), np.uint8), [], DoorState(), time.time())
print(cv2.getWindowProperty(preview.name, cv2.WND_PROP_FULLSCREEN))
if mode == "window":
    cv2.resizeWindow(preview.name, 800, 600)
    cv2.waitKey(50)
preview.stop()
"""


def run_window(mode: str, tmp_path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", WINDOW, mode, str(tmp_path / "preview.json")],
                          capture_output=True, text=True, timeout=60)


def test_full_screen_on_a_virtual_display_and_nothing_printed(xvfb_display, tmp_path):
    done = run_window("fullscreen", tmp_path)
    assert done.returncode == 0, done.stderr
    assert float(done.stdout.strip()) == cv2.WINDOW_FULLSCREEN
    assert done.stderr == ""  # no Qt font warnings on the terminal


def test_a_window_remembers_the_size_it_was_given(xvfb_display, tmp_path):
    done = run_window("window", tmp_path)
    assert done.returncode == 0, done.stderr
    assert float(done.stdout.strip()) != cv2.WINDOW_FULLSCREEN
    remembered = json.loads((tmp_path / "preview.json").read_text())
    assert remembered["width"] > 640 and remembered["height"] > 480  # the size it was given, not the camera's


def test_a_remembered_size_is_given_back_to_a_new_window(tmp_path, monkeypatch):
    from faceattend_tui.live import preview as module

    (tmp_path / "preview.json").write_text('{"width": 1024, "height": 768}')
    calls = []
    monkeypatch.setattr(module.cv2, "namedWindow", lambda *a: calls.append(("named", a)))
    monkeypatch.setattr(module.cv2, "resizeWindow", lambda *a: calls.append(("resize", a)))
    monkeypatch.setattr(module.cv2, "setWindowTitle", lambda *a: None)
    preview = module.Preview("window", remember=tmp_path / "preview.json")
    preview._create()
    assert ("resize", (preview.name, 1024, 768)) in calls
    (tmp_path / "preview.json").write_text("not json")
    calls.clear()
    module.Preview("window", remember=tmp_path / "preview.json")._create()
    assert [c[0] for c in calls] == ["named"]  # a damaged file is ignored


@pytest.mark.parametrize("shape", [(854, 480, 3), (512, 512, 3), (480, 640, 3), (320, 240, 3), (120, 160, 3),
                                   (180, 320, 3)])  # portrait, square, 4:3, small ones, a thin 16:9
def test_a_refused_person_reads_what_to_do_whatever_the_cameras_shape(shape, monkeypatch):
    from faceattend_tui.live import door as door_module

    drawn: list[tuple[str, int]] = []  # each text and the lowest row it reaches
    real_put = door_module.put

    def put(canvas, text, origin, scale, weight, *rest):
        drawn.append((text, origin[1] + cv2.getTextSize(text, door_module.FONT, scale, weight)[1]))
        real_put(canvas, text, origin, scale, weight, *rest)

    monkeypatch.setattr(door_module, "put", put)
    state = DoorState(session="Maths 3A", present=12, expected=25)
    state.show(Banner("not-on-list", "Ann Lee", ev.SEE_STAFF, 7, until=100.0))
    draw(np.zeros(shape, np.uint8), layout(shape, [], state, now=0.0))
    assert any("please see staff" in text for text, _ in drawn), drawn
    assert not any(text.endswith("...") for text, _ in drawn), drawn
    assert all(bottom < shape[0] for _, bottom in drawn), drawn  # inside the picture, descenders too


def test_the_corner_panel_stays_put_while_faces_move_about():
    """A crowd fills every corner a little, swaying: the panel does not jump from side to side."""
    door = DoorState(session="Maths 3A", present=12, expected=25)
    corners = []
    for step in range(40):
        dx = 10 if step % 2 else -10  # two people at the bottom corners sway in turn
        overlays = [Overlay((0, 0, 640, 130), "unknown", "unknown", 1),  # the top edge, covered all along
                    Overlay((200, 360, 440, 480), "known", "Ann Lee", 2),  # the middle of the bottom edge
                    Overlay((0, 440, 60 + dx, 480), "known", "Bob", 3),
                    Overlay((580 + dx, 440, 640, 480), "known", "Cleo", 4)]
        corners.append(layout(FRAME, overlays, door, now=0.0).panel[:2])
    assert len(set(corners)) == 1, set(corners)


def test_a_picture_shorter_than_the_banner_keeps_the_banner_inside_it():
    shape = (40, 320, 3)
    state = DoorState(session="Maths 3A", present=12, expected=25)
    state.show(Banner("not-on-list", "Ann Lee", ev.SEE_STAFF, 7, until=100.0))
    plan = layout(shape, [], state, now=0.0)
    assert plan.banner_rect is not None and plan.banner_rect[1] >= 0 and plan.banner_rect[3] <= shape[0]
    draw(np.zeros(shape, np.uint8), plan)
