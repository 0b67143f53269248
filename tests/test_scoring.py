"""Scores normalised against the gallery: synthetic embeddings, no models."""

from __future__ import annotations

import numpy as np
import pytest

from faceattend_tui.gallery import matcher
from faceattend_tui.gallery.matcher import Gallery, Match
from faceattend_tui.gallery.scoring import (
    DEFAULT_NORM,
    NONE,
    CohortNorm,
    ImpostorStats,
    level,
    person_scores,
    top_others,
)

DIM = 512
THRESHOLD = 0.30


def unit(rows) -> np.ndarray:
    rows = np.atleast_2d(np.asarray(rows, np.float64))
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def crowd(people: int, shared: float, seed: int = 0, per_person: int = 1):
    """People whose embeddings share one direction: impostor cosines ~ shared**2 / (1 + shared**2)."""
    rng = np.random.default_rng(seed)
    common = unit(rng.normal(size=DIM))[0]
    centres = unit(rng.normal(size=(people, DIM)) / np.sqrt(DIM) + shared * common)
    templates = {f"p{i:04d}": unit(centres[i] + rng.normal(0, 0.6 / np.sqrt(DIM), (per_person, DIM)))
                 for i in range(people)}
    return common, centres, templates, rng


# --- the decision -------------------------------------------------------------------------------


def test_stranger_above_the_plain_threshold_but_not_distinctive_is_refused():
    common, _, templates, rng = crowd(300, shared=0.6)
    gallery = Gallery.from_people(templates)
    # A stranger who looks like everybody a little: best cosine above the plain threshold ...
    stranger = unit(rng.normal(size=DIM) / np.sqrt(DIM) + 0.65 * common)
    (plain,) = gallery.match(stranger, THRESHOLD, norm=None)
    assert plain.name is not None and plain.similarity >= THRESHOLD
    # ... but the gallery's impostors run about as high, so it is not distinctive enough.
    (normed,) = gallery.match(stranger, THRESHOLD)
    assert normed.name is None
    assert normed.candidate == plain.candidate
    assert normed.similarity == pytest.approx(plain.similarity, abs=1e-6)  # still the plain cosine
    assert normed.score < THRESHOLD <= normed.similarity


def test_genuine_match_in_the_same_crowded_gallery_is_accepted():
    _, centres, templates, rng = crowd(300, shared=0.6)
    gallery = Gallery.from_people(templates)
    probes = unit(centres[:20] + rng.normal(0, 0.6 / np.sqrt(DIM), (20, DIM)))
    matches = gallery.match(probes, THRESHOLD)
    assert [m.name for m in matches] == sorted(templates)[:20]
    for m in matches:
        assert m.score < m.similarity  # the crowd raised the bar ...
        assert m.score >= THRESHOLD  # ... and a genuine face still clears it


def test_small_or_spread_out_gallery_decides_like_the_plain_cosine():
    for people, shared in ((5, 0.0), (300, 0.0)):
        _, centres, templates, rng = crowd(people, shared, seed=1)
        gallery = Gallery.from_people(templates)
        queries = unit(np.concatenate([centres, rng.normal(size=(10, DIM))]) + rng.normal(0, 0.05, (people + 10, DIM)))
        for plain, normed in zip(gallery.match(queries, THRESHOLD, norm=None), gallery.match(queries, THRESHOLD),
                                 strict=True):
            assert normed.name == plain.name
            assert normed.score == pytest.approx(plain.similarity, abs=1e-6)


def test_one_person_and_empty_galleries_still_answer():
    rng = np.random.default_rng(2)
    one = Gallery.from_people({"ann": unit(rng.normal(size=DIM))})
    (m,) = one.match(one.templates[0], THRESHOLD)
    assert m.name == "ann" and m.score == pytest.approx(1.0, abs=1e-5)
    (m,) = Gallery.from_people({}, DIM).match(unit(rng.normal(size=DIM)), THRESHOLD)
    assert m.name is None and m.candidate is None


def test_match_records_keep_their_old_three_field_form():
    m = Match("ann", 0.5, "ann")
    assert m.score == 0.5
    assert Match("ann", 0.5, "ann", 0.4).score == 0.4


def test_adjust_takes_off_only_the_level_above_the_floor():
    norm = CohortNorm(k=10, floor=0.14, weight=1.0)
    best = np.array([0.5, 0.5, 0.5, 0.5], np.float32)
    probe = np.array([0.10, 0.20, -np.inf, 0.26], np.float32)
    template = np.array([0.10, 0.20, -np.inf, 0.10], np.float32)
    np.testing.assert_allclose(norm.adjust(best, probe, template), [0.5, 0.44, 0.5, 0.46], atol=1e-6)


# --- the pieces ---------------------------------------------------------------------------------


def test_person_scores_take_each_persons_best_template_in_any_row_order():
    rng = np.random.default_rng(3)
    scores = rng.normal(size=(4, 9)).astype(np.float32)
    owners = np.array([0, 0, 1, 2, 2, 2, 3, 4, 4])
    got = person_scores(scores, owners, 6)
    for p in range(5):
        np.testing.assert_array_equal(got[:, p], scores[:, owners == p].max(axis=1))
    assert np.all(np.isneginf(got[:, 5]))  # nobody's templates
    shuffled = rng.permutation(9)
    np.testing.assert_array_equal(person_scores(scores[:, shuffled], owners[shuffled], 6), got)


