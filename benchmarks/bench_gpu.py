"""The GPU path: the raw ceiling, the warm-up, a real scene whose number of faces changes, extraction.

    python benchmarks/footage_scene.py --out scene.avi        # once, from ../shared/data/footage
    python benchmarks/bench_gpu.py --device cuda --scene scene.avi --lfw ../shared/data/lfw-view1-devtest/images
        [--photos 300] [--dynamic-seconds 40] [--json results.json]

Rows, each beside its target and, where one exists, its share of the raw ceiling measured in the same
run (plain ONNX Runtime sessions at one fixed shape, nothing else):
- ceiling: the detector and the recogniser alone, at the shapes the station uses and in big batches;
  with --graphs also through CUDA graphs, as the station runs them with static shapes on CUDA;
- warm-up: what the station pays at start with static shapes (and what extraction pays);
- live: every frame of the scene through the recogniser (detect, track, embed, vote), with static
  shapes, with liveness too, without CUDA graphs, and with static shapes off for at most
  --dynamic-seconds;
- extract: --photos photos of the LFW folder (people in sub-folders) by `Extractor` against the naive
  loop (one photo at a time: read, detect at 640, embed the face and its mirror image), and with every
  model call answered from a cache: the ceiling the code around the models sets (reading, decoding,
  batching, alignment, writing), which no GPU can lift;
It also runs on the CPU (`--device cpu`), where static shapes are forced on to compare.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
import traceback
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
from bench_engine import median_ms

from faceattend_tui.config import load_settings
from faceattend_tui.gallery.extract import Extractor
from faceattend_tui.gallery.matcher import Gallery
from faceattend_tui.gallery.templates import TEMPLATE_FLIP
from faceattend_tui.live.recognizer import LiveRecognizer
from faceattend_tui.vision.imageio import is_image_name, read_image
from faceattend_tui.vision.models import resolve_model
from faceattend_tui.vision.pipeline import FaceEngine, largest
from faceattend_tui.vision.runtime import RuntimeOptions, make_session, nvidia_gpus
from faceattend_tui.vision.sessions import checked_graph

FPS = 25.0
RESULTS: dict = {}


def say(text: str) -> None:
    print(text, flush=True)


def record(section: str, **values) -> None:
    RESULTS.setdefault(section, {}).update(values)


# --- the raw ceiling ----------------------------------------------------------------------------


def raw_rate(session, shape: tuple[int, ...]) -> tuple[float, float, float]:
    """(first run ms, median ms, items per second) of one session at one input shape."""
    feed = {session.get_inputs()[0].name: np.random.default_rng(0).random(shape, dtype=np.float32)}
    start = time.perf_counter()
    session.run(None, feed)
    first = (time.perf_counter() - start) * 1e3
    ms = median_ms(lambda: session.run(None, feed))
    return first, ms, shape[0] * 1e3 / ms


def ceiling(settings, options: RuntimeOptions) -> None:
    say("ceiling: plain ONNX Runtime sessions, one fixed shape each (first run: the cost of a new shape)")
    rows = [("detector", settings.detector, [(1, 3, 384, 640), (1, 3, 640, 640), (32, 3, 640, 640),
                                             (16, 3, 320, 320)]),
            ("recognizer", settings.recognizer, [(1, 3, 112, 112), (4, 3, 112, 112), (64, 3, 112, 112)])]
    for role, name, shapes in rows:
        path = resolve_model(name, settings.data, say)
        for shape in shapes:
            session = make_session(path, options)  # a fresh session per shape: each first run is a cold one
            first, ms, rate = raw_rate(session, shape)
            unit = "frames/s" if role == "detector" else "faces/s"
            say(f"  {role:10s} {'x'.join(map(str, shape)):16s} first run {first:7.0f} ms, then {ms:7.2f} ms "
                f"= {rate:8.0f} {unit}")
            record("ceiling", **{f"{role} {'x'.join(map(str, shape))}": {"first_ms": first, "ms": ms, "rate": rate}})


def graphs(settings) -> None:
    say("CUDA graphs as the station runs them with static shapes (input copied in, outputs copied out each run)")
    for name, shape in ((settings.detector, (1, 3, 640, 640)), (settings.recognizer, (4, 3, 112, 112)),
                        (settings.recognizer, (64, 3, 112, 112))):
        path = resolve_model(name, settings.data, say)
        try:
            graph = checked_graph(path, RuntimeOptions(device="cuda"), shape)
        except Exception as exc:  # noqa: BLE001 - a measurement that cannot run is reported, not fatal
            say(f"  {name} {'x'.join(map(str, shape))}: no graph ({str(exc).splitlines()[0][:160]})")
            continue
        feed = {graph.input_name: np.random.default_rng(0).random(shape, dtype=np.float32)}
        ms = median_ms(lambda graph=graph, feed=feed: graph.run(None, feed))
        say(f"  {name:18s} {'x'.join(map(str, shape)):16s} {ms:7.2f} ms = {shape[0] * 1e3 / ms:8.0f} per second")
        record("graphs", **{f"{name} {'x'.join(map(str, shape))}": ms})


# --- warm-up and the live scene -----------------------------------------------------------------


def make_engine(data: Path, device: str, static: str, graphs: bool = True, **more) -> tuple[FaceEngine, object]:
    settings = load_settings(data, {"device": device, "static_shapes": static, **more})
    engine = FaceEngine.from_settings(settings, log=lambda s: print(s, file=sys.stderr), cuda_graphs=graphs)
    return engine, settings


def read_scene(path: Path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    if not frames:
        raise SystemExit(f"{path}: no frames (make it with benchmarks/footage_scene.py)")
    return frames


def scene_gallery(engine: FaceEngine, frames: list[np.ndarray]) -> Gallery:
    """The people of the scene enrolled from its own frames: the single people and the four in a grid."""
    people = {}
    for index in (70, 220, 115):
        frame = frames[min(index, len(frames) - 1)]
        faces = sorted(engine.search_faces(frame).faces, key=lambda f: (f.box[1] // 60, f.box[0]))
        for j, face in enumerate(faces):
            people[f"frame{index}-{j}"] = engine.embed(frame, [face], flip=TEMPLATE_FLIP)
    return Gallery.from_people(people, engine.embedder.dim)


def live_scene(label: str, engine: FaceEngine, settings, frames, gallery, budget_s: float | None = None) -> dict:
    live = LiveRecognizer(engine, gallery, settings)
    times, events = [], []
    started = time.perf_counter()
    for i, frame in enumerate(frames):
        begin = time.perf_counter()
        events += live.process(frame, now=i / FPS)
        times.append((time.perf_counter() - begin) * 1e3)
        if budget_s and time.perf_counter() - started > budget_s:
            break
    stats, _ = live.take_stats(0.0, 0)
    late = engine.take_late_shapes()
    slowest = sorted(range(len(times)), key=times.__getitem__)[-3:][::-1]
    row = {"frames": len(times), "fps": len(times) * 1e3 / sum(times), "median_ms": statistics.median(times),
           "p95_ms": float(np.percentile(times, 95)), "max_ms": max(times), "over_50ms": sum(t > 50 for t in times),
           "checkins": sum(e.type == "checkin" for e in events), "late_shapes": late,
           "detect_ms": stats.detect_ms, "embed_ms": stats.embed_ms, "liveness_ms": stats.liveness_ms,
           "slowest": [(i, round(times[i], 1)) for i in slowest]}
    cut = "" if len(times) == len(frames) else f" (stopped after {budget_s:g} s)"
    say(f"  {label:34s} {row['fps']:7.1f} fps  median {row['median_ms']:6.2f} ms  p95 {row['p95_ms']:7.2f} ms  "
        f"max {row['max_ms']:7.1f} ms  frames > 50 ms: {row['over_50ms']:3d}  {row['frames']} frames{cut}; "
        f"{row['checkins']} check-ins; detect {stats.detect_ms:.2f} ms, embed {stats.embed_ms:.2f} ms, "
        f"liveness {stats.liveness_ms:.2f} ms per frame; new shapes after warm-up: {len(late)}; slowest frames "
        f"(index, ms): {row['slowest']}")
    record("live", **{label: row})
    return row


def warm_and_live(args, data: Path, frames: list[np.ndarray]) -> None:
    static = "on"
    start = time.perf_counter()
    engine, settings = make_engine(data, args.device, static)
    built = time.perf_counter() - start
    frames_warm = engine.warm_up_frames()
    photos_warm = engine.warm_up_photos()
    say(f"warm-up on {engine.device}: sessions built in {built:.1f} s; station: {frames_warm.describe()}; "
        f"extraction: {photos_warm.describe()}")
    say(f"  each shape (model, shape, seconds): {list(frames_warm.each + photos_warm.each)}")
    record("warm-up", sessions_s=built, station_s=frames_warm.seconds, station_shapes=frames_warm.shapes,
           extraction_s=photos_warm.seconds, extraction_shapes=photos_warm.shapes,
           each=frames_warm.each + photos_warm.each)
    gallery = scene_gallery(engine, frames)
    engine.take_late_shapes()  # enrolling the scene's people is not part of the live run
    ceiling_fps = RESULTS.get("ceiling", {}).get("detector 1x3x640x640", {}).get("rate")
    say(f"live: {len(frames)} frames of {frames[0].shape[1]}x{frames[0].shape[0]}, {len(gallery.names)} people "
        f"enrolled; target >= 200 fps on an H200-class GPU, no frame over 50 ms after the warm-up")
    row = live_scene("static shapes on", engine, settings, frames, gallery)
    for note in engine.notes:
        say(f"  note: {note}")
    if ceiling_fps:
        say(f"  {'':34s} {row['fps'] / ceiling_fps:7.2f} of the detector's ceiling ({ceiling_fps:.0f} frames/s "
            "at 1x3x640x640, detection alone)")
    blink, blink_settings = make_engine(data, args.device, static, liveness="blink")
    warm = blink.warm_up_frames()
    say(f"  (liveness blink: {warm.describe()})")
    live_scene("static shapes on, liveness blink", blink, blink_settings, frames, gallery)
    del blink
    cv2.setNumThreads(1)
    live_scene("static shapes on, OpenCV on 1 thread", engine, settings, frames, gallery)
    cv2.setNumThreads(-1)
    if args.device == "cuda":
        plain, plain_settings = make_engine(data, args.device, static, graphs=False)
        plain.warm_up_frames()
        live_scene("static shapes on, no CUDA graphs", plain, plain_settings, frames, gallery)
        del plain
    dynamic, dynamic_settings = make_engine(data, args.device, "off")
    live_scene("static shapes off", dynamic, dynamic_settings, frames, gallery, args.dynamic_seconds)
    RESULTS["_engine"] = engine


# --- extraction ---------------------------------------------------------------------------------


def copy_photos(lfw: Path, count: int, into: Path) -> list[Path]:
    photos = sorted(p for p in lfw.rglob("*") if is_image_name(p))[:count]
    for photo in photos:
        target = into / photo.relative_to(lfw)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(photo, target)
    return photos


def naive_loop(engine: FaceEngine, photos: list[Path], out: Path) -> float:
    """Photos per second, one at a time: read, detect at 640, embed the face and its mirror, save."""
    out.mkdir(parents=True, exist_ok=True)

    def one(photo: Path) -> None:
        image = read_image(photo)
        face = largest(engine.detect(image))
        if face is not None:
            np.save(out / f"{photo.stem}.npy", engine.embed(image, [face], flip=TEMPLATE_FLIP))

    one(photos[0])  # its first shapes are not counted against it
    start = time.perf_counter()
    for photo in photos:
        one(photo)
    return len(photos) / (time.perf_counter() - start)


def extract_rate(engine: FaceEngine, lfw: Path, count: int, one_thread: bool = False) -> tuple[float, float, int, int]:
    """Photos per second of `Extractor` (OpenCV on one thread if asked), the calling thread's CPU time per
    photo in ms (what one core must do whatever the number of loading threads), people, photos skipped."""
    root = Path(tempfile.mkdtemp(prefix="fa-bench-gpu-"))
    photos = copy_photos(lfw, count, root / "database_image")
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1 if one_thread else threads)
    start, cpu = time.perf_counter(), time.thread_time()
    report = Extractor(engine, root / "database_image", root / "database_tensor").run()
    rate = len(photos) / (time.perf_counter() - start)
    main_ms = (time.thread_time() - cpu) * 1e3 / len(photos)
    cv2.setNumThreads(threads)
    shutil.rmtree(root)
    return rate, main_ms, report.people, len(report.skipped)


class Replay:
    """A session that answers each input shape with its first real answer, at no cost: what the code
    around the models allows (the host's ceiling) once the models themselves take no time."""

    def __init__(self, session) -> None:
        self.session = session
        self.answers: dict[tuple, list[np.ndarray]] = {}

    def __getattr__(self, name: str):
        return getattr(self.session, name)

    def run(self, output_names, feeds):
        shape = tuple(next(iter(feeds.values())).shape)
        if shape not in self.answers:
            self.answers[shape] = self.session.run(output_names, feeds)
        return [answer.copy() for answer in self.answers[shape]]


def host_ceiling(data: Path, device: str, lfw: Path, count: int) -> FaceEngine:
    """An engine whose photo shapes are replayed instead of run, each answer recorded by one extraction."""
    engine = make_engine(data, device, "on")[0]
    engine.warm_up_photos()
    for sessions in engine._shaped():
        sessions.by_shape = {shape: Replay(session) for shape, session in sessions.by_shape.items()}
    extract_rate(engine, lfw, count)
    return engine


def extraction(args, data: Path) -> None:
    engine = RESULTS.get("_engine") or make_engine(data, args.device, "on")[0]
    engine.warm_up_photos()  # done in the warm-up row when the live rows ran first
    root = Path(tempfile.mkdtemp(prefix="fa-bench-gpu-naive-"))
    photos = copy_photos(args.lfw, args.photos, root / "photos")
    naive = naive_loop(make_engine(data, args.device, "off")[0], photos, root / "naive")
    rec_ceiling = RESULTS.get("ceiling", {}).get("recognizer 64x3x112x112", {}).get("rate")
    say(f"extract {len(photos)} photos: naive loop {naive:6.0f} photos/s; target >= 5x the naive loop and "
        ">= 1,000 photos/s on an H200-class GPU")
    variants = [("static shapes", engine, False), ("static shapes, OpenCV on 1 thread", engine, True),
                ("host ceiling (models replayed)", host_ceiling(data, args.device, args.lfw, args.photos), False)]
    if args.device == "cuda":
        plain = make_engine(data, args.device, "on", graphs=False)[0]
        plain.warm_up_photos()
        variants.append(("static shapes, no CUDA graphs", plain, False))
    for label, chosen, one_thread in variants:
        ours, main_ms, people, skipped = extract_rate(chosen, args.lfw, args.photos, one_thread)
        share = f"; {ours * 2 / rec_ceiling:.2f} of the recogniser's ceiling (2 crops a photo)" if rec_ceiling else ""
        say(f"  {label:36s} {ours:7.0f} photos/s  x{ours / naive:4.1f} the naive loop{share}; main thread "
            f"{main_ms:.2f} ms CPU a photo ({people} people, {skipped} skipped)")
        record("extract", **{label: {"ours": ours, "naive": naive, "ratio": ours / naive, "main_ms": main_ms}})
    record("extract", late_shapes=engine.take_late_shapes())
    shutil.rmtree(root)


def main() -> None:
    ort.set_default_logger_severity(3)  # the CUDA provider's own warnings stay off the results
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--scene", type=Path, default=Path("scene.avi"))
    parser.add_argument("--lfw", type=Path, default=Path("../shared/data/lfw-view1-devtest/images"))
    parser.add_argument("--photos", type=int, default=300)
    parser.add_argument("--dynamic-seconds", type=float, default=40.0)
    parser.add_argument("--graphs", action="store_true", help="also measure the models alone through CUDA graphs")
    parser.add_argument("--only", default="ceiling,live,extract")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    sections = set(args.only.split(","))
    data = Path(tempfile.mkdtemp(prefix="fa-bench-gpu-data-"))
    options = RuntimeOptions(device=args.device)
    say(f"onnxruntime {ort.__version__}, device {args.device}; GPUs: {'; '.join(nvidia_gpus()) or 'none found'}")
    record("host", onnxruntime=ort.__version__, device=args.device, gpus=nvidia_gpus())
    settings = load_settings(data, {"device": args.device})
    steps = [("ceiling", lambda: ceiling(settings, options)),
             ("graphs", lambda: graphs(settings) if args.graphs else None),
             ("live", lambda: warm_and_live(args, data, read_scene(args.scene))),
             ("extract", lambda: extraction(args, data))]
    for name, step in steps:
        if name in sections or (name == "graphs" and "ceiling" in sections):
            try:
                step()
            except Exception:  # noqa: BLE001 - the other sections still run and report
                say(f"{name}: FAILED\n{traceback.format_exc()}")
    RESULTS.pop("_engine", None)
    if args.json:
        args.json.write_text(json.dumps(RESULTS, indent=1, default=str))


if __name__ == "__main__":
    main()
