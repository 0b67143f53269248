"""Five-point alignment and ArcFace embeddings: geometry, batching and recognition on real photos."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from faceattend_tui.vision.align import (
    ARCFACE_TEMPLATE,
    CROP_SIZE,
    align_face,
    frontality,
    similarity_transform,
    similarity_transforms,
)
from faceattend_tui.vision.embedder import ArcFaceEmbedder
from faceattend_tui.vision.imageio import decode_image, read_image
from faceattend_tui.vision.ops import box_iou
from faceattend_tui.vision.pipeline import largest


def transform(angle: float, scale: float, shift) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[scale * c, -scale * s, shift[0]], [scale * s, scale * c, shift[1]]])


def apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ matrix[:, :2].T + matrix[:, 2]


def textured(size: int, seed: int = 0) -> np.ndarray:
    """A smooth colourful image, so that interpolation differences stay small."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (size // 8, size // 8, 3), dtype=np.uint8)
    return cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC)


# --- geometry -----------------------------------------------------------------------------------


@pytest.mark.parametrize("angle, scale, shift", [(0.3, 1.7, (12.0, -5.0)), (-2.5, 0.4, (-80.0, 33.0)),
                                                 (0.0, 1.0, (0.0, 0.0))])
def test_similarity_transform_recovers_a_known_transform(angle, scale, shift):
    src = np.random.default_rng(1).uniform(0, 300, (5, 2))
    known = transform(angle, scale, shift)
    recovered = similarity_transform(src, apply(known, src))
    assert recovered.shape == (2, 3)
    np.testing.assert_allclose(recovered, known, atol=1e-9)


def test_similarity_transform_is_a_least_squares_fit_with_noise():
    rng = np.random.default_rng(2)
    src = rng.uniform(0, 200, (5, 2))
    known = transform(0.5, 0.8, (20.0, 10.0))
    dst = apply(known, src) + rng.normal(0, 0.5, (5, 2))
    recovered = similarity_transform(src, dst)
    np.testing.assert_allclose(recovered, known, atol=0.05 * np.abs(known).max())
    # it never reflects: the 2x2 part stays a rotation times a positive scale
    part = recovered[:, :2]
    assert np.linalg.det(part) > 0
    assert part[0, 0] == pytest.approx(part[1, 1]) and part[0, 1] == pytest.approx(-part[1, 0])


def test_transforms_found_together_are_those_found_one_by_one():
    rng = np.random.default_rng(3)
    faces = rng.uniform(0, 300, (6, 5, 2))
    faces[2, :, 0] *= -1  # a mirrored set: its own sign, not its neighbours'
    faces[4] = faces[4, :1]  # all five points on one spot: no scale to find
    together = similarity_transforms(faces, ARCFACE_TEMPLATE)
    for points, matrix in zip(faces, together, strict=True):
        np.testing.assert_allclose(matrix, similarity_transform(points, ARCFACE_TEMPLATE), atol=1e-9)


def test_similarity_transform_never_mirrors_a_face():
    """Landmarks in mirrored order still give a rotation, never a reflection that flips the crop."""
    mirrored = ARCFACE_TEMPLATE.copy()
    mirrored[:, 0] = CROP_SIZE - mirrored[:, 0]
    part = similarity_transform(ARCFACE_TEMPLATE, mirrored)[:, :2]
    assert np.linalg.det(part) > 0
    assert part[0, 0] == pytest.approx(part[1, 1]) and part[0, 1] == pytest.approx(-part[1, 0])


def test_aligning_an_image_whose_landmarks_are_the_template_is_the_identity():
    image = textured(CROP_SIZE)
    crop = align_face(image, ARCFACE_TEMPLATE.astype(np.float32))
    assert crop.shape == (CROP_SIZE, CROP_SIZE, 3) and crop.dtype == np.uint8
    assert np.abs(crop.astype(int) - image.astype(int)).max() <= 1


def test_aligning_undoes_a_rotation_scale_and_shift():
    original = textured(CROP_SIZE, seed=3)
    known = transform(0.35, 2.0, (60.0, 20.0))
    big = cv2.warpAffine(original, known, (360, 360), flags=cv2.INTER_CUBIC)
    landmarks = apply(known, ARCFACE_TEMPLATE)
    crop = align_face(big, landmarks)
    inner = (slice(8, -8), slice(8, -8))
    diff = np.abs(crop[inner].astype(int) - original[inner].astype(int))
    assert diff.mean() < 3
    assert diff.max() < 40


def test_frontality_falls_as_the_nose_leaves_the_midline():
    assert frontality(ARCFACE_TEMPLATE) > 0.95
    turned = ARCFACE_TEMPLATE.copy()
    turned[2, 0] = ARCFACE_TEMPLATE[1, 0]  # nose below the right eye: a face in profile
    assert frontality(turned) < 0.2
    half = ARCFACE_TEMPLATE.copy()
    half[2, 0] += 8
    assert frontality(turned) < frontality(half) < frontality(ARCFACE_TEMPLATE)


# --- embeddings ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def players(engine, sample_photo):
    image = read_image(sample_photo("players.jpg"))
    faces = engine.detect(image)
    return image, faces, engine.embed(image, faces)


