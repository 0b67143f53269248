"""IoU tracking and identity voting, driven with synthetic faces and a fake clock."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from faceattend_tui.config import Settings
from faceattend_tui.live.tracker import IouTracker, Voter, VoteRules, greedy_match, iou_matrix
from faceattend_tui.vision.ops import box_iou
from faceattend_tui.vision.types import Face

pytestmark = pytest.mark.timeout(30)
DEFAULTS = Settings()


def voter_with(**rules) -> Voter:
    """A voter on the default settings, some rules changed."""
    return Voter(dataclasses.replace(VoteRules.from_settings(DEFAULTS), **rules))


def tracker_with(iou_threshold: float = DEFAULTS.track_iou, max_misses: int = DEFAULTS.track_max_misses):
    return IouTracker(iou_threshold, max_misses)


def face(x: float, y: float, size: float = 100.0, score: float = 0.9) -> Face:
    box = np.array([x, y, x + size, y + size], dtype=np.float32)
    landmarks = np.tile(np.array([x + size / 2, y + size / 2], dtype=np.float32), (5, 1))
    return Face(box, score, landmarks)


def test_iou_matrix_matches_box_iou():
    rng = np.random.default_rng(0)
    corners = rng.uniform(0, 200, size=(7, 2)).astype(np.float32)
    boxes = np.concatenate([corners, corners + rng.uniform(5, 80, size=(7, 2))], axis=1).astype(np.float32)
    matrix = iou_matrix(boxes[:3], boxes)
    for row in range(3):
        np.testing.assert_allclose(matrix[row], box_iou(boxes[row], boxes), rtol=1e-5, atol=1e-6)
    assert iou_matrix(np.zeros((0, 4)), boxes).shape == (0, 7)


def test_greedy_match_takes_best_pairs_first():
    iou = np.array([[0.9, 0.8], [0.85, 0.1]])
    assert sorted(greedy_match(iou, 0.3)) == [(0, 0)]  # (1, 0) loses column 0; (1, 1) is under threshold
    assert greedy_match(np.zeros((0, 2)), 0.3) == []


def test_ids_stay_stable_while_faces_move():
    tracker = tracker_with()
    first = tracker.update([face(0, 0), face(300, 0)], now=0.0)
    ids = [track.id for track in first]
    assert len(set(ids)) == 2
    for step in range(1, 20):
        tracks = tracker.update([face(300 + 5 * step, 3 * step), face(8 * step, 0)], now=step * 0.1)
        assert [track.id for track in tracks] == [ids[1], ids[0]]  # order follows the faces
    assert tracks[0].hits == 20 and tracks[0].misses == 0 and tracks[0].age == 20
    assert tracks[0].first_seen == 0.0 and tracks[0].last_seen == pytest.approx(1.9)
    np.testing.assert_allclose(tracks[1].box, [152, 0, 252, 100])


def test_two_crossing_faces_keep_their_ids():
    tracker = tracker_with()
    left, right = tracker.update([face(0, 0), face(200, 40)], now=0.0)
    for step in range(1, 21):
        x = 10 * step  # left face walks right, right face walks left, passing each other at step 10
        a, b = tracker.update([face(200 - x, 40), face(x, 0)], now=step / 25)
        assert (a.id, b.id) == (right.id, left.id)
    assert len(tracker.tracks) == 2


def test_tracks_are_removed_after_max_misses():
    tracker = tracker_with(max_misses=2)
    (track,) = tracker.update([face(0, 0)], now=0.0)
    for step in (1, 2):
        assert tracker.update([], now=step) == []
        assert tracker.removed == [] and track.misses == step
    tracker.update([], now=3)
    assert tracker.removed == [track] and tracker.tracks == []
    (new,) = tracker.update([face(0, 0)], now=4)
    assert new.id != track.id


def test_a_missed_face_that_returns_keeps_its_track():
    tracker = tracker_with(max_misses=3)
    (track,) = tracker.update([face(0, 0)], now=0.0)
    tracker.update([], now=0.1)
    (again,) = tracker.update([face(4, 2)], now=0.2)
    assert again is track and track.misses == 0 and track.hits == 2


def test_far_jump_starts_a_new_track():
    tracker = tracker_with(iou_threshold=0.3)
    (first,) = tracker.update([face(0, 0)], now=0.0)
    (second,) = tracker.update([face(500, 500)], now=0.1)
    assert second.id != first.id and first.misses == 1


def new_track(tracker: IouTracker, now: float = 0.0):
    (track,) = tracker.update([face(0, 0)], now=now)
    return track


def test_three_agreeing_votes_give_exactly_one_checkin():
    voter = voter_with(threshold=0.3, votes_needed=3)
    track = new_track(tracker_with())
    events = [voter.add_vote(track, "alice", sim, now=t / 10) for t, sim in enumerate([0.5, 0.6, 0.7, 0.8, 0.9])]
    assert events[:2] == [None, None] and events[3:] == [None, None]
    event = events[2]
    assert event.kind == "checkin" and event.name == "alice" and event.track_id == track.id
    assert event.similarity == pytest.approx(0.6) and event.votes == 3 and event.time == pytest.approx(0.2)
    assert track.state == "known" and track.name == "alice" and track.best_similarity == pytest.approx(0.9)


def test_unmatched_votes_between_agreeing_ones_do_not_reset():
    voter = voter_with(votes_needed=3, window_votes=5)
    track = new_track(tracker_with())
    results = [voter.add_vote(track, name, 0.6, now=i * 0.1) for i, name in enumerate(["bob", None, "bob", "bob"])]
    assert results[-1] is not None and results[-1].name == "bob"


def test_votes_under_threshold_do_not_count():
    voter = voter_with(threshold=0.5, votes_needed=3)
    track = new_track(tracker_with())
    assert all(voter.add_vote(track, "alice", 0.45, now=i * 0.1) is None for i in range(5))
    assert track.state == "pending" and track.best_name == "alice"


def test_disagreeing_votes_give_no_checkin():
    voter = voter_with(votes_needed=3, window_votes=5, unknown_after=100)
    track = new_track(tracker_with())
    names = ["alice", "bob"] * 10
    assert all(voter.add_vote(track, name, 0.8, now=i * 0.1) is None for i, name in enumerate(names))
    assert track.state == "pending"


def test_a_vote_for_another_name_restarts_the_count():
    voter = voter_with(votes_needed=3, window_votes=5)
    track = new_track(tracker_with())
    votes = ["alice", "alice", "bob", "alice", "alice"]
    assert all(voter.add_vote(track, name, 0.8, now=i * 0.1) is None for i, name in enumerate(votes))
    event = voter.add_vote(track, "alice", 0.8, now=0.5)
    assert event is not None and event.name == "alice"


def test_votes_outside_the_time_window_expire():
    voter = voter_with(votes_needed=3, window_seconds=1.0, unknown_after=100)
    track = new_track(tracker_with())
    assert voter.add_vote(track, "alice", 0.8, now=0.0) is None
    assert voter.add_vote(track, "alice", 0.8, now=0.5) is None
    assert voter.add_vote(track, "alice", 0.8, now=2.0) is None  # the first two are too old by now
    assert voter.add_vote(track, "alice", 0.8, now=2.1) is None
    assert voter.add_vote(track, "alice", 0.8, now=2.2).kind == "checkin"


def test_unknown_after_persistence_time_exactly_once():
    voter = voter_with(votes_needed=3, unknown_after=2.0)
    track = new_track(tracker_with())
    events = [voter.add_vote(track, None, 0.1, now=i * 0.25) for i in range(16)]
    decided = [event for event in events if event is not None]
    assert len(decided) == 1
    assert decided[0].kind == "unknown" and decided[0].track_id == track.id
    assert decided[0].time == pytest.approx(2.0) and decided[0].name is None
    assert track.state == "unknown"
    assert voter.add_vote(track, "alice", 0.9, now=5.0) is None  # no second decision


def test_unknown_waits_while_a_name_is_building_up():
    voter = voter_with(votes_needed=3, unknown_after=1.0)
    track = new_track(tracker_with())
    for i in range(4):
        assert voter.add_vote(track, None, 0.1, now=i * 0.1) is None
    assert voter.add_vote(track, "carol", 0.7, now=1.2) is None  # late, but the newest vote is a match
    assert voter.add_vote(track, "carol", 0.7, now=1.3) is None
    assert voter.add_vote(track, "carol", 0.7, now=1.4).kind == "checkin"


def test_switching_names_become_unknown_after_twice_the_wait():
    voter = voter_with(votes_needed=3, unknown_after=1.0)
    track = new_track(tracker_with())
    events = [voter.add_vote(track, name, 0.8, now=i * 0.1) for i, name in enumerate(["a", "b"] * 15)]
    decided = [event for event in events if event is not None]
    assert [event.kind for event in decided] == ["unknown"]
    assert decided[0].time == pytest.approx(2.0)


def test_recheck_cadence():
    tracker = tracker_with()
    voter = voter_with(votes_needed=1, window_votes=1, recheck_seconds=2.0, recheck_iou=0.5)
    track = new_track(tracker)
    assert voter.needs_embedding(track, now=0.0)
    assert voter.add_vote(track, "dave", 0.9, now=0.0).kind == "checkin"
    assert not voter.needs_embedding(track, now=1.0)
    assert voter.needs_embedding(track, now=2.0)
    assert voter.add_vote(track, "dave", 0.9, now=2.0) is None
    assert not voter.needs_embedding(track, now=2.5)
    tracker.update([face(20, 0)], now=2.6)  # small move: IoU 0.67, no re-check yet
    assert not voter.needs_embedding(track, now=2.6)
    tracker.update([face(45, 0)], now=2.7)  # IoU with the embedded box drops to 0.38
    assert voter.needs_embedding(track, now=2.7)


def test_undecided_tracks_always_need_embedding():
    voter = voter_with()
    track = new_track(tracker_with())
    for i in range(5):
        voter.add_vote(track, None, 0.0, now=i * 0.01)
        assert voter.needs_embedding(track, now=i * 0.01)


def test_voter_rejects_impossible_settings():
    with pytest.raises(ValueError):
        voter_with(votes_needed=6, window_votes=5)


def test_unknown_track_checks_in_once_recognised():
    tracker, voter = tracker_with(), voter_with(threshold=0.3, votes_needed=3, unknown_after=1.0)
    track = new_track(tracker)
    decisions = [voter.add_vote(track, None, 0.1, t) for t in (0.0, 0.5, 1.0, 1.5)]
    assert [d.kind for d in decisions if d] == ["unknown"]
    assert voter.add_vote(track, "ann", 0.6, 2.0) is None
    assert voter.needs_embedding(track, 2.05)  # a disagreeing vote is checked on the next frame
    voter.add_vote(track, "ann", 0.6, 2.1)
    late = voter.add_vote(track, "ann", 0.6, 2.2)
    assert late is not None and late.kind == "checkin" and late.name == "ann"
    assert voter.add_vote(track, "ann", 0.6, 2.3) is None


def test_known_track_taken_over_by_another_person_checks_them_in():
    tracker, voter = tracker_with(), voter_with(threshold=0.3, votes_needed=3)
    track = new_track(tracker)
    first = [voter.add_vote(track, "ann", 0.7, t) for t in (0.0, 0.1, 0.2)]
    assert first[-1].name == "ann"
    assert voter.add_vote(track, "bob", 0.6, 0.3) is None
    assert voter.add_vote(track, "bob", 0.6, 0.4) is None
    switched = voter.add_vote(track, "bob", 0.6, 0.5)
    assert switched is not None and switched.name == "bob"
    assert voter.add_vote(track, "ann", 0.7, 0.6) is None  # one stray vote does not flip back


def test_a_camera_giving_a_frame_every_two_seconds_checks_a_known_face_in_not_unknown():
    """An IP camera set to 0.5 fps: three agreeing votes take four seconds, past the 3 s window."""
    voter = voter_with(votes_needed=3, window_seconds=3.0, unknown_after=2.0)
    track = new_track(tracker_with())
    events = [voter.add_vote(track, "dan", 0.9, now=t) for t in (0.0, 2.0, 4.0)]
    assert events[:2] == [None, None] and events[2].kind == "checkin" and events[2].name == "dan"


def test_a_slow_name_is_never_called_unknown_while_every_vote_names_them():
    voter = voter_with(votes_needed=3, window_seconds=3.0, unknown_after=2.0)
    track = new_track(tracker_with())
    events = [voter.add_vote(track, "dan", 0.9, now=t) for t in (0.0, 5.0, 10.0, 15.0)]  # 0.2 fps
    assert all(event is None or event.kind == "checkin" for event in events)
