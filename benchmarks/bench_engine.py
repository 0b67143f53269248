"""Recognition engine speed: detection, embedding, extraction and gallery search.

Each line prints the median of several runs beside a naive baseline measured in the same run.

    python benchmarks/bench_engine.py [--threads 2] [--device cpu] [--lfw DIR] [--faces CACHE.npz]
        [--only detect,embed,extract,search] [--skip-million] [--alternatives]

--lfw: a folder of 250x250 photos in LFW layout (one sub-folder per person) for the extraction
rate and the search rows; without it, 250x250 crops of the sample photos are extracted and
synthetic people are searched. --faces keeps the photos' embeddings between runs.

Search: the LFW people (real embeddings, `gallery_faces`) among synthetic people that look like
them, to 100,000 and 1,000,000 templates; the exact search, the PCA two-stage search used before
the index, and the index (`faceattend_tui.gallery.index`) side by side, with their agreement
with the exact search, time per query, build time and memory. --alternatives adds the HNSW and
IVF indexes measured and not adopted (needs `usearch` for two of them).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import faiss
import numpy as np
from face_cache import load_or_build
from gallery_faces import Faces, check, distractors, real_faces, unit

from faceattend_tui.config import load_settings
from faceattend_tui.gallery import matcher
from faceattend_tui.gallery.extract import Extractor
from faceattend_tui.gallery.index import RowIndex
from faceattend_tui.gallery.matcher import Gallery
from faceattend_tui.gallery.scoring import DEFAULT_NORM
from faceattend_tui.gallery.templates import TEMPLATE_FLIP
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
    for photo in photos:  # one at a time: read, detect at 640, embed (with the mirror image, as ours), save
        image = read_image(photo)
        face = largest(engine.detect(image))
        if face is not None:
            np.save(root / f"{photo.stem}.npy", engine.embed(image, [face], flip=TEMPLATE_FLIP))
    naive = len(photos) / (time.perf_counter() - start)
    print(f"{'extract ' + str(len(photos)) + ' photos of 250x250':44s} {ours:9.1f} images/s  "
          f"naive {naive:9.1f} images/s  target >= 30 images/s ({len(report.skipped)} skipped)", flush=True)
    shutil.rmtree(root)


# --- gallery search -----------------------------------------------------------------------------


class PcaGallery(Gallery):
    """The two-stage search before the index: a 96-dimensional PCA projection ranks every template,
    the best 256 are scored exactly."""

    DIM, CANDIDATES = 96, 256

    def row_index(self):
        if self._index is None:
            rng = np.random.default_rng(0)
            sample = self.templates[rng.choice(len(self.templates), min(20_000, len(self.templates)), replace=False)]
            _, _, vt = np.linalg.svd(sample, full_matrices=False)
            basis = np.ascontiguousarray(vt[: self.DIM].T)
            self._index = (basis, np.ascontiguousarray(self.templates @ basis))
        return self._index

    def nbytes(self) -> int:
        return sum(a.nbytes for a in self.row_index())

    def _shortlist(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        basis, projected = self.row_index()
        coarse = (queries @ basis) @ projected.T
        shortlist = np.argpartition(-coarse, self.CANDIDATES - 1, axis=1)[:, : self.CANDIDATES]
        exact = np.empty(shortlist.shape, np.float32)
        for i, rows in enumerate(shortlist):
            exact[i] = self.templates[rows] @ queries[i]
        return shortlist, exact


class ExactGallery(Gallery):
    """Every template scored, whatever the size (matcher.EXACT_LIMIT raised while it answers)."""

    def search(self, queries):
        with exact_limit():
            return super().search(queries)

    def match(self, queries, threshold, norm=DEFAULT_NORM):
        with exact_limit():
            return super().match(queries, threshold, norm)


@contextlib.contextmanager
def exact_limit():
    saved, matcher.EXACT_LIMIT = matcher.EXACT_LIMIT, 1 << 62
    try:
        yield
    finally:
        matcher.EXACT_LIMIT = saved


def synthetic_faces(rng, people: int = 600) -> Faces:
    """Without --lfw: clustered random people (impostor cosines ~0.1, two photos ~0.6) in place of LFW."""
    dim, noise = 512, 0.85 / np.sqrt(512)
    common = unit(rng.standard_normal(dim))
    centres = unit(rng.standard_normal((2 * people, dim)) / np.sqrt(dim) + 0.35 * common)
    eye = np.eye(dim, dtype=np.float32)
    return Faces(enrolled=unit(centres[:people] + rng.standard_normal((people, dim)) * noise),
                 names=[f"real{i}" for i in range(people)],
                 genuine=unit(centres[:people] + rng.standard_normal((people, dim)) * noise),
                 genuine_owner=np.arange(people), strangers=unit(centres[people:]), mean=0.35 * common,
                 spread=eye / np.sqrt(dim), within=eye * noise)


def face_gallery(faces: Faces, size: int, rng) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Templates, owners and names: the enrolled real people, then synthetic people with two templates each."""
    people = (size - len(faces.enrolled)) // 2
    templates = np.concatenate([faces.enrolled, distractors(faces, people, 2, rng)])
    owners = np.concatenate([np.arange(len(faces.enrolled)), len(faces.enrolled) + np.repeat(np.arange(people), 2)])
    return templates, owners.astype(np.int32), faces.names + [f"synthetic{i}" for i in range(people)]


