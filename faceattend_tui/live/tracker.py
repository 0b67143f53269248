"""IoU face tracking and per-track identity voting for the live recognition worker.

`IouTracker` keeps faces apart from frame to frame by box overlap; `Voter` collects one recognition
vote per embedded frame on each track and turns them into exactly one decision per track: a check-in
once a name wins enough agreeing votes, or "unknown" when a face stays unmatched. Pure logic: no cv2,
no models, and every method takes the time from the caller.

Labels follow identity, not boxes: a track whose face suddenly looks different (a scene cut, one
person stepping into another's place before the track expired) forgets who it was at once, so the
door never draws the old name on the new face, and is recognised again. Two cheap signs: the face's
appearance (an 8x8 colour thumbnail, tens of microseconds) jumps between frames, or an embedding
recomputed for a decided track no longer resembles the one it was decided on. Re-deciding the same
outcome stays silent (no second check-in or "see staff" for a false alarm).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from faceattend_tui.config import Settings
from faceattend_tui.vision.types import Face

SIGNATURE = 8  # appearance thumbnails are SIGNATURE x SIGNATURE colour cells
# Thumbnail change between two frames (mean absolute change 0-255, correlation of light and shade).
# Measured on 300 LFW faces: a face moving 2-4 px with 3 % exposure changes stays under 20 and over
# 0.72; two different faces reach (55, 0.0) in 22 % of pairs and (22, 0.55) in 97 %.
FORGET_CHANGE, FORGET_SHAPE = 55.0, 0.0  # beyond either: another face or scene, forget at once
RECHECK_CHANGE, RECHECK_SHAPE = 22.0, 0.55  # beyond either: embed again now, the embedding decides
IDENTITY_FLOOR = 0.25  # cosine of a decided track's new embedding to its decided one under this: someone else
SLOW_MARGIN = 1.5  # a slow camera's frames come about this regularly: its needed votes fit in 1.5x their spacing
SLOW_STRETCH = 5.0  # the vote window stretches at most this many times for a slow camera


@dataclass(frozen=True)
class Vote:
    name: str | None  # None: no gallery match above the threshold
    similarity: float
    time: float


@dataclass
class Track:
    """One face followed across frames, with its recognition state."""

    id: int
    box: np.ndarray  # (4,) float32 x1, y1, x2, y2, the latest matched detection
    landmarks: np.ndarray  # (5, 2) float32
    score: float
    first_seen: float
    last_seen: float
    age: int = 1  # frames since the track was created
    hits: int = 1  # frames with a matched detection
    misses: int = 0  # consecutive frames without one
    state: str = "pending"  # "pending", "known" or "unknown"
    votes: deque[Vote] = field(default_factory=deque)  # recent votes, pruned by the Voter
    vote_count: int = 0
    first_vote: float | None = None
    name: str | None = None  # decided name when state is "known"
    similarity: float = 0.0  # mean similarity of the votes that decided the name
    best_similarity: float = -1.0  # highest similarity of any vote so far
    best_name: str | None = None  # gallery name behind best_similarity, even under the threshold
    last_name: str | None = None  # latest vote, for display
    last_embedding: float | None = None  # time of the latest vote
    embedded_box: np.ndarray | None = None  # box at the latest vote
    appearance: np.ndarray | None = None  # thumbnail of the face at its latest detection
    anchor: np.ndarray | None = None  # mean embedding of the votes that decided it
    before: tuple[str, str | None] | None = None  # the decision held before the identity was forgotten
    resets: int = 0  # times the face changed under this track
    shown: str | None = None  # the name whose check-in this track has sent
    present_at: float = 0.0  # when it last said that person is still in view
    life_asked: float = -1.0  # when the liveness check was last asked for new signs of life

    def forget_identity(self) -> None:
        """Another face is in this track now: drop the name and the votes, recognise it again."""
        if self.state != "pending":
            self.before = (self.state, self.name)
        self.state, self.name, self.similarity = "pending", None, 0.0
        self.votes.clear()
        self.vote_count, self.first_vote = 0, None
        self.best_similarity, self.best_name, self.last_name = -1.0, None, None
        self.last_embedding = self.embedded_box = self.anchor = None
        self.resets += 1

    @property
    def decided(self) -> bool:
        return self.state != "pending"

    def face(self) -> Face:
        """The track's latest detection as a Face."""
        return Face(self.box, self.score, self.landmarks)

    def observe(self, face: Face, now: float) -> None:
        self.box = np.asarray(face.box, dtype=np.float32).copy()
        self.landmarks = np.asarray(face.landmarks, dtype=np.float32).copy()
        self.score = float(face.score)
        self.last_seen = now
        self.age += 1
        self.hits += 1
        self.misses = 0

    def miss(self) -> None:
        self.age += 1
        self.misses += 1


