"""The shortlist index of large galleries: synthetic embeddings, small limits so each test is quick."""

from __future__ import annotations

import numpy as np
import pytest

from faceattend_tui.gallery import matcher
from faceattend_tui.gallery.index import RowIndex
from faceattend_tui.gallery.matcher import Gallery
from faceattend_tui.gallery.scoring import NONE, person_scores, top_others, top_others_among

DIM = 512
THRESHOLD = 0.30


def unit(rows) -> np.ndarray:
    rows = np.atleast_2d(np.asarray(rows, np.float64))
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def crowd(people: int, per_person: int, seed: int = 0):
    """Face-like people: impostor cosines ~0.1, two photos of one person ~0.6."""
    rng = np.random.default_rng(seed)
    common = unit(rng.normal(size=DIM))[0]
    centres = unit(rng.normal(size=(people, DIM)) / np.sqrt(DIM) + 0.35 * common)
    templates = {f"p{i:04d}": unit(centres[i] + rng.normal(0, 0.85 / np.sqrt(DIM), (per_person, DIM)))
                 for i in range(people)}
    return centres, templates, rng


def photos(centres: np.ndarray, rng) -> np.ndarray:
    """A new photo of each person."""
    return unit(centres + rng.normal(0, 0.85 / np.sqrt(DIM), centres.shape))


@pytest.fixture
def small_limits(monkeypatch):
    """Galleries above 500 templates use the index, and it shortlists only 64 of them."""
    monkeypatch.setattr(matcher, "EXACT_LIMIT", 500)
    monkeypatch.setattr(matcher, "CANDIDATES", 64)


def copy_of(gallery: Gallery) -> Gallery:
    return Gallery(gallery.names, gallery.templates.copy(), gallery.owners.copy())


def exact_top1(gallery: Gallery, queries: np.ndarray) -> np.ndarray:
    return (queries @ gallery.templates.T).argmax(axis=1)


# --- RowIndex ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_index_compresses_large_sets_and_finds_each_row_first():
    _, templates, _ = crowd(300, 4)
    rows = np.concatenate(list(templates.values()))
    index = RowIndex(rows)
    assert index.compressed and len(index) == 1200
    assert index.nbytes() < rows.nbytes / 4
    found = index.search(rows, 8)
    assert found.shape == (1200, 8)
    assert np.mean(found[:, 0] == np.arange(1200)) > 0.99
    assert np.all(np.any(found == np.arange(1200)[:, None], axis=1))


@pytest.mark.slow
def test_insert_and_remove_renumber_rows_like_the_gallery_matrix():
    _, templates, rng = crowd(200, 3, seed=1)
    rows = np.concatenate(list(templates.values()))
    index = RowIndex(rows)
    fresh = unit(rng.normal(size=(5, DIM)))
    rows = np.insert(rows, 100, fresh, axis=0)
    index.insert(100, fresh)
    keep = np.ones(len(rows), bool)
    keep[[0, 50, 101, 300]] = False
    rows = rows[keep]
    index.remove(keep)
    assert len(index) == len(rows) and index.removed == 4  # marked, not yet dropped
    found = index.search(rows, 4)
    assert np.all(np.any(found == np.arange(len(rows))[:, None], axis=1)), "every row finds itself at its new place"
    assert found.max() < len(rows)


def test_many_removals_drop_the_codes_and_keep_the_order():
    _, templates, _ = crowd(200, 3, seed=2)
    rows = np.concatenate(list(templates.values()))
    index = RowIndex(rows)
    keep = np.arange(len(rows)) % 4 != 0
    index.remove(keep)
    assert index.removed == 0, "a quarter removed is past the share that triggers dropping them"
    rows = rows[keep]
    found = index.search(rows, 4)
    assert np.all(np.any(found == np.arange(len(rows))[:, None], axis=1))


def test_a_saved_index_answers_like_the_one_it_was_saved_from():
    _, templates, rng = crowd(200, 3, seed=10)
    rows = np.concatenate(list(templates.values()))
    index = RowIndex(rows)
    index.insert(7, unit(rng.normal(size=(2, DIM))))
    keep = np.ones(len(rows) + 2, bool)
    keep[3] = False
    index.remove(keep)
    copy = RowIndex.from_bytes(index.to_bytes(), len(rows) + 1, DIM)
    queries = unit(rng.normal(size=(20, DIM)))
    np.testing.assert_array_equal(copy.search(queries, 10), index.search(queries, 10))
    with pytest.raises(ValueError, match="not 600 of 512"):
        RowIndex.from_bytes(index.to_bytes(), 600, DIM)
    with pytest.raises(ValueError, match="not a saved index"):
        RowIndex.from_bytes(b"PK\x03\x04 broken", 601, DIM)


def test_empty_and_tiny_indexes_answer():
    empty = RowIndex(np.zeros((0, DIM), np.float32))
    assert len(empty) == 0 and not empty.compressed
    np.testing.assert_array_equal(empty.search(unit(np.ones(DIM)), 3), [[-1, -1, -1]])
    rows = unit(np.random.default_rng(3).normal(size=(2, DIM)))
    tiny = RowIndex(rows)
    np.testing.assert_array_equal(tiny.search(rows, 3), [[0, 1, -1], [1, 0, -1]])
    tiny.remove(np.array([True, False]))
    np.testing.assert_array_equal(tiny.search(rows, 2), [[0, -1], [0, -1]])
    tiny.insert(0, rows[1:])
    assert tiny.search(rows[1:], 1)[0, 0] == 0