@dataclass
class Answers:
    best: np.ndarray  # top-1 template row per query
    names: list[str | None]  # the normalised decision per query


def answers(gallery: Gallery, queries: np.ndarray, threshold: float, chunk: int = 32) -> Answers:
    """What `match` answers, with the best template's row (Gallery.scores: one search per query)."""
    best, names = [], []
    for start in range(0, len(queries), chunk):
        with exact_limit() if isinstance(gallery, ExactGallery) else contextlib.nullcontext():
            rows, _, scores = gallery.scores(queries[start : start + chunk])
        best.append(rows)
        owners = gallery.owners[rows]
        names += [gallery.names[o] if s >= threshold else None for o, s in zip(owners, scores, strict=True)]
    return Answers(np.concatenate(best), names)


def query_ms(fn, queries: np.ndarray, repeat: int) -> float:
    picks = iter(np.random.default_rng(2).permutation(len(queries)).tolist() * 10)
    return median_ms(lambda: fn(queries[next(picks)][None]), repeat=repeat, warmup=3)


def query_cpu_ms(fn, queries: np.ndarray, repeat: int) -> float:
    """Median processor time of one query: what the machine's other work cannot inflate (all threads counted)."""
    times = []
    for query in queries[np.random.default_rng(3).permutation(len(queries))[:repeat]]:
        start = time.process_time()
        fn(query[None])
        times.append(time.process_time() - start)
    return statistics.median(times) * 1e3


def search_row(label: str, gallery: Gallery, build_s: float, memory: int, faces: Faces, truth: Answers | None,
               threshold: float, repeat: int) -> Answers:
    queries = faces.queries
    got = answers(gallery, queries, threshold)  # also fills the impostor statistics the timing below reuses
    search = query_ms(gallery.search, queries, repeat)
    match = query_ms(lambda q: gallery.match(q, threshold), queries, repeat)
    cpu = query_cpu_ms(lambda q: gallery.match(q, threshold), queries, repeat)
    truth = truth or got
    same = got.best == truth.best
    genuine = len(faces.genuine)
    decided = np.mean([a == b for a, b in zip(got.names, truth.names, strict=True)])
    print(f"  {label:46s} {build_s:8.1f} {memory / 2**20:10.0f} {search:10.2f} {match:9.2f} {cpu:8.2f}   "
          f"{same[:genuine].mean():8.4f} {same[genuine:].mean():9.4f} {same.mean():7.4f} {decided:11.4f}", flush=True)
    return got