@dataclass(frozen=True)
class Decision:
    """The one decision a track produces: kind "checkin" (with name) or "unknown"."""

    kind: str
    track_id: int
    time: float
    name: str | None = None
    similarity: float | None = None  # mean similarity of the agreeing votes, for a check-in
    votes: int = 0  # number of votes the decision rests on


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) IoU of every box in a against every box in b, boxes as x1, y1, x2, y2."""
    a = np.asarray(a, dtype=np.float32).reshape(-1, 1, 4)
    b = np.asarray(b, dtype=np.float32).reshape(1, -1, 4)
    width = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    height = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = width * height
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    return inter / np.maximum(area_a + area_b - inter, 1e-9)


def appearance(frame: np.ndarray, box: np.ndarray) -> np.ndarray | None:
    """A SIGNATURE x SIGNATURE x channels float32 thumbnail of the inner part of the face's box, or None
    when the box is (almost) outside the frame. Sampled, then averaged in cells: about 20 us."""
    height, width = frame.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in box)
    inset_x, inset_y = (x2 - x1) * 0.15, (y2 - y1) * 0.15  # the face, not its background
    left, top = max(int(x1 + inset_x), 0), max(int(y1 + inset_y), 0)
    right, bottom = min(int(x2 - inset_x), width), min(int(y2 - inset_y), height)
    if right - left < SIGNATURE or bottom - top < SIGNATURE:
        return None
    step_x, step_y = max(1, (right - left) // (4 * SIGNATURE)), max(1, (bottom - top) // (4 * SIGNATURE))
    sample = frame[top:bottom:step_y, left:right:step_x]
    cell_y, cell_x = sample.shape[0] // SIGNATURE, sample.shape[1] // SIGNATURE
    sample = sample[: cell_y * SIGNATURE, : cell_x * SIGNATURE].astype(np.float32)
    sample = sample.reshape(SIGNATURE, cell_y, SIGNATURE, cell_x, -1)
    return sample.mean(axis=(1, 3))


def change(before: np.ndarray, after: np.ndarray) -> int:
    """How far two thumbnails of a track's face are apart: 0 one face moving, 1 perhaps another face
    (recognise it again now), 2 another face or another scene (forget who it was)."""
    if before.shape != after.shape:
        return 0
    amount = float(np.abs(before - after).mean())
    a, b = before.mean(axis=-1).ravel(), after.mean(axis=-1).ravel()
    a, b = a - a.mean(), b - b.mean()
    spread = float(np.linalg.norm(a) * np.linalg.norm(b))
    shape = float(a @ b) / spread if spread > 1.0 else 1.0  # a flat patch has no shape to compare
    if amount > FORGET_CHANGE or shape < FORGET_SHAPE:
        return 2
    return 1 if amount > RECHECK_CHANGE or shape < RECHECK_SHAPE else 0


def greedy_match(iou: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """(row, col) pairs taken by highest IoU first, each row and column used once."""
    rows, cols = np.nonzero(iou >= threshold)
    order = np.argsort(-iou[rows, cols], kind="stable")
    used_rows, used_cols, pairs = set(), set(), []
    for row, col in zip(rows[order].tolist(), cols[order].tolist(), strict=True):
        if row not in used_rows and col not in used_cols:
            used_rows.add(row)
            used_cols.add(col)
            pairs.append((row, col))
    return pairs


class IouTracker:
    """Links detections of consecutive frames into tracks by box overlap."""

    def __init__(self, iou_threshold: float, max_misses: int):
        self.iou_threshold = iou_threshold
        self.max_misses = max_misses
        self.tracks: list[Track] = []  # live tracks, seen this frame or recently
        self.removed: list[Track] = []  # tracks dropped by the latest update
        self.changed: list[Track] = []  # tracks whose face changed in the latest update (identity forgotten)
        self._next_id = 1

    def update(self, faces: list[Face], now: float, frame: np.ndarray | None = None) -> list[Track]:
        """Match this frame's faces; returns the track of each face, in the order of `faces`.

        With the `frame`, a track whose face suddenly looks different forgets who it was (`changed`)."""
        boxes = np.array([face.box for face in faces], dtype=np.float32).reshape(-1, 4)
        previous = np.array([track.box for track in self.tracks], dtype=np.float32).reshape(-1, 4)
        pairs = greedy_match(iou_matrix(previous, boxes), self.iou_threshold)
        found: dict[int, Track] = {}  # face index -> its existing track
        for row, col in pairs:
            self.tracks[row].observe(faces[col], now)
            found[col] = self.tracks[row]
        matched = {row for row, _ in pairs}
        for row, track in enumerate(self.tracks):
            if row not in matched:
                track.miss()
        self.removed = [track for track in self.tracks if track.misses > self.max_misses]
        self.tracks = [track for track in self.tracks if track.misses <= self.max_misses]
        result = [found[col] if col in found else self._new_track(face, now) for col, face in enumerate(faces)]
        self.changed = []
        if frame is not None:
            for _, col in pairs:
                self._watch(result[col], frame)
            for track in result:
                if track.appearance is None:
                    track.appearance = appearance(frame, track.box)
        return result

    def _watch(self, track: Track, frame: np.ndarray) -> None:
        now_looks = appearance(frame, track.box)
        level = change(track.appearance, now_looks) if now_looks is not None and track.appearance is not None else 0
        if level == 2:
            track.forget_identity()
            self.changed.append(track)
        elif level == 1 and track.decided:
            track.embedded_box = None  # recognised again on this frame (`Voter.needs_embedding`)
        track.appearance = now_looks

    def _new_track(self, face: Face, now: float) -> Track:
        track = Track(self._next_id, np.asarray(face.box, dtype=np.float32).copy(),
                      np.asarray(face.landmarks, dtype=np.float32).copy(), float(face.score), now, now)
        self._next_id += 1
        self.tracks.append(track)
        return track


@dataclass(frozen=True)
class VoteRules:
    """How votes turn into decisions (see `Voter`); built from the station's settings."""

    threshold: float
    votes_needed: int
    window_votes: int
    window_seconds: float | None
    unknown_after: float
    recheck_seconds: float
    recheck_iou: float

    @classmethod
    def from_settings(cls, settings: Settings) -> VoteRules:
        return cls(settings.threshold, settings.votes_needed, settings.window_votes, settings.window_seconds,
                   settings.unknown_after, settings.recheck_seconds, settings.recheck_iou)


