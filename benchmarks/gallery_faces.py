"""Large galleries made of real face embeddings plus synthetic people that look like them.

Real part: a photo folder in LFW layout (one sub-folder per person), embedded once by
`face_cache`. Each person with two or more photos is enrolled from the first (embedded with its
mirror image, as the station enrolls); their other photos are the genuine probes, and the people
with a single photo are strangers, never enrolled. Probes are plain embeddings, as live frames.

Synthetic part: distractor people drawn from a Gaussian with the real templates' mean and
covariance, each with two templates that differ by a within-person variation drawn from the
covariance of real photos around their person's mean. Matching the first two moments keeps what
a search index feels: how strongly embeddings lean towards their common direction, how the
variance spreads over the 512 dimensions, and so how high impostor cosines run among a million
(`check` prints real and synthetic percentiles side by side; they agree within 0.01 up to the
99.9th). Sampling near real embeddings instead would fill the gallery with near-copies of
the 1,500 LFW faces, which makes every index look good and mis-names the genuine probes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PERSON_SPREAD = 0.8  # between-person part of the covariance, tuned so two photos of one person match ~0.62


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.maximum(np.linalg.norm(rows, axis=-1, keepdims=True), 1e-12)).astype(np.float32)


@dataclass
class Faces:
    enrolled: np.ndarray  # (E, D) one template per enrolled real person
    names: list[str]
    genuine: np.ndarray  # (G, D) probes of enrolled people
    genuine_owner: np.ndarray  # (G,) index into names
    strangers: np.ndarray  # (S, D) probes of people not enrolled
    mean: np.ndarray  # (D,) of all real templates
    spread: np.ndarray  # (D, D) square root of their covariance
    within: np.ndarray  # (D, D) square root of the covariance of photos around their person's mean

    @property
    def queries(self) -> np.ndarray:
        return np.concatenate([self.genuine, self.strangers])


def real_faces(data: dict) -> Faces:
    """Split a `face_cache` table into enrolled people, genuine probes and strangers."""
    found = data["found"]
    plain = unit(data["raw"][found])
    templates = unit(plain + unit(data["raw_flip"][found]))
    people = np.asarray(data["person"])[found]
    names, owner = np.unique(people, return_inverse=True)
    counts = np.bincount(owner)
    first = np.r_[True, owner[1:] != owner[:-1]]  # the table lists each person's photos together
    several = counts[owner] >= 2
    enrolled_rows = np.flatnonzero(first & several)
    enrolled_names = list(names[owner[enrolled_rows]])
    position = {name: i for i, name in enumerate(enrolled_names)}
    genuine_rows = np.flatnonzero(~first & several)
    return Faces(
        enrolled=templates[enrolled_rows], names=enrolled_names,
        genuine=plain[genuine_rows], genuine_owner=np.array([position[people[r]] for r in genuine_rows]),
        strangers=plain[~several], mean=templates.mean(axis=0),
        spread=root(np.cov(templates, rowvar=False)), within=root(within_covariance(templates, owner, counts)))


def within_covariance(rows: np.ndarray, owner: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Covariance of photos around their person's mean (people with two or more photos)."""
    means = np.zeros((len(counts), rows.shape[1]))
    np.add.at(means, owner, rows)
    means /= counts[:, None]
    several = counts[owner] >= 2
    n = counts[owner][several][:, None]
    deviations = (rows - means[owner])[several] * np.sqrt(n / (n - 1))  # unbiased for small groups
    return deviations.T @ deviations / len(deviations)


def root(covariance: np.ndarray) -> np.ndarray:
    """A symmetric square root of a covariance matrix (negative round-off clipped)."""
    values, vectors = np.linalg.eigh(covariance)
    return ((vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T).astype(np.float32)


def distractors(faces: Faces, people: int, per_person: int, rng: np.random.Generator,
                chunk: int = 50_000) -> np.ndarray:
    """(people x per_person, D) unit templates of synthetic people, each person's rows together."""
    dim = faces.mean.shape[0]
    out = np.empty((people * per_person, dim), np.float32)
    for start in range(0, people, chunk):
        n = min(chunk, people - start)
        centres = faces.mean + PERSON_SPREAD * (rng.standard_normal((n, dim), dtype=np.float32) @ faces.spread)
        photos = rng.standard_normal((n * per_person, dim), dtype=np.float32) @ faces.within
        out[start * per_person : (start + n) * per_person] = unit(np.repeat(centres, per_person, axis=0) + photos)
    return out


def check(faces: Faces, rng: np.random.Generator) -> str:
    """Percentiles of impostor cosines: real probes against real templates and against synthetic ones."""
    fake = distractors(faces, 3000, 2, rng)
    real = faces.queries @ faces.enrolled.T
    genuine = real[np.arange(len(faces.genuine)), faces.genuine_owner]
    impostor = np.ones(real.shape, bool)
    impostor[np.arange(len(faces.genuine)), faces.genuine_owner] = False
    levels = [50, 90, 99, 99.9]
    real_p = np.percentile(real[impostor], levels)
    fake_p = np.percentile(faces.queries @ fake.T, levels)
    same = np.median(np.sum(fake[0::2] * fake[1::2], axis=1))
    return (f"impostor cosine percentiles {levels}: real {np.round(real_p, 3).tolist()}, synthetic "
            f"{np.round(fake_p, 3).tolist()}; same person median: real probe {np.median(genuine):.2f}, "
            f"two synthetic templates {same:.2f}")
