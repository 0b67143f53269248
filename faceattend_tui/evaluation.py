"""Face verification on an LFW-style pairs file, from raw photos through the whole pipeline."""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from faceattend_tui.files import read_regular
from faceattend_tui.vision.imageio import ImageError, read_image
from faceattend_tui.vision.pipeline import FaceEngine, central


@dataclass(frozen=True)
class Pair:
    left: str  # image key: Name/Name_0001
    right: str
    same: bool


def image_key(name: str, number: str) -> str:
    return f"{name}/{name}_{int(number):04d}"


PAIRS_LIMIT = 64 * 1024 * 1024  # bytes: LFW's 6,000 pairs take 100 KB


def parse_pairs(path: Path) -> tuple[list[Pair], int]:
    """Pairs and the number of folds (1 when the file has none)."""
    try:
        text = read_regular(path, PAIRS_LIMIT).decode("utf-8-sig")  # Notepad's byte-order mark is no header
    except OSError as exc:  # a device, a FIFO, a file far larger than any list of pairs
        raise ValueError(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not UTF-8 text (saved as \"Unicode\"?): save it as UTF-8") from None
    lines = [(n, line.split()) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    if not lines:
        raise ValueError(f"{path}: empty pairs file")
    (header_line, header), rows = lines[0], lines[1:]
    if len(header) not in (1, 2) or not all(v.isdigit() for v in header):
        raise ValueError(f"{path}:{header_line}: expected a header 'N' or 'FOLDS N', found {' '.join(header)!r}")
    folds = max(1, int(header[0])) if len(header) == 2 else 1
    pairs = []
    for number, row in rows:
        if len(row) not in (3, 4):
            raise ValueError(f"{path}:{number}: expected 3 or 4 fields, found {len(row)}")
        if len(row) == 4 and row[0] == row[2]:
            raise ValueError(f"{path}:{number}: a pair of 4 fields is of two people, but this one names "
                             f"{row[0]} twice (one person's pair has 3 fields: NAME N1 N2)")
        try:
            if len(row) == 3:
                pairs.append(Pair(image_key(row[0], row[1]), image_key(row[0], row[2]), True))
            else:
                pairs.append(Pair(image_key(row[0], row[1]), image_key(row[2], row[3]), False))
        except ValueError:
            raise ValueError(f"{path}:{number}: image numbers must be whole numbers: {' '.join(row)}") from None
    if not pairs:
        raise ValueError(f"{path}: no pairs")
    return pairs, folds


def find_image(images: Path, key: str) -> Path:
    for suffix in (".jpg", ".png", ".jpeg"):
        candidate = images / f"{key}{suffix}"
        if candidate.is_file():
            return candidate
    return images / f"{key}.jpg"


def embed_images(engine: FaceEngine, images: Path, keys: list[str],
                 progress: Callable[[int, int], None] | None = None) -> tuple[dict[str, np.ndarray | None], list[str]]:
    """key -> embedding (None when no face), and the error lines for unreadable files."""
    embeddings: dict[str, np.ndarray | None] = {}
    errors: list[str] = []

    def load(key: str) -> tuple[str, np.ndarray | None, str | None]:
        try:
            return key, read_image(find_image(images, key)), None
        except ImageError as exc:
            return key, None, str(exc)

    with ThreadPoolExecutor(max_workers=2) as pool:
        for done, (key, image, error) in enumerate(pool.map(load, keys), start=1):
            if image is None:  # unreadable: `error` says why
                errors.append(error or "")
                embeddings[key] = None
            else:
                face = central(engine.detect_thorough(image), image.shape)
                embeddings[key] = None if face is None else engine.embed(image, [face])[0]
            if progress:
                progress(done, len(keys))
    return embeddings, errors


def similarities(pairs: list[Pair], embeddings: dict[str, np.ndarray | None]) -> np.ndarray:
    """Cosine per pair; -1 where a face was not found (so the pair counts as 'different')."""
    out = np.empty(len(pairs), np.float32)
    for i, pair in enumerate(pairs):
        a, b = embeddings.get(pair.left), embeddings.get(pair.right)
        out[i] = -1.0 if a is None or b is None else float(np.dot(a, b))
    return out


def best_threshold(sims: np.ndarray, same: np.ndarray) -> tuple[float, float]:
    """Threshold with the best accuracy on these pairs, and that accuracy; of several as good, the middle
    one (the lowest would sit just above a pair of one person and let the next impostor in)."""
    candidates = np.unique(np.concatenate([sims, [-1.0, 1.0]]))
    mids = (candidates[:-1] + candidates[1:]) / 2
    accs = np.array([np.mean((sims >= t) == same) for t in mids])
    first = last = int(np.argmax(accs))
    while last + 1 < len(accs) and accs[last + 1] == accs[first]:  # as good just above: the run of them
        last += 1
    return float((mids[first] + mids[last]) / 2), float(accs[first])


def kfold_accuracy(sims: np.ndarray, same: np.ndarray, folds: int, shuffle: bool) -> tuple[float, float]:
    """Mean and std of accuracy with the threshold chosen on the other folds.

    Files with folds list them one after another; files without are split at random (fixed seed).
    """
    order = np.random.default_rng(0).permutation(len(sims)) if shuffle else np.arange(len(sims))
    parts = np.array_split(order, folds)
    accs = []
    for k, test in enumerate(parts):
        train = np.concatenate([p for j, p in enumerate(parts) if j != k])
        threshold, _ = best_threshold(sims[train], same[train])
        accs.append(np.mean((sims[test] >= threshold) == same[test]))
    return float(np.mean(accs)), float(np.std(accs))


def rates_at(sims: np.ndarray, same: np.ndarray, threshold: float) -> tuple[float | None, float | None]:
    """(TAR, FAR) when accepting cosine >= threshold; None for a rate the file has no pairs for."""
    accept = sims >= threshold
    return share(accept[same]), share(accept[~same])


def share(flags: np.ndarray) -> float | None:
    return float(flags.mean()) if flags.size else None


def tar_at_far(sims: np.ndarray, same: np.ndarray, far: float) -> tuple[float | None, float]:
    """The highest TAR whose FAR does not exceed `far`, and its threshold, rounded up to 4 places so that
    the threshold as printed keeps that FAR."""
    impostors = np.sort(sims[~same])[::-1]
    allowed = int(np.floor(far * len(impostors)))
    threshold = math.ceil((float(impostors[allowed]) + 1e-6) * 1e4) / 1e4 if allowed < len(impostors) else -1.0
    return share(sims[same] >= threshold), threshold


def rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def evaluate(engine: FaceEngine, pairs_file: Path, images: Path, threshold: float,
             progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    pairs, folds = parse_pairs(pairs_file)
    keys = sorted({p.left for p in pairs} | {p.right for p in pairs})
    embeddings, errors = embed_images(engine, images, keys, progress)
    unreadable = {k for k in keys if any(k in e for e in errors)}
    measured = [p for p in pairs if p.left not in unreadable and p.right not in unreadable]  # a file not read
    if not measured:  # measures nothing; a photo read with no face found counts as a failure to recognise
        raise ValueError(f"no pair of {pairs_file} could be measured: none of their photos could be read")
    sims = similarities(measured, embeddings)
    same = np.array([p.same for p in measured])
    best_t, best_acc = best_threshold(sims, same)
    tar, far = rates_at(sims, same, threshold)
    tar3, t3 = tar_at_far(sims, same, 1e-3)
    result = {
        "pairs": len(pairs), "pairs_measured": len(measured), "images": len(keys),
        "same_pairs": int(same.sum()), "different_pairs": int((~same).sum()),
        "no_face": sorted(k for k, v in embeddings.items() if v is None and k not in unreadable),
        "unreadable": errors,
        "best_threshold": round(best_t, 4), "accuracy_at_best": round(best_acc, 4),
        "threshold": threshold, "accuracy_at_threshold": round(float(np.mean((sims >= threshold) == same)), 4),
        "tar_at_threshold": rounded(tar), "far_at_threshold": rounded(far),
        "tar_at_far_1e-3": rounded(tar3) if (~same).sum() else None, "threshold_at_far_1e-3": round(t3, 4),
    }
    pairs = measured
    n_folds = min(folds if folds > 1 else 10, len(pairs))  # no empty folds in small files
    if n_folds > 1:
        mean, std = kfold_accuracy(sims, same, n_folds, shuffle=folds == 1)
    else:
        mean, std = best_acc, 0.0
    result["folds"] = n_folds
    result["kfold_accuracy"], result["kfold_std"] = round(mean, 4), round(std, 4)
    return result

