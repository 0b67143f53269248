"""Embed every photo of an identification benchmark once and keep the results in a .npz file.

For each photo: the labelled face's embedding of the aligned crop and of its mirror image (both
before normalisation, so their length can serve as a quality signal), the face's box, landmarks
and detector score, the sharpness of the aligned crop, and how frontal the face is. With
`--live`, each photo is also shrunk, blurred and compressed into a few camera-like frames
(pasted into a 640x480 frame and found with the live detector, not the thorough one), so a
walk-in can be replayed through the live vote.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from faceattend_tui.live.capture import sharpness
from faceattend_tui.vision.align import frontality
from faceattend_tui.vision.imageio import ImageError, is_image_name, read_image
from faceattend_tui.vision.pipeline import FaceEngine, central, largest
from faceattend_tui.vision.types import Face

FRAME = (480, 640)  # live frame height, width


@dataclass(frozen=True)
class Variant:
    """One camera-like frame made from a photo: the face's shorter side in pixels, then blur."""

    name: str
    face_px: int
    motion_blur: int  # kernel length in pixels, 0: none
    jpeg: int


# A walk-in: far and small, then nearer; one frame smeared by motion. Order = time order.
WALK_IN = (
    Variant("far", 36, 0, 70),
    Variant("mid-blur", 56, 7, 70),
    Variant("mid", 64, 0, 80),
    Variant("near-blur", 96, 11, 80),
    Variant("near", 110, 0, 90),
)


def people_in(folders: list[Path]) -> dict[str, list[Path]]:
    """"folder/person" -> sorted photos, for every person sub-folder not starting with "_"."""
    people = {}
    for folder in folders:
        for person in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("_")):
            photos = sorted(p for p in person.iterdir() if is_image_name(p))
            if photos:
                people[f"{folder.name}/{person.name}"] = photos
    return people


def face_record(engine: FaceEngine, image: np.ndarray, face: Face) -> dict:
    crop = engine.crops(image, [face])[0]
    raw = engine.embedder.embed_raw(np.stack([crop, crop[:, ::-1]]))
    eyes = float(np.linalg.norm(face.landmarks[1] - face.landmarks[0]))
    return {"raw": raw[0], "raw_flip": raw[1], "box": face.box, "landmarks": face.landmarks,
            "det_score": face.score, "face_px": min(face.width, face.height), "eyes_px": eyes,
            "sharpness": sharpness(crop), "frontality": frontality(face.landmarks)}


def camera_frame(image: np.ndarray, face: Face, variant: Variant, rng: np.random.Generator) -> np.ndarray:
    """The photo scaled so the face has `face_px` pixels, blurred, in a 640x480 frame, JPEG-compressed."""
    scale = min(1.0, variant.face_px / max(min(face.width, face.height), 1.0))
    small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    if variant.motion_blur:
        kernel = np.zeros((variant.motion_blur, variant.motion_blur), np.float32)
        kernel[variant.motion_blur // 2, :] = 1.0 / variant.motion_blur
        small = cv2.filter2D(small, -1, kernel)
    frame = np.full((*FRAME, 3), 110, np.uint8)
    frame = np.clip(frame + rng.normal(0, 6, frame.shape), 0, 255).astype(np.uint8)
    h, w = min(small.shape[0], FRAME[0]), min(small.shape[1], FRAME[1])
    cx, cy = (face.box[0] + face.box[2]) / 2 * scale, (face.box[1] + face.box[3]) / 2 * scale
    y0 = int(np.clip(cy - h / 2, 0, small.shape[0] - h))  # a window of the photo around the face
    x0 = int(np.clip(cx - w / 2, 0, small.shape[1] - w))
    top, left = (FRAME[0] - h) // 2, (FRAME[1] - w) // 2
    frame[top : top + h, left : left + w] = small[y0 : y0 + h, x0 : x0 + w]
    ok, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, variant.jpeg])
    return cv2.imdecode(jpeg, cv2.IMREAD_COLOR) if ok else frame


def pick_face(faces: list[Face], shape, how: str) -> Face | None:
    """The labelled face of a photo: LFW centres it ("central"); extraction takes the largest."""
    return central(faces, shape) if how == "central" else largest(faces)


def build(engine: FaceEngine, folders: list[Path], live: bool, wider: Path | None = None,
          face_choice: str = "central", log=print) -> dict[str, np.ndarray]:
    people = people_in(folders)
    rows, frames = [], []
    rng = np.random.default_rng(0)
    total = sum(len(p) for p in people.values())
    for name, photos in people.items():
        for path in photos:
            if len(rows) % 200 == 0:
                log(f"{len(rows)}/{total} photos")
            try:
                image = read_image(path)
            except ImageError as exc:
                log(f"skipped: {exc}")
                continue
            face = pick_face(engine.detect_thorough(image), image.shape, face_choice)
            record = {"person": name, "photo": f"{name}/{path.name}", "found": face is not None}
            if face is not None:
                record.update(face_record(engine, image, face))
            rows.append(record)
            if live and face is not None:
                frames += [live_record(engine, image, face, v, len(rows) - 1, rng, face_choice) for v in WALK_IN]
    if wider is not None:
        rows += wider_faces(engine, wider, log)
    return pack(rows, frames, engine.embedder.dim)


