"""The door, part 2: a calm screen, labels that follow the person, a card when the picture stops,
and the door's words in the language of the people at the door."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from faceattend_tui.config import Settings
from faceattend_tui.gallery.matcher import Gallery
from faceattend_tui.live import events as ev
from faceattend_tui.live import worker as worker_module
from faceattend_tui.live.door import Banner, DoorState, card_lines, draw, draw_card, face_area, layout, overlap
from faceattend_tui.live.recognizer import LiveRecognizer, Overlay
from faceattend_tui.live.tracker import IouTracker, Track, Voter, VoteRules
from faceattend_tui.live.words import ENGLISH, Words, drawable, draws
from faceattend_tui.vision.types import Face

FRAME = (480, 640, 3)
FRENCH = Words.for_locale("fr-FR")


def blank() -> np.ndarray:
    return np.zeros(FRAME, np.uint8)


# ----- the corner text never covers a face ---------------------------------------------------------------


@pytest.mark.parametrize("box", [(10, 10, 150, 170), (480, 10, 630, 170), (10, 300, 150, 470),
                                 (480, 300, 630, 470), (200, 150, 420, 400)])
def test_the_corner_text_moves_to_a_corner_without_a_face(box):
    door = DoorState(session="Maths 3A", present=12, expected=25)
    plan = layout(FRAME, [Overlay(box, "known", "Ann Lee", 1)], door, 0.0)
    assert overlap(plan.panel, face_area(plan.faces[0])) == 0


def test_the_corner_text_keeps_clear_of_the_banner_and_of_other_faces():
    door = DoorState(session="Maths 3A", present=12, expected=25)
    door.show(Banner("checked-in", "Ann Lee", "at {time}", 1, until=10.0, time="08:58"))
    faces = [Overlay((10, 10, 150, 170), "known", "Ann Lee", 1), Overlay((480, 10, 630, 170), "pending", "", 2)]
    plan = layout(FRAME, faces, door, 0.0)
    assert overlap(plan.panel, plan.banner_rect) == 0
    assert all(overlap(plan.panel, face_area(face)) == 0 for face in plan.faces)


# ----- background faces are not asked anything --------------------------------------------------------------


def test_faces_too_small_to_recognise_get_a_thin_box_and_no_words():
    door = DoorState(min_face=40)
    small, big = Overlay((400, 100, 430, 130), "pending", "", 1), Overlay((100, 100, 220, 240), "pending", "", 2)
    plan = layout(FRAME, [small, big], door, 0.0)
    assert [f.text for f in plan.faces] == ["", "hold still"]
    canvas = draw(blank(), plan)
    above = canvas[70:98, 400:470]  # where a word would go above the small face
    assert not above.any()
    assert canvas[100, 415].any() and not canvas[102, 415].any()  # a one-pixel line
    known = layout(FRAME, [Overlay((400, 100, 430, 130), "known", "Ann Lee", 1)], door, 0.0)
    assert known.faces[0].text == "Ann Lee"  # a recognised person keeps their name walking away


def test_a_scaled_full_screen_frame_measures_faces_at_the_camera_size():
    door = DoorState(min_face=40)
    face = Overlay((400, 100, 460, 160), "pending", "", 1)  # 30 px at the camera, shown twice as large
    assert layout(FRAME, [face], door, 0.0, face_scale=2.0).faces[0].text == ""
    assert layout(FRAME, [face], door, 0.0).faces[0].text == "hold still"


# ----- a card when no picture comes ----------------------------------------------------------------------------


def test_a_stopped_source_shows_a_card_that_says_so():
    assert card_lines(DoorState())[1] == []
    assert card_lines(DoorState(source="video-ended"))[1] == ["The video ended"]
    assert card_lines(DoorState(source="camera-stopped"))[1] == ["The camera stopped", "please see staff"]
    assert card_lines(DoorState(source="camera-stopped", words=FRENCH))[1][0] == "La caméra s'est arrêtée"
    card = draw_card(FRAME, DoorState(source="camera-stopped"))
    grey = draw_card(FRAME, DoorState())
    assert card.shape == FRAME and (card != grey).any(axis=2).sum() > 2000  # words and a sign, not a blank


class FakePreview:
    def __init__(self, mode, remember=None):
        self.open, self.cards = True, []

    def start(self):
        return None

    def show_card(self, door):
        self.cards.append(card_lines(door)[1])

    def stop(self):
        self.open = False


@pytest.mark.parametrize(("live", "said"), [(False, "The video ended"), (True, "The camera stopped")])
def test_the_card_is_shown_when_the_source_ends_and_when_the_preview_reopens(monkeypatch, tmp_path, live, said):
    monkeypatch.setattr(worker_module, "Preview", FakePreview)
    events = []
    config = worker_module.WorkerConfig(Settings(data=tmp_path), "video.mp4", preview=False)
    worker = worker_module.Worker(config, None, type("Q", (), {"put": lambda self, e: events.append(e)})())
    worker.source_live = live
    worker._set_preview(True)
    worker._source_finished()
    worker._no_picture()
    assert worker.preview.cards == [[said] + (["please see staff"] if live else [])]
    worker._set_preview(False)
    worker._set_preview(True)  # `p` after the end: the card at once, not a blank window
    assert worker.preview.cards[0][0] == said


# ----- the door's language ---------------------------------------------------------------------------------


def test_the_locale_chooses_the_language_and_english_fills_the_gaps(tmp_path):
    assert FRENCH.tag == "fr" and FRENCH.say("hold still") == "ne bougez pas"
    assert FRENCH.say("at {time}, after {deadline}", time="09:14", deadline="09:10") == "à 09:14, après 09:10"
    assert FRENCH.say("since {time}", time="08:58") == "depuis 08:58"
    assert Words.for_locale("sv-SE").say("hold still") == "hold still"  # no Swedish yet: English
    (tmp_path / "de.toml").write_text('"hold still" = "Bitte stillhalten"\n"{present} here" = "{present} da"\n',
                                      encoding="utf-8")
    german = Words.for_locale("de-AT", tmp_path)
    assert (german.tag, german.say("hold still"), german.say("blink")) == ("de", "Bitte stillhalten", "blink")
    assert german.say("{present} here", present=3) == "3 da"
    (tmp_path / "fr-CA.toml").write_text('"hold still" = "restez immobile"\n', encoding="utf-8")
    quebec = Words.for_locale("fr-CA", tmp_path)
    assert quebec.say("hold still") == "restez immobile" and quebec.say("blink") == "clignez des yeux"
    (tmp_path / "nl.toml").write_text('"{present} here" = "{present[0]} hier"\n"since {time}" = "sinds {time.x}"\n',
                                      encoding="utf-8")  # a translator's slips: the English, not a worker crash
    dutch = Words.for_locale("nl", tmp_path)
    assert dutch.say("{present} here", present=3) == "3 here" and dutch.say("since {time}", time="08:58") == \
        "since 08:58"
    (tmp_path / "it.toml").write_text("not toml at all [", encoding="utf-8")
    broken = Words.for_locale("it", tmp_path)
    assert broken.tag == "en" and "it.toml" in broken.problem
    (tmp_path / "zh-Hant.toml").write_text('"hold still" = "請別動"\n', encoding="utf-8")
    (tmp_path / "zh.toml").write_text('"hold still" = "请别动"\n', encoding="utf-8")
    taiwan = Words.for_locale("zh-Hant-TW", tmp_path)  # the nearest file, not the bare language's
    assert (taiwan.tag, taiwan.say("hold still")) == ("zh-Hant", "請別動")
    assert Words.for_locale("zh_TW.UTF-8", tmp_path).tag == "zh-Hant"  # a machine's locale: written in Hant
    (tmp_path / "fr.toml").write_text('"hold still" = "restez là"\n', encoding="utf-8")
    (tmp_path / "fr-CA.toml").write_text("broken = = =", encoding="utf-8")
    canada = Words.for_locale("fr-CA", tmp_path)  # fr.toml taken, the broken file said
    assert canada.tag == "fr" and "fr-CA.toml" in canada.problem


def test_every_phrase_the_door_can_show_is_in_french_and_in_the_readme():
    assert set(ev.DETAILS) <= set(ENGLISH)
    assert [phrase for phrase in ENGLISH if phrase not in FRENCH.table] == []
    readme = " ".join((Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8").split())
    assert [phrase for phrase in ENGLISH if f'"{phrase}"' not in readme] == []  # what a translator must cover


@pytest.mark.parametrize("outcome, detail, said", [
    ("not-on-list", ev.SEE_STAFF, "pas sur la liste de cette séance - adressez-vous au personnel"),
    ("no-session", ev.NOTHING_RECORDED, "visage reconnu (aucune séance : rien n'est enregistré)"),
    ("late", ev.AT_LATE, "en retard à 09:14, après 09:10"),
    ("already-here", "", "déjà là"),
])
def test_a_banner_from_the_station_is_said_whole_in_french(outcome, detail, said):
    command = ev.ShowOutcome(outcome, "Zoé Lefèvre", 3, detail, time="09:14", deadline="09:10")
    assert Banner.of(command, 10.0).lines(FRENCH) == ("Zoé Lefèvre", said)


def test_the_worker_speaks_the_locale_setting(tmp_path):
    (tmp_path / "models" / "lang").mkdir(parents=True)
    (tmp_path / "models" / "lang" / "de.toml").write_text('"No session" = "Keine Sitzung"\n', encoding="utf-8")
    assert worker_module.door_words(Settings(data=tmp_path, locale="fr-FR")).say("No session") == "Aucune séance"
    assert worker_module.door_words(Settings(data=tmp_path, locale="de")).say("No session") == "Keine Sitzung"


def test_the_door_speaks_french():
    door = DoorState(session="Maths 3A", present=12, expected=25, words=FRENCH)
    plan = layout(FRAME, [Overlay((10, 200, 130, 340), "pending", "", 1), Overlay((300, 200, 420, 340),
                                                                                  "unknown", "unknown", 2)], door, 0.0)
    assert [f.text for f in plan.faces] == ["ne bougez pas", "visage non reconnu"]
    assert plan.panel_lines == ["Maths 3A", "12 sur 25 présents"]
    waiting = layout(FRAME, [Overlay((10, 200, 130, 340), "pending", "blink", 1)], door, 0.0)
    assert waiting.faces[0].text == "clignez des yeux"


def question_marks(text: str) -> str:
    return "".join(c if c.isascii() else "?" for c in text)


@pytest.mark.parametrize("state", ["known", "pending"])
def test_accented_names_and_french_prompts_are_drawn_with_their_letters(state):
    label = "Céline Gérard" if state == "known" else "look at the camera"  # French: regardez la caméra
    door = DoorState(words=FRENCH)
    plan = layout(FRAME, [Overlay((200, 150, 360, 330), state, label, 1)], door, 0.0)
    text = plan.faces[0].text
    assert not text.isascii()
    drawn = draw(blank(), plan)
    mangled = draw(blank(), layout(FRAME, [Overlay((200, 150, 360, 330), "known", question_marks(text), 1)],
                                   door, 0.0))
    assert (drawn != mangled).any(axis=2).sum() > 20  # not the "?" OpenCV 4 would draw
    if draws("é"):
        assert drawable(text) == text
    else:  # an older OpenCV: the letters without their accents, never "?"
        assert "?" not in drawable(text)


def test_a_french_banner_is_drawn_with_its_accents():
    door = DoorState(words=FRENCH)
    door.show(Banner("already-here", "Zoé Lefèvre", "since {time}", None, until=10.0, time="08:58"))
    drawn = draw(blank(), layout(FRAME, [], door, 0.0))
    door.banners.clear()
    door.show(Banner("already-here", "Zo? Lef?vre", "since {time}", None, until=10.0, time="08:58"))
    mangled = draw(blank(), layout(FRAME, [], door, 0.0))
    assert (drawn != mangled).any(axis=2).sum() > 20


# ----- labels follow the person, not the box --------------------------------------------------------------


def face_image(seed: int) -> np.ndarray:
    """A synthetic face-sized patch: a lit oval with features, different per seed."""
    rng = np.random.default_rng(seed)
    patch = np.full((160, 140, 3), rng.integers(60, 200, 3), np.uint8)
    for _ in range(6):
        y, x = rng.integers(20, 140), rng.integers(15, 125)
        patch[max(y - 12, 0):y + 12, max(x - 15, 0):x + 15] = rng.integers(0, 255, 3)
    return patch


BOX = (240, 150, 380, 310)


def scene(patch: np.ndarray, shift: int = 0) -> np.ndarray:
    frame = np.full(FRAME, 90, np.uint8)
    frame[BOX[1]:BOX[3], BOX[0] + shift:BOX[2] + shift] = patch
    return frame


def face(shift: int = 0) -> Face:
    x1, y1, x2, y2 = BOX
    return Face(np.array([x1 + shift, y1, x2 + shift, y2], np.float32), 0.9, np.zeros((5, 2), np.float32))


def test_a_face_that_changes_inside_a_track_loses_its_name_at_once():
    tracker = IouTracker(0.3, 10)
    ann, bob = face_image(1), face_image(2)
    (track,) = tracker.update([face()], 0.0, scene(ann))
    track.state, track.name = "known", "Ann"
    for i in range(1, 6):  # Ann moving a little: she stays Ann
        tracker.update([face(i)], i / 15, scene(ann, i))
        assert tracker.changed == [] and track.name == "Ann"
    (same,) = tracker.update([face(5)], 0.5, scene(bob, 5))  # a cut: Bob where Ann was, same box
    assert same is track and tracker.changed == [track]
    assert track.state == "pending" and track.name is None and not track.votes
    assert track.before == ("known", "Ann")


def unit(person: int) -> np.ndarray:
    """A person's embedding: near one axis of 16, so two people are far apart (cosine about 0)."""
    vector = np.random.default_rng(person).normal(scale=0.1, size=16).astype(np.float32)
    vector[person] += 1.0
    return vector / np.linalg.norm(vector)


