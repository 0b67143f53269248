"""Frames to check-in events: detect every frame, track, embed only the faces that need it, vote.

Pure in-process logic (no threads, no queues), so tests and benchmarks drive it frame by frame.
It returns typed events (`live.events`) ready to cross a process boundary.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from faceattend_tui.config import Settings
from faceattend_tui.gallery.matcher import Gallery
from faceattend_tui.gallery.scoring import CohortNorm
from faceattend_tui.live.events import Busy, Checkin, Present, Spoof, Stats, Unknown, Waiting
from faceattend_tui.live.gate import LivenessGate
from faceattend_tui.live.liveness import RECOMMENDED
from faceattend_tui.live.tracker import Decision, IouTracker, Track, Voter, VoteRules
from faceattend_tui.vision.pipeline import FaceEngine, detect_close
from faceattend_tui.vision.types import Face

LiveEvent = Checkin | Unknown | Spoof | Waiting | Present  # what recognising a frame can say
PRESENT_EVERY = 60.0  # seconds between two "still in view" events of one track
IDLE_AFTER = 2.0  # seconds without a face: the scene is empty (a camera's frames are then looked at less often)
CLOSE_EVERY = 3  # in an empty scene, every this many empty frames looks again for a face too close to the camera
LIFE_WINDOW = 10.0  # with the liveness check on, signs of life are asked for this long before each


@dataclass(frozen=True)
class Overlay:
    """What the preview draws for one face."""

    box: tuple[int, int, int, int]
    state: str  # known, unknown or pending
    label: str
    track: int = 0


@dataclass
class StageTimes:
    """Per-stage time sums since the last stats event."""

    frames: int = 0
    ms: dict[str, float] = field(default_factory=lambda: {"detect": 0.0, "track": 0.0, "embed": 0.0, "liveness": 0.0})
    faces: int = 0
    skipped_embeds: int = 0

    def add(self, stage: str, seconds: float) -> None:
        self.ms[stage] += seconds * 1e3


class SteadyClock:
    """Seconds since the epoch that move as the monotonic clock does: the wall clock as it was when made,
    which a clock set meanwhile (NTP putting it an hour back) does not move, so waits and windows keep
    their length; `to_wall` gives one of its times on the wall clock as it is now, for the records."""

    def __init__(self) -> None:
        self.base = time.time() - time.monotonic()

    def __call__(self) -> float:
        return self.base + time.monotonic()

    def to_wall(self, when: float) -> float:
        return when + (time.time() - self())


class LiveRecognizer:
    def __init__(self, engine: FaceEngine, gallery: Gallery, settings: Settings,
                 clock: Callable[[], float] | None = None):
        self.engine = engine
        self.gallery = gallery
        self.settings = settings
        self.clock = clock or SteadyClock()
        self.tracker = IouTracker(settings.track_iou, settings.track_max_misses)
        self.voter = Voter(VoteRules.from_settings(settings))
        self.norm = CohortNorm.from_settings(settings)  # how the gallery's crowd raises the bar
        self.times = StageTimes()
        self.overlays: list[Overlay] = []
        self.last_faces: list[Face] = []
        self.face_seen_at = float("-inf")  # the clock's time of the last frame with a face
        self.empty_frames = 0  # frames without a face in a row
        self.names: dict[str, str] = {}  # template folder -> display name, for labels
        self.gate: LivenessGate | None = None  # holds check-ins until a sign of life, when the liveness check is on
        if settings.liveness != "off":
            if engine.landmarks is None:
                raise ValueError("the liveness check needs the 106-point landmark model, which this engine lacks")
            rules = dataclasses.replace(RECOMMENDED, evidence=settings.liveness)
            self.gate = LivenessGate(rules, engine.landmarks)
        self._first_search()

    def set_gallery(self, gallery: Gallery) -> None:
        """New enrolled people take effect at once; undecided tracks simply keep voting. A track decided for
        someone no longer in it (removed, erased) is recognised again: their name leaves the preview."""
        self.gallery = gallery
        enrolled = set(gallery.names)
        gone = [track for track in self.tracker.tracks if track.state == "known" and track.name not in enrolled]
        if self.gate is not None:
            self._forget_life(gone)  # a check-in held for a sign of life goes with them
        for track in gone:
            track.forget_identity()
        self._first_search()

    def _first_search(self) -> None:
        """One search before any face arrives: the first matrix product starts the math library's
        threads (tens of milliseconds on a many-core machine), which the first face would wait for."""
        if len(self.gallery):
            self.gallery.match(self.gallery.templates[:1], self.settings.threshold, self.norm)

    def process(self, frame: np.ndarray, now: float | None = None) -> list[LiveEvent]:
        """Events produced by this frame (check-ins, unknown faces, pictures refused); `now`: the source's
        own time, else the recogniser's clock, whose times go out on the wall clock."""
        if now is None:
            return [self._on_the_wall(e) for e in self._process(frame, self.clock())]
        return self._process(frame, now)

    def _on_the_wall(self, event: LiveEvent) -> LiveEvent:
        to_wall = getattr(self.clock, "to_wall", None)
        return dataclasses.replace(event, time=to_wall(event.time)) if to_wall is not None else event

    def _process(self, frame: np.ndarray, now: float) -> list[LiveEvent]:
        start = time.perf_counter()
        faces = self.last_faces = self.engine.detect(frame) or self._closer_look(frame, now)
        self.empty_frames = 0 if faces else self.empty_frames + 1
        if faces:
            self.face_seen_at = now
        detected = time.perf_counter()
        tracks = self.tracker.update(faces, now, frame)  # with the frame: a face that changes loses its name
        if self.gate is not None and self.tracker.changed:
            self._forget_life(self.tracker.changed)
        tracked = time.perf_counter()
        recognisable = [t for t in tracks if self._recognisable(t)]
        events: list[LiveEvent] = []
        events += self._recognise(frame, recognisable, now)
        embedded = time.perf_counter()
        if self.gate is not None:
            self.gate.forget(self.tracker.removed)
            self.gate.observe(frame, recognisable, now)
            events += self.gate.release(now, checkin_event)
        self._note_shown(events, self.tracker.tracks)
        self.times.add("detect", detected - start)
        self.times.add("track", tracked - detected)
        self.times.add("embed", embedded - tracked)
        self.times.add("liveness", time.perf_counter() - embedded)
        self.times.frames += 1
        self.times.faces = len(faces)
        self.overlays = [overlay(t, self.names, self._waiting(t)) for t in tracks]
        return events

    def idle(self, now: float | None = None) -> bool:
        """Whether no face has been seen for IDLE_AFTER seconds."""
        return (self.clock() if now is None else now) - self.face_seen_at > IDLE_AFTER

    def _closer_look(self, frame: np.ndarray, now: float) -> list[Face]:
        """A second search, for a face so close to the camera that it runs off the frame: at every empty frame
        while someone was just in view (walking up to it), at every CLOSE_EVERY-th one in an empty scene (it
        costs a detection: an idle station would spend twice the work on nothing)."""
        if self.idle(now) and self.empty_frames % CLOSE_EVERY:
            return []
        return detect_close(self.engine, frame)

    def _note_shown(self, events: list[LiveEvent], tracks: list[Track]) -> None:
        """Tracks whose check-in went out this frame: from now on they say the person is still in view."""
        by_id = {t.id: t for t in tracks}
        for event in events:
            if isinstance(event, Checkin) and (track := by_id.get(event.track)) is not None:
                track.shown, track.present_at = event.name, event.time

    def announce_again(self) -> None:
        """Every face recognised before says at its next vote that it is still in view (a session began)."""
        for track in self.tracker.tracks:
            track.present_at = min(track.present_at, -PRESENT_EVERY)
            track.life_asked = track.present_at - 1.0  # with the liveness check on: fresh signs of life first

    def _present_due(self, track: Track, now: float) -> bool:
        """A minute since the track last said "present"; with the liveness check on, it must also have
        shown life in the last LIFE_WINDOW seconds of that minute (or since), so a picture left where
        the face was never keeps the person in."""
        waited = now - track.present_at
        if self.gate is None:
            return waited >= PRESENT_EVERY
        if waited < PRESENT_EVERY - LIFE_WINDOW:
            return False
        if track.life_asked <= track.present_at:
            self.gate.watch(track.id)
            track.life_asked = now
            return False
        return waited >= PRESENT_EVERY and self.gate.alive(track.id)

    def _forget_life(self, tracks: list[Track]) -> None:
        """Another face in these tracks: their signs of life go, and a check-in held for want of one was
        never sent, so deciding the same person again is news (not the repeat `Voter` keeps quiet)."""
        assert self.gate is not None
        for track in tracks:
            if self.gate.holds(track.id):
                track.before = None
        self.gate.forget(tracks)

    def _waiting(self, track: Track) -> str | None:
        return self.gate.waiting_for(track.id) if self.gate is not None else None

    def _recognise(self, frame: np.ndarray, tracks: list[Track], now: float) -> list[Checkin | Unknown | Present]:
        """Embed and vote on the recognisable `tracks` that need it."""
        due = [t for t in tracks if self.voter.needs_embedding(t, now) or (self.gate and self.gate.wants_face(t, now))]
        due.sort(key=lambda t: (t.decided, t.vote_count, -t.hits))  # undecided, fewest votes first: all get turns
        chosen = due[: self.settings.max_embeds_per_frame]
        self.times.skipped_embeds += len(due) - len(chosen)
        if not chosen:
            return []
        crops = self.engine.crops(frame, [t.face() for t in chosen])
        embeddings = self.engine.embedder.embed(crops)
        matches = self.gallery.match(embeddings, self.settings.threshold, self.norm)
        events: list[Checkin | Unknown | Present] = []
        for track, match, crop, embedding in zip(chosen, matches, crops, embeddings, strict=True):
            resets, was = track.resets, track.name if track.decided else None
            before = track.anchor if track.decided else None  # the face decided on, before this vote joins it
            decision = self.voter.add_vote(track, match.name, match.similarity, now, embedding)
            renamed = decision is not None and was is not None and decision.name != was  # alike, but another
            if (track.resets != resets or renamed) and self.gate is not None:  # someone else: their own sign of life
                self._forget_life([track])
            if self.gate is not None:
                same = before is not None and track.resets == resets and not renamed
                self.gate.saw(track.id, embedding, before if same else track.anchor if track.decided else None)
            if decision is None:
                if (name := still_here(track)) is not None and self._present_due(track, now):
                    track.present_at = now
                    events.append(Present(name=name, track=track.id, time=now, similarity=round(match.similarity, 4),
                                          evidence=self.gate.evidence(track.id) if self.gate is not None else None))
                continue
            if decision.kind == "checkin" and self.gate is not None:  # released this frame if already live,
                self.gate.hold(decision, crop)                              # with the evidence it carries
                continue
            events.append(decision_event(decision, crop))
        return events

    def _recognisable(self, track: Track) -> bool:
        width, height = track.box[2] - track.box[0], track.box[3] - track.box[1]
        return min(width, height) >= self.settings.min_face

    def take_stats(self, fps: float, dropped: int, resting: bool = False, blank: bool = False
                   ) -> tuple[Stats, Busy | None]:
        """Average per-stage milliseconds since the last call, then start counting again."""
        t, self.times = self.times, StageTimes()
        frames = max(t.frames, 1)
        ms = {k: round(v / frames, 2) for k, v in t.ms.items()}
        stats = Stats(fps=round(fps, 1), detect_ms=ms["detect"], track_ms=ms["track"], embed_ms=ms["embed"],
                      liveness_ms=ms["liveness"], faces=t.faces, tracks=len(self.tracker.tracks), frames=t.frames,
                      dropped=dropped, resting=resting, blank=blank)
        busy = None
        if t.skipped_embeds:
            most = self.settings.max_embeds_per_frame
            crowd = f"{t.faces} faces in view" if t.faces > most else "faces coming and going"  # tracks linger
            busy = Busy(message=f"{crowd}: recognising {most} per frame, the rest wait their turn")
        return stats, busy