def wider_faces(engine: FaceEngine, folder: Path, log=print, min_px: int = 40) -> list[dict]:
    """Faces of at least `min_px` pixels in a WIDER-format folder (gt.txt, images/), each its own person."""
    rows = []
    for image_name, boxes in read_wider(folder / "gt.txt"):
        big = [b for b in boxes if min(b[2], b[3]) >= min_px]
        if not big:
            continue
        image = read_image(folder / "images" / Path(image_name).name)
        faces = engine.detect(image)
        for i, (x, y, w, h) in enumerate(big):
            face = best_overlap(faces, np.array([x, y, x + w, y + h], np.float32))
            if face is not None:
                record = {"person": f"wider/{Path(image_name).stem}#{i}", "found": True}
                record["photo"] = record["person"]
                rows.append(record | face_record(engine, image, face))
    log(f"{len(rows)} distractor faces from {folder}")
    return rows


def read_wider(path: Path) -> list[tuple[str, list[tuple[int, int, int, int]]]]:
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    out, i = [], 0
    while i < len(lines) and lines[i]:
        name, count = lines[i], int(lines[i + 1])
        rows = [line.split() for line in lines[i + 2 : i + 2 + count]]
        out.append((name, [tuple(int(v) for v in r[:4]) for r in rows if len(r) < 5 or r[4] == "0"]))
        i += 2 + max(count, 1)
    return out


def best_overlap(faces: list[Face], box: np.ndarray, min_iou: float = 0.4) -> Face | None:
    def iou(face: Face) -> float:
        x1, y1 = np.maximum(face.box[:2], box[:2])
        x2, y2 = np.minimum(face.box[2:], box[2:])
        inter = max(x2 - x1, 0) * max(y2 - y1, 0)
        return inter / (face.area + (box[2] - box[0]) * (box[3] - box[1]) - inter)

    best = max(faces, key=iou, default=None)
    return best if best is not None and iou(best) >= min_iou else None


def live_record(engine: FaceEngine, image, face: Face, variant: Variant, photo: int, rng, face_choice: str) -> dict:
    frame = camera_frame(image, face, variant, rng)  # the photo sits in the middle of the frame
    found = pick_face(engine.detect(frame), frame.shape, face_choice)
    record = {"photo_index": photo, "variant": variant.name, "found": found is not None}
    if found is not None:
        record.update(face_record(engine, frame, found))
    return record


NUMERIC = {"raw": 512, "raw_flip": 512, "box": 4, "landmarks": 10, "det_score": 0, "face_px": 0,
           "eyes_px": 0, "sharpness": 0, "frontality": 0}


def pack(rows: list[dict], frames: list[dict], dim: int) -> dict[str, np.ndarray]:
    out = {"person": np.array([r["person"] for r in rows]), "photo": np.array([r["photo"] for r in rows])}
    out.update(columns(rows, dim, prefix=""))
    if frames:
        out["live_photo"] = np.array([f["photo_index"] for f in frames], np.int32)
        out["live_variant"] = np.array([f["variant"] for f in frames])
        out.update(columns(frames, dim, prefix="live_"))
    return out


def columns(rows: list[dict], dim: int, prefix: str) -> dict[str, np.ndarray]:
    found = np.array([r["found"] for r in rows], bool)
    out = {f"{prefix}found": found}
    for key, width in NUMERIC.items():
        width = dim if width == 512 else width
        shape = (len(rows), width) if width else (len(rows),)
        column = np.zeros(shape, np.float32)
        for i, r in enumerate(rows):
            if r["found"]:
                column[i] = np.asarray(r[key], np.float32).reshape(column.shape[1:])
        out[f"{prefix}{key}"] = column
    return out


def load_or_build(cache: Path | None, folders: list[Path], live: bool, wider: Path | None, face_choice: str,
                  make_engine) -> dict[str, np.ndarray]:
    """The cached arrays when `cache` exists and covers the same inputs, else built (and saved)."""
    key = "|".join(str(f.resolve()) for f in folders)
    key += f"|live={live}|wider={wider and wider.resolve()}|face={face_choice}"
    if cache is not None and cache.is_file():
        data = dict(np.load(cache, allow_pickle=False))
        if str(data.pop("key", "")) == key:
            return data
        print(f"{cache}: made from other folders; embedding again", file=sys.stderr)
    data = build(make_engine(), folders, live, wider, face_choice, log=lambda s: print(s, file=sys.stderr))
    if cache is not None:
        np.savez_compressed(cache, key=np.array(key), **data)
    return data