def rules(**kw) -> VoteRules:
    return VoteRules(**{"threshold": 0.4, "votes_needed": 3, "window_votes": 5, "window_seconds": 3.0,
                        "unknown_after": 2.0, "recheck_seconds": 2.0, "recheck_iou": 0.5, **kw})


def test_an_embedding_of_someone_else_clears_a_decided_name_before_the_votes_agree():
    voter = Voter(rules())
    track = Track(1, np.array(BOX, np.float32), np.zeros((5, 2), np.float32), 0.9, 0.0, 0.0)
    ann, bob = unit(1), unit(2)
    decisions = [voter.add_vote(track, "Ann", 0.7, i / 10, ann) for i in range(3)]
    assert decisions[-1].name == "Ann" and track.name == "Ann"
    assert voter.add_vote(track, None, 0.1, 0.5, bob) is None  # one vote, not yet enough for anyone
    assert track.state == "pending" and track.name is None  # but Ann's name is gone at once
    assert voter.needs_embedding(track, 0.55)


def test_a_false_alarm_re_decides_silently():
    voter = Voter(rules())
    track = Track(1, np.array(BOX, np.float32), np.zeros((5, 2), np.float32), 0.9, 0.0, 0.0)
    ann = unit(1)
    assert [voter.add_vote(track, "Ann", 0.7, i / 10, ann) for i in range(3)][-1] is not None
    track.forget_identity()  # e.g. the lights went off and on
    again = [voter.add_vote(track, "Ann", 0.7, 1 + i / 10, ann) for i in range(3)]
    assert again == [None, None, None] and track.name == "Ann"  # no second check-in


