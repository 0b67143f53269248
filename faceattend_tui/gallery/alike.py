"""People whose templates look like one person: most likely one person enrolled under two names,
who would check in as both."""

from __future__ import annotations

from collections.abc import Collection

import numpy as np

from faceattend_tui.gallery.matcher import Gallery
from faceattend_tui.gallery.templates import GalleryError
from faceattend_tui.vision.embedder import normalize

# Two people whose photos, averaged, have a cosine over this are most likely one person: the same
# person's photo sets reach 0.6 and more, two people of LFW hardly ever 0.4.
ALIKE = 0.5
MOST_COMPARED = 4000  # people: beyond, each pair is not compared at every load (16M pairs, seconds)


FEW_PEOPLE = 6  # fewer may all look alike (triplets, siblings): each pair is said instead
SAMPLED = 200  # people compared when a gallery is loaded: a recogniser that tells nobody apart shows in any 200


ONE_FACE = 0.95  # averaged templates this close are one face: siblings and twins stay well below


def nobody_apart(people: int, pairs: int, model: str, same: int = 0) -> str:
    """Most pairs of people (FEW_PEOPLE or more) alike, or every pair of three or more `same` (ONE_FACE): no
    triplets, a recogniser that sees no faces (its input scaled otherwise than it expects); in words, "" when
    not so."""
    every = people * (people - 1) // 2
    many = people >= FEW_PEOPLE and pairs * 2 > every  # a few people may be triplets...
    if not many and not (people >= 3 and same == every):  # ...but not three names of one face
        return ""
    return (f"{max(pairs, same)} of {every} pairs of people look like one person: the recogniser {model} tells "
            "nobody apart, and the station would check people in as each other; is its input as it expects (one "
            "with its pixel scaling inside takes 0-255, not -1..1)?" + ("" if many else " (or are the same photos "
                                                                         "under every name?)"))


def alike_pairs(names: list[str], means: np.ndarray, among: Collection[str] | None = None,
                floor: float = ALIKE) -> list[tuple[str, str, float]]:
    """Pairs of people whose averaged templates (`means`, unit rows in the order of `names`) have a cosine of
    `floor` or more, each pair once, in the order of `names`; with `among`, only pairs with one of them (the
    people just enrolled or changed: the others were compared before)."""
    wanted = set(names if among is None else among)
    pairs = []
    for i, name in enumerate(names):
        if name not in wanted:
            continue
        cosines = means @ means[i]
        for j in map(int, np.flatnonzero(cosines >= floor)):
            named_before = names[j] in wanted and j < i  # in that person's own row, earlier
            if j != i and not named_before:
                pairs.append((name, names[j], float(cosines[j])))
    return pairs


def person_means(gallery: Gallery, picked: np.ndarray | None = None) -> np.ndarray:
    """Each person's templates averaged, as unit rows in the order of `gallery.names` (with `picked`, sorted
    indices into it, only those people's)."""
    owners: np.ndarray = gallery.owners
    templates, people = gallery.templates, len(gallery.names)
    if picked is not None:
        rows = np.isin(owners, picked)
        owners, templates, people = np.searchsorted(picked, owners[rows]), templates[rows], len(picked)
    sums = np.zeros((people, gallery.templates.shape[1]), np.float32)
    np.add.at(sums, owners, templates)
    return normalize(sums)


def look_alikes(gallery: Gallery, among: Collection[str] | None = None) -> list[tuple[str, str, float]]:
    """Pairs of people (template folders) who look like one person, the most alike first (with `among`,
    those with one of them only); none for a gallery of over MOST_COMPARED people."""
    if not 2 <= len(gallery.names) <= MOST_COMPARED:
        return []
    return sorted(alike_pairs(gallery.names, person_means(gallery), among), key=lambda pair: -pair[2])


def refuse_unusable(gallery: Gallery, model: str) -> None:
    """Raise GalleryError when most pairs of (a sample of) the gallery's people look like one person: its
    recogniser tells nobody apart, and matching would name the wrong people."""
    people = len(gallery.names)
    if people < 3:
        return
    picked = np.unique(np.linspace(0, people - 1, min(people, SAMPLED)).astype(np.int64))
    means = person_means(gallery, picked)
    cosines = means @ means.T
    pairs, same = (int(np.triu(cosines >= floor, 1).sum()) for floor in (ALIKE, ONE_FACE))
    problem = nobody_apart(len(picked), pairs, model, same)
    if problem:
        raise GalleryError(f"{problem} Nobody is recognised until the recogniser is put right and `faceattend "
                           "extract` has rebuilt the templates")

