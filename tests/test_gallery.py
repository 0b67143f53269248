"""Templates on disk and matching against them: synthetic embeddings, no models."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from faceattend_tui.gallery import matcher
from faceattend_tui.gallery.matcher import Gallery
from faceattend_tui.gallery.templates import (
    MANIFEST,
    Entry,
    GalleryError,
    Manifest,
    load_gallery,
    load_manifest,
    read_rows,
    save_manifest,
    save_person,
)
from faceattend_tui.vision.identity import RecognizerId

DIM = 512
REC_SHA = "a" * 64


def unit(rows: np.ndarray) -> np.ndarray:
    rows = np.atleast_2d(np.asarray(rows, np.float64))
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def noisy(centre: np.ndarray, rng: np.random.Generator, scale: float, n: int = 1) -> np.ndarray:
    """Unit samples around a unit centre; scale 0.82 gives a cosine of ~0.6 between two samples."""
    return unit(centre + rng.normal(0.0, scale / np.sqrt(DIM), (n, DIM)))


# --- Gallery.match -------------------------------------------------------------------------------


def test_top1_person_with_several_templates_each():
    rng = np.random.default_rng(1)
    centres = unit(rng.normal(size=(3, DIM)))
    # Each person has two quite different templates (e.g. with and without glasses).
    people = {
        "ann": np.concatenate([noisy(centres[0], rng, 0.8), noisy(-centres[1] + centres[2], rng, 0.8)]),
        "ben": noisy(centres[1], rng, 0.8, 3),
        "cat": noisy(centres[2], rng, 0.8, 2),
    }
    gallery = Gallery.from_people(people)
    assert len(gallery) == 7
    # A query near ann's *second* template is ann, although her first template is far from it.
    queries = np.concatenate([
        noisy(centres[0], rng, 0.8),
        noisy(-centres[1] + centres[2], rng, 0.8),
        noisy(centres[1], rng, 0.8),
        noisy(centres[2], rng, 0.8),
    ])
    matches = gallery.match(queries, threshold=0.3)
    assert [m.name for m in matches] == ["ann", "ann", "ben", "cat"]
    for query, match in zip(queries, matches, strict=True):
        best = max(float(people[match.name][i] @ query) for i in range(len(people[match.name])))
        assert match.similarity == pytest.approx(best, abs=1e-5)
        assert match.candidate == match.name


def test_below_threshold_is_unknown_but_candidate_and_similarity_are_reported():
    rng = np.random.default_rng(2)
    centres = unit(rng.normal(size=(2, DIM)))
    gallery = Gallery.from_people({"ann": noisy(centres[0], rng, 0.8, 2), "ben": noisy(centres[1], rng, 0.8, 2)})
    # A weak resemblance to ben: cosine ~0.25, under a threshold of 0.4.
    stranger = unit(0.3 * centres[1] + unit(rng.normal(size=DIM))[0])
    exact = float((gallery.templates @ stranger[0]).max())
    assert 0.1 < exact < 0.4
    (match,) = gallery.match(stranger, threshold=0.4)
    assert match.name is None
    assert match.candidate == "ben"
    assert match.similarity == pytest.approx(exact, abs=1e-5)
    # The same face with a lower threshold is named.
    (match,) = gallery.match(stranger, threshold=exact - 0.01)
    assert match.name == "ben"
    # Exactly at the threshold counts as a match.
    (match,) = gallery.match(stranger, threshold=match.similarity)
    assert match.name == "ben"


def test_empty_gallery_names_nobody():
    gallery = Gallery.from_people({}, DIM)
    assert len(gallery) == 0
    query = unit(np.random.default_rng(3).normal(size=(2, DIM)))
    matches = gallery.match(query, threshold=0.0)
    assert len(matches) == 2
    for match in matches:
        assert match.name is None
        assert match.candidate is None
        assert match.similarity < 0


def clustered_gallery(people: int, per_person: int, seed: int = 4):
    """Face-like synthetic embeddings: per-person centre + noise, intra-person cosine ~0.5-0.7."""
    rng = np.random.default_rng(seed)
    # A shared component makes impostors mildly correlated too (cosine ~0.1), as real embeddings are.
    common = unit(rng.normal(size=DIM))[0]
    centres = unit(rng.normal(size=(people, DIM)) / np.sqrt(DIM) + 0.35 * common)
    templates = {f"p{i:04d}": noisy(centres[i], rng, 0.85, per_person) for i in range(people)}
    return centres, templates, rng


def test_synthetic_embeddings_look_like_faces():
    centres, templates, rng = clustered_gallery(50, 4)
    same = [float(a @ b) for rows in templates.values() for i, a in enumerate(rows) for b in rows[i + 1:]]
    rows = list(templates.values())
    other = [float(rows[i][0] @ rows[i + 1][0]) for i in range(len(rows) - 1)]
    assert 0.5 < np.mean(same) < 0.7
    assert -0.1 < np.mean(other) < 0.2
    assert max(other) < min(same)


@pytest.mark.slow
def test_two_stage_search_agrees_with_exact_search(monkeypatch):
    centres, templates, rng = clustered_gallery(400, 5)  # 2,000 templates
    queries = np.concatenate([noisy(c, rng, 0.85) for c in centres])  # a new photo of every person
    truth = sorted(templates)

    exact = Gallery.from_people(templates)
    assert len(exact) == 2000 <= matcher.EXACT_LIMIT
    exact_best, exact_sims = exact.search(queries)
    exact_names = [m.name for m in exact.match(queries, threshold=0.32)]
    assert exact_names == truth  # the synthetic data is easy for exact search

    monkeypatch.setattr(matcher, "EXACT_LIMIT", 500)
    big = Gallery.from_people(templates)
    best, sims = big.search(queries)
    assert big._index is not None, "the index was not used"
    np.testing.assert_array_equal(best, exact_best)
    np.testing.assert_allclose(sims, exact_sims, atol=1e-5)
    assert [m.name for m in big.match(queries, threshold=0.32)] == truth


# --- read_rows -----------------------------------------------------------------------------------


def write_npy(path, rows) -> None:
    with open(path, "wb") as fh:
        np.save(fh, rows)


def test_read_rows_accepts_proper_templates(tmp_path):
    rows = unit(np.random.default_rng(5).normal(size=(3, DIM)))
    save_person(tmp_path, "ann", rows)
    loaded = read_rows(tmp_path / "ann.npy", DIM)
    assert loaded.dtype == np.float32 and loaded.shape == (3, DIM)
    np.testing.assert_array_equal(loaded, rows)


BAD_FILES = {
    "one-dimensional": np.ones(DIM, np.float32) / np.sqrt(DIM),
    "no rows": np.zeros((0, DIM), np.float32),
    "wrong width": unit(np.ones((2, 256))),
    "float64": unit(np.ones((2, DIM))).astype(np.float64),
    "float16": unit(np.ones((2, DIM))).astype(np.float16),
    "not normalised (seed-era)": np.full((1, DIM), 0.5, np.float32),
    "nan": np.full((1, DIM), np.nan, np.float32),
}


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_read_rows_rejects_bad_templates_naming_the_file(tmp_path, kind):
    path = tmp_path / "someone.npy"
    write_npy(path, BAD_FILES[kind])
    with pytest.raises(GalleryError) as info:
        read_rows(path, DIM)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("content", [b"name,embedding\nann,0.1 0.2\n", b"", b"\x93NUMPY\x01\x00garbage"])
def test_read_rows_rejects_a_file_that_is_not_npy(tmp_path, content):
    path = tmp_path / "ann.npy"
    path.write_bytes(content)
    with pytest.raises(GalleryError) as info:
        read_rows(path, DIM)
    assert str(path) in str(info.value)


def test_read_rows_rejects_an_archive_or_a_damaged_header_naming_the_file(tmp_path):
    """Neither a .npz under a .npy name nor a header whose length was flipped by a bad disk stops an
    extraction with a traceback."""
    archive = tmp_path / "cara.npy"
    with archive.open("wb") as handle:
        np.savez(handle, rows=unit(np.ones((1, DIM))))
    good = io.BytesIO()
    np.save(good, unit(np.ones((1, DIM))).astype(np.float32))
    damaged = bytearray(good.getvalue())
    damaged[8] ^= 0x40  # the header's length: the parser reads past the header's end
    flipped = tmp_path / "dan.npy"
    flipped.write_bytes(bytes(damaged))
    for path in (archive, flipped):
        with pytest.raises(GalleryError, match=path.name):
            read_rows(path, DIM)


def test_read_rows_refuses_pickled_objects(tmp_path):
    path = tmp_path / "ann.npy"
    write_npy(path, np.array([{"rows": 1}], dtype=object))
    with pytest.raises(GalleryError, match="ann.npy"):
        read_rows(path, DIM)


# --- load_gallery --------------------------------------------------------------------------------


def enrolled(folder, people: dict[str, np.ndarray], sha: str = REC_SHA) -> None:
    manifest = Manifest(recognizer=RecognizerId("w600k_mbf", sha, DIM))
    for name, rows in people.items():
        digest = save_person(folder, name, rows)
        samples = [{"image": f"{name}/{i}.jpg", "sha256": "0" * 64} for i in range(len(rows))]
        manifest.people[name] = Entry(samples, digest)
    save_manifest(folder, manifest)


def test_load_gallery_loads_enrolled_people(tmp_path):
    rng = np.random.default_rng(6)
    people = {"ann": unit(rng.normal(size=(2, DIM))), "ben": unit(rng.normal(size=(1, DIM)))}
    enrolled(tmp_path, people)
    gallery, warnings = load_gallery(tmp_path, REC_SHA, DIM)
    assert warnings == []
    assert gallery.names == ["ann", "ben"]
    assert len(gallery) == 3
    assert [m.name for m in gallery.match(people["ann"][1:], 0.5)] == ["ann"]


def test_load_gallery_of_missing_folder_is_empty(tmp_path):
    gallery, warnings = load_gallery(tmp_path / "nothing", REC_SHA, DIM)
    assert len(gallery) == 0 and warnings == []


def test_load_gallery_refuses_templates_of_another_recogniser(tmp_path):
    enrolled(tmp_path, {"ann": unit(np.ones((1, DIM)))}, sha="b" * 64)
    with pytest.raises(GalleryError) as info:
        load_gallery(tmp_path, REC_SHA, DIM)
    assert "extract" in str(info.value)
    assert str(tmp_path) in str(info.value)


def test_load_gallery_leaves_out_seed_era_files_with_a_warning(tmp_path):
    rng = np.random.default_rng(7)
    enrolled(tmp_path, {"ann": unit(rng.normal(size=(1, DIM)))})
    write_npy(tmp_path / "old_bob.npy", rng.normal(size=(1, DIM)).astype(np.float32) * 10)
    gallery, warnings = load_gallery(tmp_path, REC_SHA, DIM)
    assert gallery.names == ["ann"]
    assert len(warnings) == 1 and "old_bob.npy" in warnings[0]


def test_load_gallery_without_manifest_uses_nothing_and_says_so(tmp_path):
    rng = np.random.default_rng(8)
    write_npy(tmp_path / "ann.npy", rng.normal(size=(1, DIM)).astype(np.float32))
    write_npy(tmp_path / "ben.npy", rng.normal(size=(1, DIM)).astype(np.float32))
    gallery, warnings = load_gallery(tmp_path, REC_SHA, DIM)
    assert len(gallery) == 0
    assert len(warnings) == 1 and "extract" in warnings[0] and "2" in warnings[0]


def test_load_gallery_leaves_out_a_broken_template_and_keeps_the_rest(tmp_path):
    rng = np.random.default_rng(9)
    enrolled(tmp_path, {"ann": unit(rng.normal(size=(1, DIM))), "ben": unit(rng.normal(size=(1, DIM)))})
    write_npy(tmp_path / "ben.npy", np.ones((1, 128), np.float32))
    gallery, warnings = load_gallery(tmp_path, REC_SHA, DIM)
    assert gallery.names == ["ann"]
    assert len(warnings) == 1 and "ben.npy" in warnings[0]


def test_a_template_file_swapped_for_anothers_names_nobody(tmp_path):
    """Ben copies his own template file over Ann's: he must not check in as Ann."""
    rng = np.random.default_rng(11)
    people = {"ann": unit(rng.normal(size=(1, DIM))), "ben": unit(rng.normal(size=(1, DIM)))}
    enrolled(tmp_path, people)
    (tmp_path / "ann.npy").write_bytes((tmp_path / "ben.npy").read_bytes())
    gallery, warnings = load_gallery(tmp_path, REC_SHA, DIM)
    assert gallery.names == ["ben"]
    assert len(warnings) == 1 and "ann.npy" in warnings[0] and "changed since the manifest" in warnings[0]
    assert [m.name for m in gallery.match(people["ben"], 0.5)] == ["ben"]