class FakeEmbedder:
    dim = 16

    def embed(self, crops: np.ndarray) -> np.ndarray:
        """Bright-red-channel crops are Ann, the others Bob (the recogniser's view of who is there)."""
        return np.stack([unit(1) if crop[..., 2].mean() > 128 else unit(2) for crop in crops])


class FakeEngine:
    embedder = FakeEmbedder()
    landmarks = None

    def detect(self, frame):
        return [face()]

    def crops(self, frame, faces):
        x1, y1, x2, y2 = (int(v) for v in faces[0].box)
        return np.stack([np.ascontiguousarray(frame[y1:y2, x1:x2])])


def test_the_old_name_is_never_drawn_on_the_new_face():
    """Two different people swapped inside one track: Bob never wears Ann's name, even for one frame."""
    gallery = Gallery.from_people({"Ann": unit(1)[None], "Bob": unit(2)[None]}, 16)
    live = LiveRecognizer(FakeEngine(), gallery, Settings(threshold=0.4, votes_needed=3, recheck_seconds=2.0))
    ann = face_image(1)
    ann[..., 2] = 200
    # Bob looks much like Ann to the pixels (same light, same layout): only his embedding tells
    bob = ann.copy()
    bob[..., 2] = 110
    checkins = []
    for i in range(5):
        checkins += [e.name for e in live.process(scene(ann), now=i / 15) if e.type == "checkin"]
    assert checkins == ["Ann"] and live.overlays[0].label == "Ann"
    for i in range(5, 15):
        checkins += [e.name for e in live.process(scene(bob), now=i / 15) if e.type == "checkin"]
        assert live.overlays[0].label != "Ann"
        assert all("Ann" not in mark.text for mark in layout(FRAME, live.overlays, DoorState(), 0.0).faces)
    assert checkins == ["Ann", "Bob"] and live.overlays[0].label == "Bob"