def test_top_others_skips_the_own_person_and_pads_short_rows():
    people = np.array([[0.9, 0.3, 0.5, 0.1]], np.float32)
    values, ids = top_others(people, np.array([0]), k=2)
    np.testing.assert_allclose(values, [[0.5, 0.3]])
    np.testing.assert_array_equal(ids, [[2, 1]])
    values, ids = top_others(people, np.array([2]), k=6)
    np.testing.assert_allclose(values[0, :3], [0.9, 0.3, 0.1])
    assert np.all(np.isneginf(values[0, 3:])) and np.all(ids[0, 3:] == NONE)
    assert level(values)[0] == pytest.approx((0.9 + 0.3 + 0.1) / 3)
    assert np.isneginf(level(np.full((1, 3), -np.inf))[0])


# --- statistics kept up to date -----------------------------------------------------------------


def all_levels(gallery: Gallery, k: int) -> np.ndarray:
    stats = gallery.impostor_stats(k)
    return stats.levels(np.arange(len(gallery)), gallery._impostors)


def fresh_copy(gallery: Gallery) -> Gallery:
    return Gallery(gallery.names, gallery.templates.copy(), gallery.owners.copy())


def assert_same_stats(updated: Gallery, k: int) -> None:
    """Rows kept by the incremental updates equal a full recompute on the same templates."""
    kept = updated._stats.known.copy()
    values, ids = updated._stats.values.copy(), updated._stats.ids.copy()
    full = fresh_copy(updated)
    all_levels(full, k)
    np.testing.assert_allclose(values[kept], full._stats.values[kept], atol=1e-6)
    np.testing.assert_array_equal(ids[kept], full._stats.ids[kept])
    np.testing.assert_allclose(all_levels(updated, k), all_levels(full, k), atol=1e-6)


def test_statistics_update_incrementally_and_equal_a_full_recompute():
    k = DEFAULT_NORM.k
    _, centres, templates, rng = crowd(60, shared=0.5, seed=5, per_person=2)
    gallery = Gallery.from_people(templates)
    all_levels(gallery, k)  # every row known before the changes
    # A newcomer who looks like several enrolled people lands in their nearest-impostor lists.
    lookalike = unit(centres[:4].mean(axis=0) + rng.normal(0, 0.3 / np.sqrt(DIM), (3, DIM)))
    gallery.add_person("zed", lookalike)
    assert gallery._stats.known.sum() == len(gallery) - 3  # only the new rows wait for first use
    assert np.any(gallery._stats.ids == gallery.names.index("zed"))
    assert_same_stats(gallery, k)
    # More templates for someone already enrolled, inserted into their block.
    gallery.add_person("p0007", unit(centres[7] + rng.normal(0, 0.6 / np.sqrt(DIM), (2, DIM))))
    assert np.all(np.diff(gallery.owners) >= 0)
    assert_same_stats(gallery, k)
    # Someone leaves: rows that counted them are forgotten and recomputed on demand.
    assert gallery.remove_person("p0002")
    assert not gallery.remove_person("p0002")
    assert "p0002" not in gallery.names
    assert_same_stats(gallery, k)
    queries = unit(centres + rng.normal(0, 0.6 / np.sqrt(DIM), centres.shape))
    got = [(m.name, round(m.score, 5)) for m in gallery.match(queries, THRESHOLD)]
    want = [(m.name, round(m.score, 5)) for m in fresh_copy(gallery).match(queries, THRESHOLD)]
    assert got == want


def test_statistics_are_computed_only_for_templates_that_win():
    _, centres, templates, rng = crowd(50, shared=0.5, seed=6)
    gallery = Gallery.from_people(templates)
    gallery.match(centres[:3], THRESHOLD)
    assert gallery._stats.known.sum() == 3


def test_impostor_stats_merge_keeps_the_k_best_sorted():
    stats = ImpostorStats(3, k=2)
    stats.values[:] = [[0.5, 0.2], [0.4, -np.inf], [0.9, 0.8]]
    stats.ids[:] = [[1, 2], [0, NONE], [0, 1]]
    stats.known[:] = [True, True, False]
    owners = np.array([0, 1, 2])
    stats.add_scores(3, np.array([0.3, 0.1, 0.7]), owners)
    np.testing.assert_allclose(stats.values[0], [0.5, 0.3])
    np.testing.assert_array_equal(stats.ids[0], [1, 3])
    np.testing.assert_allclose(stats.values[1], [0.4, 0.1])
    assert not stats.known[2]  # unknown rows wait for their first use


# --- two-stage galleries ------------------------------------------------------------------------


@pytest.mark.slow
def test_two_stage_gallery_normalises_like_the_exact_one(monkeypatch):
    _, centres, templates, rng = crowd(400, shared=0.6, seed=7, per_person=2)
    queries = unit(np.concatenate([centres[:30], rng.normal(size=(10, DIM)) / np.sqrt(DIM) + 0.6 * centres.mean(0)])
                   + rng.normal(0, 0.6 / np.sqrt(DIM), (40, DIM)))
    exact = Gallery.from_people(templates)
    want = exact.match(queries, THRESHOLD)
    monkeypatch.setattr(matcher, "EXACT_LIMIT", 100)
    big = Gallery.from_people(templates)
    got = big.match(queries, THRESHOLD)
    assert big._index is not None, "the index was not used"
    assert [m.name for m in got] == [m.name for m in want]
    np.testing.assert_allclose([m.score for m in got], [m.score for m in want], atol=0.01)