def bench_search(size: int, faces: Faces, rng, threshold: float, alternatives: bool = False) -> None:
    templates, owners, names = face_gallery(faces, size, rng)
    print(f"search {size:,} templates: {len(faces.names)} real people + {(size - len(faces.names)) // 2:,} synthetic "
          f"people x 2; {len(faces.genuine)} genuine + {len(faces.strangers)} stranger probes; medians of single "
          f"queries (wall clock; cpu: processor time of a match, all threads); match = search + cohort "
          f"normalisation; agreement with the exact search (top-1 template, "
          f"decisions at threshold {threshold:.2f})", flush=True)
    print(f"  {'':46s} {'build s':>8s} {'memory MB':>10s} {'search ms':>10s} {'match ms':>9s} {'cpu ms':>8s}   "
          f"{'genuine':>8s} {'strangers':>9s} {'all':>7s} {'decisions':>11s}")
    exact = ExactGallery(names, templates, owners)
    truth = search_row("exact: one matrix product", exact, 0.0, templates.nbytes, faces, None, threshold, 7)
    pca = PcaGallery(names, templates, owners)
    start = time.perf_counter()
    pca.row_index()
    search_row("before: PCA 96 + 256 scored exactly", pca, time.perf_counter() - start, pca.nbytes(), faces, truth,
               threshold, 101)
    del pca
    ours = Gallery(names, templates, owners)
    start = time.perf_counter()
    index = ours.row_index()
    build_s = time.perf_counter() - start
    label = f"now: faiss PQ fast scan + {matcher.CANDIDATES} scored exactly"
    search_row(label, ours, build_s, index.nbytes(), faces, truth, threshold, 101)
    bench_saved_index(index, build_s, templates.shape)
    if alternatives:
        for alternative in ALTERNATIVES:
            bench_alternative(alternative, templates, faces, truth)
    bench_enrollment(ours, faces, rng)
    print("  target: <= 10 ms per query at 1,000,000 templates on 2 cores, top-1 agreement >= 0.999", flush=True)


def bench_saved_index(index: RowIndex, build_s: float, shape: tuple[int, int]) -> None:
    """What the copy saved beside the templates costs and saves at the next start."""
    start = time.perf_counter()
    saved = index.to_bytes()
    save_s = time.perf_counter() - start
    start = time.perf_counter()
    RowIndex.from_bytes(saved, *shape)
    load_s = time.perf_counter() - start
    print(f"  index saved beside the templates: {len(saved) / 2**20:.0f} MB, written in {save_s:.2f} s, read back in "
          f"{load_s:.2f} s instead of built in {build_s:.1f} s", flush=True)


def bench_enrollment(gallery: Gallery, faces: Faces, rng) -> None:
    """Enroll one person (2 templates) into the indexed gallery and remove them: no rebuild."""
    index = gallery.row_index()
    rows = distractors(faces, 1, 2, rng)
    start = time.perf_counter()
    gallery.add_person("newcomer", rows)
    added = time.perf_counter() - start
    found = gallery.match(rows[:1], 0.3)[0].name == "newcomer"
    start = time.perf_counter()
    gallery.remove_person("newcomer")
    removed = time.perf_counter() - start
    kept = gallery.row_index() is index
    gone = gallery.match(rows[:1], 0.3)[0].name is None
    start = time.perf_counter()
    index.insert(len(gallery), rows)
    index.remove(np.r_[np.ones(len(gallery), bool), False, False])
    own = time.perf_counter() - start
    print(f"  enroll 1 person (2 templates): {added * 1e3:.0f} ms, remove: {removed * 1e3:.0f} ms (of which the "
          f"index: {own * 1e3:.1f} ms; the rest copies the template matrix); found after enrolling: {found}, "
          f"after removing: {not gone}; index kept, not rebuilt: {kept}", flush=True)


# --- indexes measured and not adopted (--alternatives) ------------------------------------------


@dataclass
class Alternative:
    label: str
    build: object  # templates -> index
    search: object  # (index, queries (Q, D), k) -> (Q, k) rows
    nbytes: object  # index -> bytes


def faiss_alternative(label: str, factory: str, param: str) -> Alternative:
    def build(templates):
        index = faiss.index_factory(templates.shape[1], factory, faiss.METRIC_INNER_PRODUCT)
        index.train(templates[np.random.default_rng(0).choice(len(templates), 40_000, replace=False)])
        index.add(templates)
        faiss.ParameterSpace().set_index_parameters(index, param)
        return index

    return Alternative(label, build, lambda index, q, k: index.search(q, k)[1],
                       lambda index: len(faiss.serialize_index(index)))