def test_someone_removed_while_in_view_loses_their_name_on_the_preview_and_is_not_said_present():
    """Erased (or removed) while standing at the camera: the gallery reloaded without them, yet their track
    kept their name on the preview window, and said them still there a minute on."""
    gallery = Gallery.from_people({"Ann": unit(1)[None], "Bob": unit(2)[None]}, 16)
    live = LiveRecognizer(FakeEngine(), gallery, Settings(threshold=0.4, votes_needed=3, recheck_seconds=2.0))
    ann = face_image(1)
    ann[..., 2] = 200
    said = [e.type for second in range(10) for e in live.process(scene(ann), now=float(second))]
    assert "checkin" in said and live.overlays[0].label == "Ann"
    live.set_gallery(Gallery.from_people({"Bob": unit(2)[None]}, 16))
    later = [(e.type, getattr(e, "name", None)) for second in range(10, 130)
             for e in live.process(scene(ann), now=float(second))]
    assert live.overlays[0].label != "Ann" and not [e for e in later if e[1] == "Ann"]


def test_a_face_that_stays_in_view_is_said_to_be_still_there_once_a_minute():
    """Work mode's hours: one check-in per track, then "present" while the same person stays."""
    gallery = Gallery.from_people({"Ann": unit(1)[None], "Bob": unit(2)[None]}, 16)
    live = LiveRecognizer(FakeEngine(), gallery, Settings(threshold=0.4, votes_needed=3, recheck_seconds=2.0))
    ann, bob = face_image(1), face_image(2)
    ann[..., 2], bob[..., 2] = 200, 110
    events = [(e.type, e.name, round(e.time)) for second in range(150)
              for e in live.process(scene(ann), now=float(second)) if e.type in ("checkin", "present")]
    assert [e[:2] for e in events] == [("checkin", "Ann"), ("present", "Ann"), ("present", "Ann")]
    assert 60 <= events[1][2] - events[0][2] <= 62 and 60 <= events[2][2] - events[1][2] <= 62
    later = [(e.type, e.name) for second in range(150, 300)
             for e in live.process(scene(bob), now=float(second)) if e.type in ("checkin", "present")]
    assert later[0] == ("checkin", "Bob") and ("present", "Ann") not in later  # Ann is not kept in by Bob