class Voter:
    """Turns per-frame recognition votes into one decision per track.

    Check-in: `votes_needed` votes for the same name at or above `threshold`, among the last
    `window_votes` votes no older than `window_seconds`, with no vote for another name after them
    (a vote for someone else starts the count again; unmatched votes neither help nor reset).
    Unknown: `unknown_after` seconds after the first vote, when the last `votes_needed` votes were
    all unmatched, or, for a track whose votes keep switching names, twice that long undecided.
    Decided tracks are re-embedded every `recheck_seconds`, when their box moved so much that its
    IoU with the box of the last vote fell under `recheck_iou`, and on every frame while their
    latest vote disagrees with the decision. A track decided unknown that then wins enough votes
    for a name checks in (a person recognised once close enough); a known track whose votes agree
    on someone else checks that person in (one face replaced another in the same place).
    """

    def __init__(self, rules: VoteRules):
        if not 1 <= rules.votes_needed <= rules.window_votes:
            raise ValueError("votes_needed must be between 1 and window_votes")
        self.rules = rules

    def needs_embedding(self, track: Track, now: float) -> bool:
        """Whether the worker should embed this track's face on this frame."""
        if not track.decided or track.last_embedding is None or track.embedded_box is None:
            return True
        if now - track.last_embedding >= self.rules.recheck_seconds or track.last_name != track.name:
            return True
        return float(iou_matrix(track.box, track.embedded_box)[0, 0]) < self.rules.recheck_iou

    def add_vote(self, track: Track, name: str | None, similarity: float, now: float,
                 embedding: np.ndarray | None = None) -> Decision | None:
        """Record one recognition result; returns a Decision when the track decides who it is.

        With the `embedding`, a decided track whose face no longer resembles the one it was decided on
        forgets who it was first (`Track.forget_identity`): this vote is the first of the new face."""
        similarity = float(similarity)
        if embedding is not None:
            embedding = unit(embedding)
            if track.decided and track.anchor is not None and float(track.anchor @ embedding) < IDENTITY_FLOOR:
                track.forget_identity()
        self._record(track, name, similarity, now)
        if track.decided:
            decision = self._checkin(track, now) if track.votes[-1].name not in (None, track.name) else None
        else:
            decision = self._checkin(track, now) or self._unknown(track, now)
        if embedding is not None and track.decided:
            track.anchor = self._anchor(track, decision, embedding)
        return self._announced(track, decision)

    @staticmethod
    def _anchor(track: Track, decision: Decision | None, embedding: np.ndarray) -> np.ndarray:
        """The face a decided track was decided on: a new decision's embedding, refined by the votes that
        agree with it. A vote that does not is left out: a face replaced slowly (a photo faded into a
        stranger) would otherwise carry the anchor along and never be found to be someone else."""
        if decision is not None or track.anchor is None:
            return embedding
        return unit(track.anchor + embedding) if track.votes[-1].name == track.name else track.anchor

    def _announced(self, track: Track, decision: Decision | None) -> Decision | None:
        """The decision, unless it repeats the one the track held before its face was thought to change."""
        if decision is not None and track.before is not None:
            again = track.before == (track.state, track.name)
            track.before = None
            if again:
                return None
        return decision

    def _record(self, track: Track, name: str | None, similarity: float, now: float) -> None:
        if name is not None and similarity > track.best_similarity:
            track.best_similarity, track.best_name = similarity, name
        matched = name if name is not None and similarity >= self.rules.threshold else None
        track.last_name = matched
        track.last_embedding, track.embedded_box = now, track.box.copy()
        track.vote_count += 1
        if track.first_vote is None:
            track.first_vote = now
        track.votes.append(Vote(matched, similarity, now))
        self._prune(track.votes, now)

    def _prune(self, votes: deque[Vote], now: float) -> None:
        while len(votes) > self.rules.window_votes:
            votes.popleft()
        if self.rules.window_seconds is not None:
            span = self._span(votes)
            while votes and votes[0].time < now - span:
                votes.popleft()

    def _span(self, votes: deque[Vote]) -> float:
        """How far back votes count: `window_seconds`, stretched (up to five times) for a camera so slow
        that `votes_needed` of its frames do not fit in it (an IP camera set to one frame in two seconds)."""
        assert self.rules.window_seconds is not None
        times = [vote.time for vote in votes]
        gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False) if later > earlier]
        if not gaps:
            return self.rules.window_seconds
        needed = (self.rules.votes_needed - 1) * min(gaps) * SLOW_MARGIN
        return min(max(self.rules.window_seconds, needed), SLOW_STRETCH * self.rules.window_seconds)

    def _checkin(self, track: Track, now: float) -> Decision | None:
        latest = track.votes[-1].name
        if latest is None:
            return None
        agreeing = agreeing_votes(track.votes, latest)
        if len(agreeing) < self.rules.votes_needed:
            return None
        mean = float(np.mean([vote.similarity for vote in agreeing]))
        track.state, track.name, track.similarity = "known", latest, mean
        return Decision("checkin", track.id, now, latest, mean, len(agreeing))

    def _unknown(self, track: Track, now: float) -> Decision | None:
        waited = now - (track.first_vote if track.first_vote is not None else now)
        if waited < self.rules.unknown_after or track.vote_count < self.rules.votes_needed:
            return None
        recent = list(track.votes)[-self.rules.votes_needed :]
        if len({vote.name for vote in recent}) == 1 and recent[0].name is not None:
            return None  # every recent vote names the same person: their count is building up, slowly
        all_unmatched = len(recent) == self.rules.votes_needed and all(vote.name is None for vote in recent)
        if not all_unmatched and waited < 2 * self.rules.unknown_after:
            return None
        track.state = "unknown"
        return Decision("unknown", track.id, now, votes=len(track.votes))


def unit(vector: np.ndarray) -> np.ndarray:
    vector = np.asarray(vector, dtype=np.float32).ravel()
    return vector / max(float(np.linalg.norm(vector)), 1e-12)


def agreeing_votes(votes: deque[Vote], name: str) -> list[Vote]:
    """The votes for `name` since the last vote for a different name (unmatched votes skipped)."""
    agreeing = []
    for vote in reversed(votes):
        if vote.name is None:
            continue
        if vote.name != name:
            break
        agreeing.append(vote)
    return agreeing
