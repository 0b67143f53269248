"""The liveness gate: a recognised face checks in only once it has shown that it is not a picture.

The voter decides who a track is; with liveness on, that decision is held here until the track's
liveness check (`liveness.py`) turns live, then released as the check-in, carrying the evidence.
The 106-point landmark model runs only on tracks still being decided or held, in one batch, so a
crowd of decided faces costs nothing extra. When the rules look at pixels (the texture cue of
"auto"), each observation also carries a 64-px grey crop of the face. A track that moves like a
flat picture is reported once as a spoof; live evidence can still release it afterwards.

Evidence belongs to the face it was seen on: every embedding of a track since its evidence began must
resemble the face the track is decided to be (its anchor), else the evidence starts over. So a stranger
who blinks and then puts a photo of someone enrolled in their place, by a cut, a slide or a slow fade,
checks nobody in. Held faces are embedded several times a second for that (HELD_EVERY); undecided ones
are embedded at every frame anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

import numpy as np

from faceattend_tui.live.events import Checkin, Spoof, Waiting
from faceattend_tui.live.liveness import LivenessCheck, LivenessRules, Observation, face_crop
from faceattend_tui.live.tracker import Decision, Track, unit

if TYPE_CHECKING:
    from faceattend_tui.vision.types import Face

# Makes the check-in of a held decision: the decision, the face crop and the liveness evidence.
MakeCheckin = Callable[[Decision, np.ndarray, dict], Checkin]


class LandmarkModel(Protocol):
    """What the gate asks of the 106-point landmark model (`vision.landmarks106.Landmarks106`)."""

    def points(self, image: np.ndarray, faces: list[Face]) -> np.ndarray: ...


@dataclass
class Held:
    decision: Decision
    crop: np.ndarray
    said: bool = False  # its Waiting event went out


WAITING_SAID_AFTER = 5.0  # seconds a recognised face is held before staff are told it waits
# Cosine of an embedding to the decided face under which it is another face. Measured: one person in
# real footage at 50-200 px never below 0.56 (to the mean of their frames); two people of LFW at most 0.32.
SAME_FACE = 0.4
HELD_EVERY = 0.1  # seconds between embeddings of a face held for a sign of life
UNDECIDED_KEPT = 300  # embeddings kept of an undecided track; past that its evidence starts over


class LivenessGate:
    def __init__(self, rules: LivenessRules, landmarks: LandmarkModel):
        self.rules = rules
        self.landmarks = landmarks  # vision.landmarks106.Landmarks106 (or a stand-in in tests)
        self.checks: dict[int, LivenessCheck] = {}
        self.held: dict[int, Held] = {}
        self.reported: set[int] = set()  # tracks already reported as spoofs
        self.watched: set[int] = set()  # checked-in tracks asked for fresh signs of life to stay "present"
        self.since: dict[int, list[np.ndarray]] = {}  # embeddings since the evidence began, not yet compared

    def observe(self, frame: np.ndarray, tracks: list[Track], now: float) -> None:
        """Run the landmark model on the faces that still need evidence and feed their checks.

        `tracks` are this frame's recognisable tracks (big enough to recognise).
        """
        due = [t for t in tracks if self._needs_evidence(t)]
        if not due:
            return
        faces = [t.face() for t in due]
        for track, points in zip(due, self.landmarks.points(frame, faces), strict=True):
            crop = face_crop(frame, track.box) if self.rules.needs_crops else None
            self._check(track.id).add(Observation(now, points, track.landmarks, track.box, crop))

    def _needs_evidence(self, track: Track) -> bool:
        waiting = track.state == "pending" or track.id in self.held or track.id in self.watched
        return waiting and not self._check(track.id).done

    def _check(self, track_id: int) -> LivenessCheck:
        if track_id not in self.checks:
            self.checks[track_id] = LivenessCheck(self.rules)
        return self.checks[track_id]

    def saw(self, track_id: int, embedding: np.ndarray, anchor: np.ndarray | None) -> None:
        """A new embedding of a track's face, with the face the track is decided to be (None while undecided):
        the embeddings since its evidence began are kept until it is decided, then each must resemble that
        face, or the evidence starts over (a face unlike it is kept to be asked again, so the evidence starts
        only on frames that show the person)."""
        since = self.since.setdefault(track_id, [])
        since.append(unit(embedding))
        if anchor is None:
            if len(since) > UNDECIDED_KEPT:
                self.checks[track_id] = LivenessCheck(self.rules)
                del since[:-1]
            return
        likeness = [float(face @ unit(anchor)) for face in since]
        if min(likeness) < SAME_FACE:
            self.checks[track_id] = LivenessCheck(self.rules)
        del since[: len(since) - (likeness[-1] < SAME_FACE)]

    def holds(self, track_id: int) -> bool:
        """Whether the track's check-in waits for a sign of life."""
        return track_id in self.held

    def wants_face(self, track: Track, now: float) -> bool:
        """Whether a held face is due to be embedded again (several times a second: `saw`)."""
        return track.id in self.held and (track.last_embedding is None or now - track.last_embedding >= HELD_EVERY)

    def hold(self, decision: Decision, crop: np.ndarray) -> None:
        self.held[decision.track_id] = Held(decision, crop)

    def release(self, now: float, make_checkin: MakeCheckin) -> list[Checkin | Spoof | Waiting]:
        """Check-ins whose track turned live, stamped `now`, spoof reports (once per track), and a word
        (once per track) for a face held for WAITING_SAID_AFTER seconds."""
        events: list[Checkin | Spoof | Waiting] = []
        for track_id, held in list(self.held.items()):
            verdict = self._check(track_id).verdict()
            if verdict.live:  # checked in now, when let in: a face held past the late deadline is late
                del self.held[track_id]
                decision = replace(held.decision, time=max(held.decision.time, now))
                events.append(make_checkin(decision, held.crop, verdict.evidence.as_dict()))
                continue
            assert held.decision.name is not None  # only check-ins are held, and they name someone
            if verdict.state == "spoof" and track_id not in self.reported:
                self.reported.add(track_id)
                events.append(Spoof(name=held.decision.name, track=track_id, time=now,
                                    evidence=verdict.evidence.as_dict()))
            elif not held.said and now - held.decision.time >= WAITING_SAID_AFTER:
                held.said = True
                events.append(Waiting(name=held.decision.name, track=track_id, time=now,
                                      asked=verdict.waiting_for or "look at the camera"))
        return events

    def watch(self, track_id: int) -> None:
        """Ask a track that checked in for new signs of life: a picture put where the face was must
        not keep the person in."""
        self.checks[track_id] = LivenessCheck(self.rules)
        self.watched.add(track_id)

    def alive(self, track_id: int) -> bool:
        """Whether a watched track has shown life since it was last asked; one that looked like a flat
        picture is asked again from scratch."""
        check = self.checks.get(track_id)
        if track_id not in self.watched or check is None:
            return False
        verdict = check.verdict()
        if verdict.state == "spoof":
            self.watch(track_id)
        return verdict.live

    def evidence(self, track_id: int) -> dict | None:
        """What the check of a track saw, as a check-in carries it; None when it was never checked."""
        check = self.checks.get(track_id)
        return check.verdict().evidence.as_dict() if check is not None else None

    def waiting_for(self, track_id: int) -> str | None:
        """What a held face is asked to do ("blink", "come closer"), or None when it is not held."""
        if track_id not in self.held:
            return None
        return self._check(track_id).verdict().waiting_for or "look at the camera"

    def forget(self, removed: list[Track]) -> None:
        """Tracks gone from view: their evidence and any held check-in go with them."""
        for track in removed:
            self.checks.pop(track.id, None)
            self.since.pop(track.id, None)
            self.held.pop(track.id, None)
            self.reported.discard(track.id)
            self.watched.discard(track.id)