class MovedClock:
    """time as the recogniser reads it: `monotonic` steps on, `time` (the wall clock) may be set."""

    def __init__(self):
        self.steady, self.wall = 1000.0, 1_790_000_000.0

    def step(self, seconds: float = 1.0) -> None:
        self.steady += seconds
        self.wall += seconds

    def monotonic(self) -> float:
        return self.steady

    def time(self) -> float:
        return self.wall

    def perf_counter(self) -> float:
        return self.steady


def test_a_clock_put_back_keeps_the_minute_of_still_there_and_the_records_on_the_wall_clock(monkeypatch):
    """NTP putting the clock an hour back: the face in view was said to be still there only an hour later,
    and nothing it decided in that hour went out; times that go out are the wall clock's, as set."""
    import faceattend_tui.live.recognizer as recognizer

    clock = MovedClock()
    monkeypatch.setattr(recognizer, "time", clock)
    gallery = Gallery.from_people({"Ann": unit(1)[None]}, 16)
    live = LiveRecognizer(FakeEngine(), gallery, Settings(threshold=0.4, votes_needed=3, recheck_seconds=2.0))
    ann = face_image(1)
    ann[..., 2] = 200
    events = []
    for second in range(150):
        if second == 30:
            clock.wall -= 3600
        events += [(e.type, e.time, clock.wall) for e in live.process(scene(ann)) if e.type in ("checkin", "present")]
        clock.step()
    assert [kind for kind, _, _ in events] == ["checkin", "present", "present"]
    assert all(abs(said - wall) < 1 for _, said, wall in events)