def usearch_alternative(label: str, dtype: str, expansion: int) -> Alternative:
    def build(templates):
        from usearch.index import Index

        index = Index(ndim=templates.shape[1], metric="ip", dtype=dtype, connectivity=16, expansion_add=128,
                      expansion_search=expansion)
        index.add(np.arange(len(templates)), templates, threads=2)
        return index

    def search(index, queries, k):
        found = index.search(queries, k, threads=1)
        return np.atleast_2d(np.asarray(found.keys, np.int64))

    return Alternative(label, build, search, lambda index: index.memory_usage)


ALTERNATIVES = [
    faiss_alternative("faiss IVF1024 nprobe 64 + 64", "IVF1024,Flat", "nprobe=64"),
    faiss_alternative("faiss HNSW32 SQ8 ef 256 + 64", "HNSW32,SQ8", "efSearch=256"),
    usearch_alternative("usearch HNSW16 i8 ef 256 + 64", "i8", 256),
    usearch_alternative("usearch HNSW16 f16 ef 256 + 64", "f16", 256),
]


def bench_alternative(alternative: Alternative, templates: np.ndarray, faces: Faces, truth: Answers) -> None:
    """Top-1 agreement when the alternative's best 64 are scored exactly (decisions not measured)."""
    try:
        start = time.perf_counter()
        index = alternative.build(templates)
    except ImportError as exc:
        print(f"  {alternative.label}: skipped ({exc})")
        return
    build_s = time.perf_counter() - start

    def top1(queries):
        rows = alternative.search(index, queries, 64)
        return np.array([r[r >= 0][np.argmax(templates[r[r >= 0]] @ q)] for r, q in zip(rows, queries, strict=True)])

    queries = faces.queries
    same = top1(queries) == truth.best
    search = query_ms(top1, queries, 31)
    genuine = len(faces.genuine)
    print(f"  {alternative.label:46s} {build_s:8.1f} {alternative.nbytes(index) / 2**20:10.0f} {search:10.2f} "
          f"{'':18s}   {same[:genuine].mean():8.4f} {same[genuine:].mean():9.4f} {same.mean():7.4f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--lfw", type=Path, default=None)
    parser.add_argument("--faces", type=Path, default=None, help=".npz file keeping the --lfw embeddings between runs")
    parser.add_argument("--photos", type=int, default=300)
    parser.add_argument("--only", default="detect,embed,extract,search")
    parser.add_argument("--skip-million", action="store_true")
    parser.add_argument("--alternatives", action="store_true", help="also HNSW and IVF indexes at 100,000 templates")
    args = parser.parse_args()
    sections = set(args.only.split(","))
    settings = load_settings(Path(tempfile.mkdtemp()), {"device": args.device, "threads": args.threads})
    faiss.omp_set_num_threads(args.threads)

    @functools.cache
    def engine() -> FaceEngine:
        made = FaceEngine.from_settings(settings, log=lambda s: print(s, file=sys.stderr))
        print(f"device {made.device}, {args.threads} threads; {', '.join(made.notes) or 'no notes'}")
        return made

    players = read_image(find_asset("sample_players", Path(".")))
    if "detect" in sections:
        bench_detection(engine(), cv2.resize(players, (640, 480), interpolation=cv2.INTER_AREA))
    if "embed" in sections:
        bench_embedding(engine(), players)
    if "extract" in sections:
        bench_extract(engine(), photo_folder(args.lfw, players, engine(), args.photos))
    if "search" in sections:
        rng = np.random.default_rng(1)
        faces = search_faces(args.lfw, args.faces, engine, rng)
        for size in (100_000,) if args.skip_million else (100_000, 1_000_000):
            bench_search(size, faces, rng, settings.threshold, args.alternatives and size == 100_000)


def search_faces(lfw: Path | None, cache: Path | None, engine, rng) -> Faces:
    """Real embeddings of the --lfw photos (people in sub-folders), or synthetic people without them."""
    if not (lfw and lfw.is_dir()):
        print("search: no --lfw folder; synthetic people stand in for the real ones")
        return synthetic_faces(rng)
    faces = real_faces(load_or_build(cache, [lfw], False, None, "central", engine))
    print(f"search: {check(faces, np.random.default_rng(0))}")
    return faces


if __name__ == "__main__":
    main()