@pytest.fixture(scope="module")
def yao(engine, sample_photo):
    image = read_image(sample_photo("yaoming.jpg"))
    faces = engine.detect(image)
    assert len(faces) == 1
    return image, faces[0], engine.embed(image, faces)[0]


def test_embeddings_are_512d_unit_vectors(players, engine):
    _, faces, embeddings = players
    assert embeddings.shape == (len(faces), 512) and embeddings.dtype == np.float32
    assert engine.embedder.dim == 512
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)


def test_no_faces_give_an_empty_embedding_table(engine):
    out = engine.embed(np.zeros((100, 100, 3), np.uint8), [])
    assert out.shape == (0, 512)


def test_crops_go_to_the_network_as_rgb_scaled_to_plus_minus_one(yao, engine):
    """The recogniser was trained on RGB in [-1, 1]; feeding BGR would quietly cost accuracy."""
    image, face, embedding = yao
    (crop,) = engine.crops(image, [face])
    session = engine.embedder.session
    name = session.get_inputs()[0].name

    def run(pixels: np.ndarray) -> np.ndarray:
        blob = ((pixels.astype(np.float32) - 127.5) / 127.5).transpose(2, 0, 1)[None]
        out = session.run(None, {name: np.ascontiguousarray(blob)})[0][0]
        return out / np.linalg.norm(out)

    assert float(run(crop[..., ::-1]) @ embedding) > 0.9999
    assert float(run(crop) @ embedding) < 0.99  # the check above can tell the two orders apart


def test_batched_equals_one_at_a_time(players, engine):
    image, faces, embeddings = players
    chosen = faces[:6]
    single = np.concatenate([engine.embed(image, [f]) for f in chosen])
    cosines = (single * embeddings[: len(chosen)]).sum(axis=1)
    assert cosines.min() > 0.9999


def test_batches_smaller_than_the_number_of_faces(players, engine):
    image, faces, embeddings = players
    crops = engine.crops(image, faces)
    small_batches = ArcFaceEmbedder(engine.embedder.session, "w600k_mbf.onnx", batch_size=5)
    out = small_batches.embed(crops)
    assert out.shape == embeddings.shape
    assert (out * embeddings).sum(axis=1).min() > 0.9999


def test_yao_ming_matches_exactly_one_player(players, yao):
    _, faces, embeddings = players
    _, _, reference = yao
    sims = embeddings @ reference
    matches = np.flatnonzero(sims > 0.4)
    assert len(matches) == 1, np.round(np.sort(sims)[::-1][:4], 3)
    assert sims[matches[0]] > 0.5  # measured 0.63
    others = np.delete(sims, matches[0])
    assert others.max() < 0.3  # measured 0.17
    # Yao Ming is the tall player on the right of the back row
    box = faces[matches[0]].box
    assert 700 < box[0] < 760 and 120 < box[1] < 180


def test_different_players_are_not_alike(players):
    _, _, embeddings = players
    sims = embeddings @ embeddings.T
    off_diagonal = sims[~np.eye(len(sims), dtype=bool)]
    assert off_diagonal.max() < 0.5  # 23 different people


def reencoded(image: np.ndarray) -> np.ndarray:
    small = cv2.resize(image, None, fx=0.75, fy=0.75, interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 70])
    assert ok
    return decode_image(data.tobytes(), "reencoded.jpg")


def test_embedding_survives_jpeg_and_downscaling(engine, yao):
    image, _, reference = yao
    copy = reencoded(image)
    face = largest(engine.detect(copy))
    assert face is not None
    assert float(engine.embed(copy, [face])[0] @ reference) > 0.8  # measured 0.98


def test_large_faces_in_a_group_photo_survive_jpeg_and_downscaling(engine, sample_photo):
    image = read_image(sample_photo("gdp.jpg"))
    faces = [f for f in engine.detect(image) if f.width >= 50]
    assert len(faces) >= 3
    before = engine.embed(image, faces)
    copy = reencoded(image)
    found = engine.detect(copy)
    boxes = np.array([f.box / 0.75 for f in found])
    for face, embedding in zip(faces, before, strict=True):
        ious = box_iou(face.box, boxes)
        match = found[int(np.argmax(ious))]
        assert ious.max() > 0.7
        assert float(engine.embed(copy, [match])[0] @ embedding) > 0.8  # measured >= 0.95


class OnlyBatchOne:
    """A recogniser session that refuses batches, like some fixed-batch exports."""

    def __init__(self, session):
        self.session = session
        self.calls = []

    def get_inputs(self):
        return self.session.get_inputs()

    def get_outputs(self):
        return self.session.get_outputs()

    def run(self, names, feeds):
        (blob,) = feeds.values()
        self.calls.append(len(blob))
        if len(blob) != 1:
            raise RuntimeError("Got invalid dimensions for input")
        return self.session.run(names, feeds)


def test_batch_one_export_falls_back_to_one_at_a_time(players, engine):
    image, faces, embeddings = players
    session = OnlyBatchOne(engine.embedder.session)
    embedder = ArcFaceEmbedder(session, "batch1.onnx")
    out = embedder.embed(engine.crops(image, faces[:4]))
    assert (out * embeddings[:4]).sum(axis=1).min() > 0.9999
    assert embedder.batch_size == 1
    assert session.calls[0] == 4 and session.calls[1:] == [1, 1, 1, 1]