def test_a_banner_that_ended_does_not_come_back_when_the_clock_is_put_back(tmp_path, monkeypatch):
    clock = MovedClock()
    monkeypatch.setattr(worker_module, "time", clock)
    worker = worker_module.Worker(worker_module.WorkerConfig(Settings(data=tmp_path), "video.mp4", preview=False),
                                  None, type("Q", (), {"put": lambda self, e: None})())
    worker._handle(ev.ShowOutcome("checked-in", "Ann Lee", 4, ev.AT, time="09:00"))
    assert worker.door.current(clock.monotonic()).title == "Ann Lee"
    clock.step(worker.settings.banner_seconds + 1)
    clock.wall -= 3600
    assert worker.door.current(clock.monotonic()) is None


class StubGate:
    """The liveness gate as the recogniser sees it: check-ins pass at once, and the face shows life
    while `living` is true."""

    def __init__(self):
        self.living, self.watched, self.held = True, [], []

    def forget(self, tracks): pass

    def observe(self, frame, tracks, now): pass

    def saw(self, track_id, embedding, anchor): pass

    def holds(self, track_id):
        return False  # released at once

    def wants_face(self, track, now):
        return False

    def hold(self, decision, crop):
        self.held.append((decision, crop))

    def release(self, now, make_checkin):
        released, self.held = [make_checkin(d, c, {}) for d, c in self.held], []
        return released

    def waiting_for(self, track_id):
        return None

    def watch(self, track_id):
        self.watched.append(track_id)

    def alive(self, track_id):
        return self.living

    def evidence(self, track_id):
        return {"blink_time": 1.0} if self.living else None


def test_a_picture_left_where_a_live_face_checked_in_does_not_keep_them_present():
    gallery = Gallery.from_people({"Ann": unit(1)[None], "Bob": unit(2)[None]}, 16)
    live = LiveRecognizer(FakeEngine(), gallery, Settings(threshold=0.4, votes_needed=3, recheck_seconds=2.0))
    live.gate = gate = StubGate()
    ann = face_image(1)
    ann[..., 2] = 200
    events = []
    for second in range(200):
        gate.living = second < 70  # then a photo of Ann is held where her face was
        events += [(e.type, round(e.time), e.evidence) for e in live.process(scene(ann), now=float(second))
                   if e.type in ("checkin", "present")]
    assert [kind for kind, _, _ in events] == ["checkin", "present"] and events[1][1] < 70
    assert events[1][2] == {"blink_time": 1.0}  # the fresh signs of life it waited for
    assert len(gate.watched) == 2  # asked for new signs of life after the check-in and after "present"


