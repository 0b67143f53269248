"""Memory of an extraction of large phone photos: peak resident memory and photos per second.

    python benchmarks/bench_extract_memory.py --lfw DIR [--photos 96] [--megapixels 12] [--runs 3]

Makes --photos JPEGs of about --megapixels each (LFW faces enlarged onto a phone-sized picture),
then extracts them in a fresh process per run, once with the loading bounded by decoded size (as
the extractor does) and once bounded by count only (the reference: as many photos ahead as
before), and prints the medians: how much the process grew during the extraction and the rate.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from faceattend_tui.vision.imageio import is_image_name, read_image


def make_photos(lfw: Path, count: int, megapixels: float, folder: Path) -> None:
    """Phone-sized photos (4:3) with an enlarged LFW face in the middle, one person folder each."""
    width = int((megapixels * 1e6 * 4 / 3) ** 0.5)
    height = width * 3 // 4
    sources = sorted(p for p in lfw.rglob("*") if is_image_name(p))[:count]
    rng = np.random.default_rng(0)
    for i, source in enumerate(sources):
        face = cv2.resize(read_image(source), (height * 2 // 3, height * 2 // 3), interpolation=cv2.INTER_CUBIC)
        canvas = rng.integers(60, 200, (height, width, 3), dtype=np.uint8)  # noise: a realistic file size
        y, x = (height - face.shape[0]) // 2, (width - face.shape[1]) // 2
        canvas[y : y + face.shape[0], x : x + face.shape[1]] = face
        person = folder / f"person{i:04d}"
        person.mkdir(parents=True)
        cv2.imwrite(str(person / "photo.jpg"), canvas, [cv2.IMWRITE_JPEG_QUALITY, 90])


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child(images: Path, bounded: bool, device: str) -> None:
    from faceattend_tui.config import load_settings
    from faceattend_tui.gallery import extract
    from faceattend_tui.vision.pipeline import FaceEngine

    if not bounded:  # the reference: photos ahead bounded by count only
        extract.AHEAD_BYTES = extract.CHUNK_BYTES = 1 << 62
    settings = load_settings(Path(tempfile.mkdtemp()), {"device": device})
    engine = FaceEngine.from_settings(settings)
    before = rss_mib()
    tensors = Path(tempfile.mkdtemp()) / "database_tensor"
    start = time.perf_counter()
    report = extract.Extractor(engine, images, tensors).run()
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"grew_mib": peak - before, "rate": report.images / seconds, "extracted": report.extracted}))


def run_child(images: Path, bounded: bool, device: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", str(images), "--device", device]
                         + ([] if bounded else ["--reference"]), check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lfw", type=Path)
    parser.add_argument("--photos", type=int, default=96)
    parser.add_argument("--megapixels", type=float, default=12.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--reference", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, not args.reference, args.device)
        return
    folder = Path(tempfile.mkdtemp(prefix="fa-bench-big-"))
    try:
        make_photos(args.lfw, args.photos, args.megapixels, folder)
        size = sum(p.stat().st_size for p in folder.rglob("*.jpg")) / args.photos / 2**20
        print(f"{args.photos} photos of {args.megapixels:g} MP ({size:.1f} MiB each), {args.runs} runs, medians")
        results: dict[str, list[dict]] = {"bounded by size": [], "reference (by count)": []}
        for _ in range(args.runs):  # alternated, so both meet the same machine
            results["bounded by size"].append(run_child(folder, True, args.device))
            results["reference (by count)"].append(run_child(folder, False, args.device))
        for name, runs in results.items():
            grew = statistics.median(r["grew_mib"] for r in runs)
            rate = statistics.median(r["rate"] for r in runs)
            print(f"{name:22s} grew {grew:7.0f} MiB   {rate:5.2f} photos/s   extracted {runs[0]['extracted']}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