def test_load_gallery_reports_a_broken_manifest(tmp_path):
    (tmp_path / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(GalleryError, match="manifest.json"):
        load_gallery(tmp_path, REC_SHA, DIM)


@pytest.mark.parametrize("recognizer", [{"dim": "512"}, {"dim": -1}, {"dim": 512.5}, {"dim": True}, {"name": 7}])
def test_a_recogniser_entry_edited_by_hand_is_named_not_a_crash(tmp_path, recognizer):
    from faceattend_tui.gallery.templates import enrolled_counts

    rng = np.random.default_rng(11)
    enrolled(tmp_path, {"ann": unit(rng.normal(size=(1, DIM)))})
    data = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    data["recognizer"].update(recognizer)
    (tmp_path / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(GalleryError, match="manifest.json: the recognizer entry's"):
        load_gallery(tmp_path, REC_SHA, DIM)
    assert enrolled_counts(tmp_path) == {}  # said by whoever loads it; nobody's status changes


def test_load_gallery_leaves_out_people_an_interrupted_rebuild_has_not_redone(tmp_path):
    """`stale` entries hold rows of the previous model until extraction redoes them."""
    rng = np.random.default_rng(10)
    enrolled(tmp_path, {"ann": unit(rng.normal(size=(1, DIM))), "ben": unit(rng.normal(size=(1, DIM)))})
    data = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    data["people"]["ben"].update(samples=[], stale=True)
    (tmp_path / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    gallery, warnings = load_gallery(tmp_path, REC_SHA, DIM)
    assert gallery.names == ["ann"]
    assert len(warnings) == 1 and "ben" in warnings[0] and "extract" in warnings[0]


# --- reloading after an enrollment ---------------------------------------------------------------


def count_reads(monkeypatch) -> list[str]:
    from faceattend_tui.gallery import templates

    reads, real = [], templates.read_rows
    monkeypatch.setattr(templates, "read_rows",
                        lambda path, dim=None, sha256=None: reads.append(path.stem) or real(path, dim, sha256))
    return reads


@pytest.mark.slow
def test_reload_reads_only_what_changed_and_updates_the_gallery_in_place(tmp_path, monkeypatch):
    monkeypatch.setattr(matcher, "EXACT_LIMIT", 500)  # large enough to have an index
    centres, people, rng = clustered_gallery(300, 2)
    enrolled(tmp_path, people)
    first, _ = load_gallery(tmp_path, REC_SHA, DIM)
    index = first._index
    assert index is not None, "a large gallery builds its index when loaded"
    reads = count_reads(monkeypatch)
    newcomer = noisy(unit(rng.normal(size=DIM))[0], rng, 0.85, 2)
    changed = {"p0003": noisy(centres[3], rng, 0.85, 3), "zoe": newcomer}
    manifest = load_manifest(tmp_path)
    del manifest.people["p0001"]  # removed, as the station does
    (tmp_path / "p0001.npy").unlink()
    for name, rows in changed.items():
        samples = [{"image": f"{name}/{i}.jpg", "sha256": "0" * 64} for i in range(len(rows))]
        manifest.people[name] = Entry(samples, save_person(tmp_path, name, rows))
    save_manifest(tmp_path, manifest)

    again, warnings = load_gallery(tmp_path, REC_SHA, DIM, previous=first)
    assert warnings == [] and sorted(reads) == ["p0003", "zoe"]
    assert again is first and again._index is index, "the gallery and its index were rebuilt"
    fresh, _ = load_gallery(tmp_path, REC_SHA, DIM)
    assert sorted(again.names) == fresh.names and len(again) == len(fresh)
    queries = np.concatenate([noisy(c, rng, 0.85) for c in centres[:20]] + [noisy(newcomer[0], rng, 0.3)])
    assert [m.name for m in again.match(queries, 0.32)] == [m.name for m in fresh.match(queries, 0.32)]
    assert again.match(queries[-1:], 0.32)[0].name == "zoe" and "p0001" not in again.names


def test_reload_after_many_changes_builds_a_new_gallery(tmp_path, monkeypatch):
    _, people, _ = clustered_gallery(30, 1)
    enrolled(tmp_path, dict(list(people.items())[:10]))
    first, _ = load_gallery(tmp_path, REC_SHA, DIM)
    enrolled(tmp_path, people)  # 20 more people at once
    reads = count_reads(monkeypatch)
    again, _ = load_gallery(tmp_path, REC_SHA, DIM, previous=first)
    assert again is not first and again.names == sorted(people) and len(reads) == 30
    unchanged, _ = load_gallery(tmp_path, REC_SHA, DIM, previous=again)
    assert unchanged is again and len(reads) == 30, "an unchanged folder is not read again"


def count_builds(monkeypatch) -> list[int]:
    builds = []

    class Counting(matcher.RowIndex):
        def __init__(self, rows, seed: int = 0):
            builds.append(len(rows))
            super().__init__(rows, seed)

    monkeypatch.setattr(matcher, "RowIndex", Counting)
    return builds


@pytest.mark.slow
def test_large_gallery_index_is_saved_and_used_again_until_the_templates_change(tmp_path, monkeypatch):
    monkeypatch.setattr(matcher, "EXACT_LIMIT", 100)
    centres, people, rng = clustered_gallery(100, 2)
    enrolled(tmp_path, people)
    builds = count_builds(monkeypatch)
    first, _ = load_gallery(tmp_path, REC_SHA, DIM)
    saved = list(tmp_path.glob(".index-*"))
    assert builds == [200] and len(saved) == 1 and REC_SHA[:16] in saved[0].name
    queries = np.concatenate([noisy(c, rng, 0.85) for c in centres[:10]])

    second, _ = load_gallery(tmp_path, REC_SHA, DIM)
    assert builds == [200], "the saved index was not used"
    np.testing.assert_array_equal(second.search(queries)[0], first.search(queries)[0])
    np.testing.assert_array_equal(second.row_index().search(queries, 8), first.row_index().search(queries, 8))

    enrolled(tmp_path, people | {"p0005": noisy(centres[5], rng, 0.85, 3)})  # changed outside the station
    third, _ = load_gallery(tmp_path, REC_SHA, DIM)
    assert builds == [200, 201] and [p.name for p in tmp_path.glob(".index-*")] != [saved[0].name]
    assert len(list(tmp_path.glob(".index-*"))) == 1

    next(tmp_path.glob(".index-*")).write_bytes(b"not an index")
    fourth, warnings = load_gallery(tmp_path, REC_SHA, DIM)
    assert builds == [200, 201, 201] and warnings == []
    assert [m.name for m in fourth.match(queries, 0.32)] == [m.name for m in third.match(queries, 0.32)]

    saved_file = next(tmp_path.glob(".index-*"))
    damaged = bytearray(saved_file.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF  # a bit gone bad on the disk: never handed to the native reader
    saved_file.write_bytes(bytes(damaged))
    load_gallery(tmp_path, REC_SHA, DIM)
    assert builds == [200, 201, 201, 201]


# --- the manifest's types ------------------------------------------------------------------------


def test_manifest_reads_and_writes_back_byte_for_byte(tmp_path):
    """Every kind of entry the station writes: extracted, taken at the door, copied, half rebuilt."""
    extracted = {"image": "ann/1.jpg", "sha256": "1" * 64, "box": [1.5, 2.0, 30.25, 40.0], "score": 0.8123, "faces": 2}
    camera = {"image": "bob/camera-20240101-080000-1.jpg", "sha256": "2" * 64, "source": "camera"}
    data = {"format": 1, "recognizer": {"name": "w600k_mbf", "sha256": REC_SHA, "dim": DIM},
            "people": {"ann": {"samples": [extracted], "npy_sha256": "3" * 64},
                       "bob": {"samples": [camera], "npy_sha256": "4" * 64},
                       "cléo": {"samples": [], "npy_sha256": "5" * 64, "stale": True}}}
    path = tmp_path / MANIFEST
    written = json.dumps(data, indent=1, ensure_ascii=False).encode()
    path.write_bytes(written)
    manifest = load_manifest(tmp_path)
    assert manifest.recognizer == RecognizerId("w600k_mbf", REC_SHA, DIM)
    assert manifest.people["cléo"] == Entry([], "5" * 64, stale=True)
    save_manifest(tmp_path, manifest)
    assert path.read_bytes() == written


def test_a_manifest_without_a_recogniser_is_written_back_as_it_was(tmp_path):
    (tmp_path / MANIFEST).write_text('{"format": 1, "recognizer": {}, "people": {}}', encoding="utf-8")
    manifest = load_manifest(tmp_path)
    assert manifest.recognizer is None and not manifest.made_by(RecognizerId("w600k_mbf", REC_SHA, DIM))
    save_manifest(tmp_path, manifest)
    assert json.loads((tmp_path / MANIFEST).read_text(encoding="utf-8"))["recognizer"] == {}


def test_removing_a_persons_photos_leaves_a_name_that_only_begins_like_theirs(tmp_path):
    from faceattend_tui.gallery.enroll import remove_photos

    images = tmp_path / "database_image"
    (images / "J.R. Smith").mkdir(parents=True)
    (images / "J.R. Smith" / "a.jpg").write_bytes(b"jr")
    for name in ("J.jpg", "J.png", "Ann.Marie Lee.jpg", "J.R.jpg"):
        (images / name).write_bytes(b"x")
    (images / "J").mkdir()
    assert remove_photos(images, "J")
    assert sorted(p.name for p in images.iterdir()) == ["Ann.Marie Lee.jpg", "J.R. Smith", "J.R.jpg"]
    assert (images / "J.R. Smith" / "a.jpg").is_file()


def test_enrolling_more_photos_does_not_keep_rows_swapped_in_by_hand(tmp_path):
    """New camera photos of Ann after her file was swapped for Ben's: her file then holds only the new rows."""
    from faceattend_tui.config import Settings
    from faceattend_tui.gallery.enroll import add_samples

    rng = np.random.default_rng(12)
    settings = Settings(data=tmp_path)
    people = {"ann": unit(rng.normal(size=(1, DIM))), "ben": unit(rng.normal(size=(1, DIM)))}
    enrolled(settings.tensors_dir, people)
    tensors = settings.tensors_dir
    (tensors / "ann.npy").write_bytes((tensors / "ben.npy").read_bytes())
    new = unit(rng.normal(size=(1, DIM)))
    assert add_samples(settings, "ann", [b"\xff\xd8"], new, RecognizerId("w600k_mbf", REC_SHA, DIM)) == 1
    gallery, warnings = load_gallery(tensors, REC_SHA, DIM)
    assert warnings == [] and len(gallery) == 2
    assert [m.name for m in gallery.match(people["ben"], 0.5)] == ["ben"]
    assert np.allclose(read_rows(tensors / "ann.npy", DIM), new)


def test_a_template_that_is_a_pipe_or_a_device_is_left_out_at_once(tmp_path):
    """A FIFO would hang the worker and a link to /dev/zero would fill the memory: named, left out."""
    import os

    rng = np.random.default_rng(13)
    enrolled(tmp_path, {"ann": unit(rng.normal(size=(1, DIM))), "ben": unit(rng.normal(size=(1, DIM))),
                        "cat": unit(rng.normal(size=(1, DIM)))})
    (tmp_path / "ann.npy").unlink()
    os.mkfifo(tmp_path / "ann.npy")
    (tmp_path / "ben.npy").unlink()
    (tmp_path / "ben.npy").symlink_to("/dev/zero")
    gallery, warnings = load_gallery(tmp_path, REC_SHA, DIM)
    assert gallery.names == ["cat"]
    assert len(warnings) == 2 and all("not a regular file" in w for w in warnings)