def test_every_letter_of_a_vietnamese_name_is_drawn_at_the_door_none_as_a_question_mark():
    """OpenCV's own font lacks ễ and ị: the system's font draws them, else they lose their accents."""
    from faceattend_tui.live.words import use_fallback_font

    assert use_fallback_font("") == ""
    name = drawable("Nguyễn Thị Hồng")
    assert all(letter.isascii() or draws(letter) for letter in name) and "?" not in name
    assert name.replace(" ", "").isalpha()


def test_a_door_font_for_thai_or_hindi_names_is_taken_as_a_font():
    """A Thai or Devanagari font given as door_font was refused as 'not a font' (it draws no Chinese,
    Vietnamese or emoji), and those names stayed '?????' at the door whatever the admin did."""
    import shutil
    import subprocess

    from faceattend_tui.live.words import FONT_PROBE, drawn, use_fallback_font

    cv2.FontFace.setBuiltinFont("uni", "")
    assert not any(drawn(letter) for letter in FONT_PROBE)  # each a letter OpenCV's own fonts lack
    found = [subprocess.run(["fc-match", "-f", "%{file}", f":lang={lang}"], capture_output=True, text=True).stdout
             for lang in ("th", "hi")] if shutil.which("fc-match") else []
    fonts = [path for path in found if path and "DejaVu" not in path]
    if not fonts:
        pytest.skip("no Thai or Devanagari font installed (fonts-tlwg-garuda-ttf, fonts-lohit-deva)")
    for path in fonts:
        cv2.FontFace.setBuiltinFont("uni", "")
        assert use_fallback_font(path) == ""


def test_a_door_font_that_cannot_be_drawn_with_is_said_and_the_systems_is_used(tmp_path):
    import shutil

    from faceattend_tui.live.words import system_fonts, use_fallback_font

    cv2.FontFace.setBuiltinFont("uni", "")  # as in a fresh worker: no fallback font yet
    junk = tmp_path / "font.ttf"
    junk.write_bytes(b"not a font")
    said = f"door_font {junk}: not a font file OpenCV can draw with (.ttf or .otf); the system's font is used"
    assert use_fallback_font(str(junk)) == said
    assert "none.ttf: no such file" in use_fallback_font(str(tmp_path / "none.ttf")) and use_fallback_font("") == ""
    system = system_fonts()
    if system:
        cv2.FontFace.setBuiltinFont("uni", "")
        cut = tmp_path / "cut.ttf"
        cut.write_bytes(Path(system[0]).read_bytes()[:3000])  # a copy cut short: OpenCV takes it without a word
        assert use_fallback_font(str(cut)).startswith(f"door_font {cut}: not a font file")
        assert all(letter.isascii() or draws(letter) for letter in drawable("Nguyễn Thị Hồng"))  # the system's
        shutil.copy(system[0], tmp_path / "good.ttf")
        assert use_fallback_font(str(tmp_path / "good.ttf")) == ""


def test_a_font_of_the_system_that_draws_chinese_is_taken_for_chinese_names():
    """fontconfig's answer for ":lang=zh" is the default sans font on Debian even with fonts-noto-cjk
    installed: 王小明 was drawn "???" at the door."""
    import shutil
    import subprocess

    from faceattend_tui.live.words import use_fallback_font

    if shutil.which("fc-list") is None:
        pytest.skip("no fontconfig")
    if not subprocess.run(["fc-list", ":charset=738b", "file"], capture_output=True, text=True).stdout.strip():
        pytest.skip("no font with Chinese letters here")
    cv2.FontFace.setBuiltinFont("uni", "")  # as in a fresh worker: no fallback font yet
    assert use_fallback_font("") == ""
    assert all(draws(letter) for letter in "王小明")