def test_people_among_candidates_rank_like_the_full_table():
    rng = np.random.default_rng(4)
    owners = np.repeat(np.arange(30), 3)
    scores = rng.uniform(-0.2, 0.6, (5, 90)).astype(np.float32)
    candidates = np.argsort(-scores, axis=1)[:, :40]  # a shortlist holding the best rows
    own = owners[candidates[:, 0]]
    want = top_others(person_scores(scores, owners, 30), own, 6)
    got = top_others_among(np.take_along_axis(scores, candidates, 1), owners[candidates], own, 6)
    np.testing.assert_allclose(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    padded = top_others_among(np.array([[0.5, -np.inf]], np.float32), np.array([[3, NONE]]), np.array([1]), 2)
    np.testing.assert_array_equal(padded[1], [[3, NONE]])


# --- Gallery above the limit ---------------------------------------------------------------------


@pytest.mark.slow
def test_gallery_above_the_limit_agrees_with_exact_search(small_limits):
    centres, templates, rng = crowd(600, 3, seed=5)
    big = Gallery.from_people(templates)
    queries = photos(centres, rng)
    best, sims = big.search(queries)
    assert big._index is not None and big._index.compressed, "the index was not used"
    np.testing.assert_array_equal(best, exact_top1(big, queries))
    np.testing.assert_allclose(sims, (queries @ big.templates.T).max(axis=1), atol=1e-5)


@pytest.mark.slow
def test_normalised_decisions_agree_with_exact_search(small_limits, monkeypatch):
    centres, templates, rng = crowd(600, 2, seed=6)
    strangers = unit(rng.normal(size=(40, DIM)) / np.sqrt(DIM) + 0.35 * unit(centres.mean(0)))
    queries = np.concatenate([photos(centres[:80], rng), strangers])
    got = Gallery.from_people(templates).match(queries, THRESHOLD)
    monkeypatch.setattr(matcher, "EXACT_LIMIT", 10**9)
    want = Gallery.from_people(templates).match(queries, THRESHOLD)
    assert [m.name for m in got] == [m.name for m in want]
    assert [m.candidate for m in got[:80]] == [m.candidate for m in want[:80]]
    assert np.mean([a.candidate == b.candidate for a, b in zip(got, want, strict=True)]) > 0.95  # strangers' top-1
    np.testing.assert_allclose([m.score for m in got], [m.score for m in want], atol=0.01)


@pytest.mark.slow
def test_enrolment_and_removal_update_the_index_in_place(small_limits):
    centres, templates, rng = crowd(400, 2, seed=7)
    gallery = Gallery.from_people(templates)
    gallery.match(centres[:5], THRESHOLD)
    index = gallery._index
    newcomer = unit(rng.normal(size=DIM))[0]
    gallery.add_person("zoe", unit(newcomer + rng.normal(0, 0.85 / np.sqrt(DIM), (2, DIM))))
    gallery.add_person("p0010", unit(centres[10] + rng.normal(0, 0.85 / np.sqrt(DIM), (1, DIM))))
    assert gallery._index is index, "enrolling someone rebuilt the index"
    probe = photos(np.concatenate([newcomer[None], centres[10:12]]), rng)
    assert [m.name for m in gallery.match(probe, THRESHOLD)] == ["zoe", "p0010", "p0011"]
    np.testing.assert_array_equal(gallery.search(probe)[0], exact_top1(gallery, probe))
    assert gallery.remove_person("p0011") and gallery.remove_person("zoe")
    assert gallery._index is index
    assert [m.name for m in gallery.match(probe, THRESHOLD)] == [None, "p0010", None]
    queries = photos(centres[:50], rng)
    np.testing.assert_array_equal(gallery.search(queries)[0], exact_top1(gallery, queries))
    want = copy_of(gallery).match(queries, THRESHOLD)  # a gallery built afresh from the same templates
    assert [m.name for m in gallery.match(queries, THRESHOLD)] == [m.name for m in want]


@pytest.mark.slow
def test_gallery_falling_under_the_limit_drops_its_index(small_limits):
    centres, templates, _ = crowd(251, 2, seed=8)  # 502 templates
    gallery = Gallery.from_people(templates)
    gallery.search(centres[:1])
    assert gallery._index is not None
    gallery.remove_person("p0000")
    assert gallery._index is None
    assert gallery.search(centres[1:2])[0][0] in np.flatnonzero(gallery.owners == 0)


def test_tiny_galleries_above_a_zero_limit_still_answer(monkeypatch):
    monkeypatch.setattr(matcher, "EXACT_LIMIT", 0)
    rows = unit(np.random.default_rng(9).normal(size=(3, DIM)))
    empty = Gallery.from_people({})
    assert empty.match(rows, THRESHOLD)[0].name is None
    one = Gallery.from_people({"ann": rows[:1]})
    assert [m.name for m in one.match(rows[:2], THRESHOLD)] == ["ann", None]
    two = Gallery.from_people({"ann": rows[:1], "bob": rows[1:2]})
    assert [m.name for m in two.match(rows, THRESHOLD)] == ["ann", "bob", None]
    two.remove_person("bob")
    assert [m.name for m in two.match(rows, THRESHOLD)] == ["ann", None, None]
