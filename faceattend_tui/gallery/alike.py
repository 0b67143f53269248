"""People whose templates look like one person: most likely one person enrolled under two names,
who would check in as both."""

from __future__ import annotations

import numpy as np

from faceattend_tui.gallery.matcher import Gallery
from faceattend_tui.vision.embedder import normalize

# Two people whose photos, averaged, have a cosine over this are most likely one person: the same
# person's photo sets reach 0.6 and more, two people of LFW hardly ever 0.4.
ALIKE = 0.5
MOST_COMPARED = 4000  # people: beyond, each pair is not compared at every load (16M pairs, seconds)


def person_means(gallery: Gallery) -> np.ndarray:
    """Each person's templates averaged, as unit rows in the order of `gallery.names`."""
    sums = np.zeros((len(gallery.names), gallery.templates.shape[1]), np.float32)
    np.add.at(sums, gallery.owners, gallery.templates)
    return normalize(sums)


def look_alikes(gallery: Gallery, floor: float = ALIKE) -> list[tuple[str, str, float]]:
    """Pairs of people (template folders) whose averaged templates have a cosine of `floor` or more,
    the most alike first; none for a gallery of over MOST_COMPARED people."""
    count = len(gallery.names)
    if count < 2 or count > MOST_COMPARED:
        return []
    means = person_means(gallery)
    cosines = np.triu(means @ means.T, k=1)
    pairs = [(gallery.names[int(a)], gallery.names[int(b)], float(cosines[a, b]))
             for a, b in zip(*np.nonzero(cosines >= floor), strict=True)]
    return sorted(pairs, key=lambda pair: -pair[2])
