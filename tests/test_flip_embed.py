"""Flip test-time augmentation in the embedder: a fake recogniser, no models."""

from __future__ import annotations

import numpy as np

from faceattend_tui.vision.embedder import ArcFaceEmbedder, normalize


class Shape:
    def __init__(self, name: str, shape):
        self.name, self.shape = name, shape


class FakeSession:
    """A linear 'recogniser' that is not mirror-symmetric, so flipping changes its output."""

    def __init__(self, dim: int = 8):
        self.weights = np.random.default_rng(0).normal(size=(3 * 112 * 112, dim)).astype(np.float32)
        self.batches = []

    def get_inputs(self):
        return [Shape("data", ["N", 3, 112, 112])]

    def get_outputs(self):
        return [Shape("fc1", ["N", 8])]

    def run(self, _, feeds):
        blob = feeds["data"]
        self.batches.append(len(blob))
        return [blob.reshape(len(blob), -1) @ self.weights]


def crops(n: int) -> np.ndarray:
    return np.random.default_rng(1).integers(0, 256, (n, 112, 112, 3)).astype(np.uint8)


def test_flip_averages_the_crop_and_its_mirror_in_one_batch():
    session = FakeSession()
    embedder = ArcFaceEmbedder(session)
    faces = crops(3)
    plain = embedder.embed(faces)
    mirrored = embedder.embed(faces[:, :, ::-1])
    session.batches.clear()
    both = embedder.embed(faces, flip=True)
    assert session.batches == [6]  # crops and mirrors go through together
    np.testing.assert_allclose(both, normalize(plain + mirrored), atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(both, axis=1), 1.0, atol=1e-5)
    assert np.all(np.sum(both * plain, axis=1) < 0.9999)


def test_raw_embeddings_keep_their_length():
    embedder = ArcFaceEmbedder(FakeSession())
    raw = embedder.embed_raw(crops(2))
    np.testing.assert_allclose(normalize(raw), embedder.embed(crops(2)), atol=1e-5)
    assert np.all(np.linalg.norm(raw, axis=1) > 1.5)
    assert embedder.embed([], flip=True).shape == (0, 8)