def still_here(track: Track) -> str | None:
    """Whom a track that checked someone in still sees, by its latest vote; None otherwise."""
    if track.state != "known" or track.name is None or track.shown != track.name:
        return None
    return track.name if track.votes[-1].name == track.name else None


def overlay(track: Track, names: dict[str, str], waiting: str | None = None) -> Overlay:
    x1, y1, x2, y2 = (int(round(v)) for v in track.box)
    box = (x1, y1, x2, y2)
    if waiting:  # recognised, but no sign of life yet
        return Overlay(box, "pending", waiting, track.id)
    if track.state == "known" and track.name is not None:
        return Overlay(box, "known", names.get(track.name, track.name), track.id)
    if track.state == "unknown":
        return Overlay(box, "unknown", "unknown", track.id)
    return Overlay(box, "pending", "", track.id)


def decision_event(decision: Decision, crop: np.ndarray, evidence: dict | None = None) -> Checkin | Unknown:
    if decision.kind == "checkin":
        return checkin_event(decision, crop, evidence)
    return Unknown(track=decision.track_id, time=decision.time)


def checkin_event(decision: Decision, crop: np.ndarray, evidence: dict | None = None) -> Checkin:
    """The check-in of a "checkin" decision, which names someone with the similarity of their votes."""
    assert decision.name is not None and decision.similarity is not None
    ok, jpeg = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return Checkin(name=decision.name, similarity=round(float(decision.similarity), 4), track=decision.track_id,
                   time=decision.time, votes=decision.votes, evidence=evidence, face_jpeg=jpeg.tobytes() if ok else b"")
