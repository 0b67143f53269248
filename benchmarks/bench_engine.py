"""Recognition engine speed: detection, embedding, extraction and gallery search.

Each line prints the median of several runs beside a naive baseline measured in the same run.

    python benchmarks/bench_engine.py [--threads 2] [--device cpu] [--lfw DIR] [--skip-million]

--lfw: a folder of 250x250 photos (LFW layout) for the extraction rate; without it, 250x250
crops of the sample photos are used.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from faceattend_tui.config import load_settings
from faceattend_tui.gallery.extract import Extractor
from faceattend_tui.gallery.matcher import Gallery
from faceattend_tui.vision.align import align_face
from faceattend_tui.vision.imageio import is_image_name, read_image
from faceattend_tui.vision.models import find_asset
from faceattend_tui.vision.ops import box_iou, distance_to_box, distance_to_points
from faceattend_tui.vision.pipeline import FaceEngine, largest
from faceattend_tui.vision.types import faces_from_arrays


def median_ms(fn, repeat: int = 15, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def line(label: str, ours: float, naive: float, unit: str = "ms", target: str = "") -> None:
    ratio = naive / ours if ours else float("nan")
    print(f"{label:44s} {ours:9.2f} {unit:9s} naive {naive:9.2f} {unit:9s} x{ratio:5.1f}  {target}", flush=True)


def naive_detect(detector, image: np.ndarray):
    """Square 640 input, plain numpy preprocessing, decode and NMS with Python loops."""
    h, w = image.shape[:2]
    scale = 640 / max(h, w)
    canvas = np.zeros((640, 640, 3), np.uint8)
    resized = cv2.resize(image, (round(w * scale), round(h * scale)))
    canvas[: resized.shape[0], : resized.shape[1]] = resized
    blob = ((canvas[..., ::-1].astype(np.float32) - 127.5) / 128.0).transpose(2, 0, 1)[None].copy()
    raw = detector.session.run(detector.output_names, {detector.input_name: blob})
    raw = [r[0] if r.ndim == 3 else r for r in raw]
    boxes, scores, kps = [], [], []
    for level, stride in enumerate((8, 16, 32)):
        cells = 640 // stride
        for i, score in enumerate(raw[level].reshape(-1)):
            if score < 0.5:
                continue
            cell = i // 2
            center = np.array([[(cell % cells) * stride, (cell // cells) * stride]], np.float32)
            boxes.append(distance_to_box(center, raw[level + 3][i : i + 1] * stride)[0])
            kps.append(distance_to_points(center, raw[level + 6][i : i + 1] * stride)[0])
            scores.append(score)
    keep = []
    for i in np.argsort(scores)[::-1]:
        if all(box_iou(boxes[i], np.array([boxes[j]]))[0] <= 0.4 for j in keep):
            keep.append(i)
    if not keep:
        return []
    return faces_from_arrays(np.array([boxes[i] for i in keep]) / scale, np.array([scores[i] for i in keep]),
                             np.array([kps[i] for i in keep]) / scale)


def bench_detection(engine: FaceEngine, frame: np.ndarray) -> None:
    ours = median_ms(lambda: engine.detect(frame))
    naive = median_ms(lambda: naive_detect(engine.detector, frame))
    found = len(engine.detect(frame))
    line(f"detect 640x480 frame ({found} faces)", ours, naive, "ms/frame", "target <= 20 ms")


def bench_embedding(engine: FaceEngine, frame: np.ndarray) -> None:
    faces = engine.detect(frame)[:16]
    crops = [align_face(frame, f.landmarks) for f in faces]
    ours = median_ms(lambda: engine.embedder.embed(crops), repeat=9) / len(crops)
    naive = median_ms(lambda: [engine.embedder.embed([c]) for c in crops], repeat=5) / len(crops)
    line(f"embed {len(crops)} faces, batched", ours, naive, "ms/face", "target <= 6 ms")


def photo_folder(lfw: Path | None, players: np.ndarray, engine: FaceEngine, count: int) -> list[Path]:
    if lfw and lfw.is_dir():
        return sorted(p for p in lfw.rglob("*") if is_image_name(p))[:count]
    folder = Path(tempfile.mkdtemp(prefix="fa-bench-photos-"))
    faces = engine.detect(players)
    paths = []
    for i in range(count):
        face = faces[i % len(faces)]
        cx, cy = (face.box[:2] + face.box[2:]) / 2
        half = max(face.width, face.height) * (1.1 + 0.05 * (i % 5))
        x1, y1 = int(max(cx - half, 0)), int(max(cy - half, 0))
        crop = players[y1 : int(cy + half), x1 : int(cx + half)]
        path = folder / f"p{i:04d}.jpg"
        cv2.imwrite(str(path), cv2.resize(crop, (250, 250)))
        paths.append(path)
    return paths


def bench_extract(engine: FaceEngine, photos: list[Path]) -> None:
    root = Path(tempfile.mkdtemp(prefix="fa-bench-extract-"))
    images = root / "database_image"
    images.mkdir()
    for i, photo in enumerate(photos):
        shutil.copy(photo, images / f"person{i:04d}{photo.suffix}")
    start = time.perf_counter()
    report = Extractor(engine, images, root / "database_tensor").run()
    ours = report.images / (time.perf_counter() - start)
    start = time.perf_counter()
    for photo in photos:  # one at a time: read, detect at 640, embed, save
        image = read_image(photo)
        face = largest(engine.detect(image))
        if face is not None:
            np.save(root / f"{photo.stem}.npy", engine.embed(image, [face]))
    naive = len(photos) / (time.perf_counter() - start)
    print(f"{'extract ' + str(len(photos)) + ' photos of 250x250':44s} {ours:9.1f} images/s  "
          f"naive {naive:9.1f} images/s  target >= 30 images/s ({len(report.skipped)} skipped)", flush=True)
    shutil.rmtree(root)


def synthetic_gallery(people: int, per_person: int, rng) -> tuple[Gallery, np.ndarray]:
    """Unit vectors clustered per person, with queries from the same people (cosine ~0.6)."""
    centres = rng.standard_normal((people, 512), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    templates = np.repeat(centres, per_person, axis=0)
    templates += rng.standard_normal(templates.shape, dtype=np.float32) * 0.04
    templates /= np.linalg.norm(templates, axis=1, keepdims=True)
    owners = np.repeat(np.arange(people), per_person)
    queries = centres[rng.integers(0, people, 64)] + rng.standard_normal((64, 512), dtype=np.float32) * 0.045
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    return Gallery([f"p{i}" for i in range(people)], templates, owners), queries


def bench_search(size: int, rng) -> None:
    gallery, queries = synthetic_gallery(size // 2, 2, rng)
    gallery.search(queries[:1])  # builds the coarse index once, as loading a gallery would
    i = iter(range(10**9))
    ours = median_ms(lambda: gallery.search(queries[next(i) % 64][None]), repeat=31)
    exact = median_ms(lambda: gallery.templates @ queries[0], repeat=7)
    best_ours, _ = gallery.search(queries)
    best_exact = (queries @ gallery.templates.T).argmax(axis=1)
    agree = float(np.mean(best_ours == best_exact))
    people = np.arange(len(gallery.names))
    naive_q = queries[0]
    naive = median_ms(lambda: max((float(np.max(gallery.templates[2 * p : 2 * p + 2] @ naive_q)), p)
                                  for p in people[:20_000]), repeat=3) * (len(people) / 20_000)
    target = "target <= 5 ms" if size <= 100_000 else "target <= 50 ms"
    line(f"search {size:,} templates (exact product {exact:.1f} ms)", ours, naive, "ms/query",
         f"{target}; same top-1 as exact: {agree:.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--lfw", type=Path, default=None)
    parser.add_argument("--photos", type=int, default=300)
    parser.add_argument("--skip-million", action="store_true")
    args = parser.parse_args()
    settings = load_settings(Path(tempfile.mkdtemp()), {"device": args.device, "threads": args.threads})
    engine = FaceEngine.from_settings(settings, log=lambda s: print(s, file=sys.stderr))
    print(f"device {engine.device}, {args.threads} threads; {', '.join(engine.notes) or 'no notes'}")
    players = read_image(find_asset("sample_players", Path(".")))
    frame = cv2.resize(players, (640, 480), interpolation=cv2.INTER_AREA)
    bench_detection(engine, frame)
    bench_embedding(engine, players)
    bench_extract(engine, photo_folder(args.lfw, players, engine, args.photos))
    rng = np.random.default_rng(1)
    bench_search(100_000, rng)
    if not args.skip_million:
        bench_search(1_000_000, rng)


if __name__ == "__main__":
    main()
