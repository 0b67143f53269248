"""Static input shapes, forced on the CPU: after the warm-up no model meets a shape it has not run.

Every ONNX Runtime call is recorded (model file, input shape) by wrapping `InferenceSession.run`,
independently of the engine's own bookkeeping. A GPU pays about a second for each new shape; here
the shapes themselves are what is checked.
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import pytest

from faceattend_tui.config import load_settings
from faceattend_tui.gallery.extract import Extractor
from faceattend_tui.gallery.templates import load_gallery
from faceattend_tui.live.recognizer import LiveRecognizer
from faceattend_tui.vision.imageio import read_image
from faceattend_tui.vision.pipeline import FaceEngine
from faceattend_tui.vision.runtime import RuntimeOptions
from faceattend_tui.vision.sessions import fixed_model, graph_or_plain
from faceattend_tui.vision.shapes import ShapeSessions, bucket, run_padded


class ShapeRecorder:
    """Every model call as (model file, input shape), filed under the phase the test is in."""

    def __init__(self):
        self.phase = "warm-up"
        self.calls: dict[str, list[tuple[str, tuple]]] = defaultdict(list)

    def wrap(self, run):
        recorder = self

        def recorded(session, output_names, feeds, *args, **kwargs):
            shape = tuple(next(iter(feeds.values())).shape)
            recorder.calls[recorder.phase].append((Path(session._model_path).stem, shape))
            return run(session, output_names, feeds, *args, **kwargs)

        return recorded

    def shapes(self, phase: str) -> set[tuple[str, tuple]]:
        return set(self.calls[phase])

    def cold(self, phase: str = "use") -> set[tuple[str, tuple]]:
        """Shapes met in `phase` that no earlier phase ran."""
        seen = set().union(*(self.shapes(p) for p in self.calls if p != phase))
        return self.shapes(phase) - seen


@pytest.fixture
def recorder(monkeypatch):
    made = ShapeRecorder()
    monkeypatch.setattr(ort.InferenceSession, "run", made.wrap(ort.InferenceSession.run))
    return made


def static_settings(root: Path, **overrides):
    return load_settings(root, {"device": "cpu", "threads": 2, "static_shapes": "on", **overrides})


def static_engine(root: Path, **overrides) -> FaceEngine:
    return FaceEngine.from_settings(static_settings(root, **overrides), log=lambda _: None)


def face_crop(image: np.ndarray, face, scale: float = 1.3) -> np.ndarray:
    cx, cy = (face.box[:2] + face.box[2:]) / 2
    half = max(face.width, face.height) * scale / 2
    x1, y1 = int(max(cx - half, 0)), int(max(cy - half, 0))
    return image[y1 : int(cy + half), x1 : int(cx + half)]


def mosaic(portraits: list[np.ndarray], width: int = 640, height: int = 480, columns: int = 3) -> np.ndarray:
    """Portraits side by side on a grey frame, each scaled into its cell."""
    frame = np.full((height, width, 3), 96, np.uint8)
    if not portraits:
        return frame
    rows = -(-len(portraits) // columns)
    cell_w, cell_h = width // columns, height // rows
    for i, portrait in enumerate(portraits):
        scale = min(cell_w / portrait.shape[1], cell_h / portrait.shape[0]) * 0.9
        small = cv2.resize(portrait, (int(portrait.shape[1] * scale), int(portrait.shape[0] * scale)))
        y, x = (i // columns) * cell_h, (i % columns) * cell_w
        frame[y : y + small.shape[0], x : x + small.shape[1]] = small
    return frame


@pytest.fixture(scope="module")
def portraits(engine, sample_photo) -> list[np.ndarray]:
    """Seven different faces: six from the players photo and Yao Ming."""
    players = read_image(sample_photo("players.jpg"))
    big = [f for f in engine.detect(players) if f.width >= 40][:6]
    return [face_crop(players, f) for f in big] + [read_image(sample_photo("yaoming.jpg"))]


def changing_scene(portraits: list[np.ndarray]) -> list[np.ndarray]:
    """0 -> 6 -> 1 -> 4 faces, then a cut back to 6 and 2: the number of faces to embed keeps changing."""
    counts = [(0, 4), (6, 8), (1, 6), (4, 8), (6, 5), (2, 5)]
    frames = []
    for count, length in counts:
        people = portraits[-1:] if count == 1 else portraits[:count]
        frames += [mosaic(people, columns=3 if count > 4 else 2)] * length
    return frames


def enrolled(engine: FaceEngine, root: Path, portraits: list[np.ndarray]):
    images = root / "database_image"
    images.mkdir(parents=True)
    for i, portrait in enumerate(portraits[:3] + portraits[-1:]):
        cv2.imwrite(str(images / f"person{i}.jpg"), portrait)
    Extractor(engine, images, root / "database_tensor").run()
    return load_gallery(root / "database_tensor", engine.recognizer.sha256, engine.embedder.dim)[0]


@pytest.mark.slow
@pytest.mark.parametrize("liveness", ["off", "blink"])
def test_live_scene_with_changing_faces_meets_no_new_shape_after_warm_up(recorder, portraits, tmp_path, liveness):
    settings = static_settings(tmp_path, liveness=liveness, max_embeds_per_frame=6)
    engine = FaceEngine.from_settings(settings, log=lambda _: None)
    gallery = enrolled(engine, tmp_path, portraits)
    recorder.phase = "warm-up"
    engine.warm_up_frames()
    recorder.phase = "use"
    live = LiveRecognizer(engine, gallery, settings)
    detected = []
    for i, frame in enumerate(changing_scene(portraits)):
        live.process(frame, now=i / 15)
        detected.append(len(live.last_faces))
    assert {0, 1, 4, 6} <= set(detected)  # the scene really changed
    embed_batches = {shape[0] for model, shape in recorder.shapes("use") if model == "w600k_mbf"}
    assert len(embed_batches) >= 2  # several padded batch sizes were used...
    assert recorder.cold() == set()  # ...and every shape had been run at the warm-up
    assert engine.take_late_shapes() == []
    if liveness == "blink":
        assert any(model == "2d106det" for model, _ in recorder.shapes("use"))


@pytest.mark.slow
def test_extraction_of_photos_with_zero_to_five_faces_meets_no_new_shape(recorder, portraits, tmp_path):
    engine = static_engine(tmp_path)
    images = tmp_path / "database_image"
    images.mkdir()
    sizes = [(250, 250), (640, 480), (1200, 900)]
    for count in range(6):
        for width, height in sizes:
            photo = mosaic(portraits[:count] if count != 1 else portraits[-1:], width, height)
            cv2.imwrite(str(images / f"p{count}_{width}.jpg"), photo)
    engine.warm_up_frames()  # as in a station: anything not prepared now or declared for photos is late
    recorder.phase = "use"
    report = Extractor(engine, images, tmp_path / "database_tensor").run()
    side_by_side = sum("faces of about the same size" in line for line in report.skipped)  # embedded, then left out
    assert report.extracted + side_by_side >= 10 and any("no usable face" in line for line in report.skipped)
    declared = {(model.session.label, shape) for model, shapes in engine._photo_plan() for shape in shapes}
    assert recorder.shapes("use") - recorder.shapes("warm-up") <= declared
    assert engine.take_late_shapes() == []
    assert {shape[2] for model, shape in recorder.shapes("use") if model == "scrfd_500m_bnkps"} >= {320, 640}


def test_small_photos_prepare_only_the_shapes_they_need(recorder, portraits, tmp_path):
    """A GPU takes seconds to prepare each shape: a job of small photos does not prepare the large canvases."""
    engine = static_engine(tmp_path)
    images = tmp_path / "database_image"
    images.mkdir()
    for i, portrait in enumerate(portraits[:3]):
        cv2.imwrite(str(images / f"p{i}.jpg"), mosaic([portrait], 250, 250, columns=1))
    recorder.phase = "use"
    report = Extractor(engine, images, tmp_path / "database_tensor").run()
    assert report.extracted == 3
    canvases = {shape[2] for model, shape in recorder.shapes("use") if model == "scrfd_500m_bnkps"}
    assert canvases == {320}
    prepared = len(recorder.shapes("use"))  # this engine was never warmed: every shape is the job's own
    assert f"fixed input shapes: {prepared} prepared as these photos needed them" in " ".join(report.notes)


def test_static_shapes_give_the_same_faces_and_embeddings_as_the_dynamic_ones(engine, portraits, tmp_path):
    static = static_engine(tmp_path)
    frame = mosaic(portraits[:6])
    dynamic_faces, static_faces = engine.detect(frame), static.detect(frame)
    assert len(dynamic_faces) == len(static_faces) == 6
    boxes = np.array([f.box for f in dynamic_faces]), np.array([f.box for f in static_faces])
    assert np.abs(boxes[0] - boxes[1]).max() < 1.0  # pixels
    cosines = np.sum(engine.embed(frame, dynamic_faces) * static.embed(frame, dynamic_faces), axis=1)
    assert cosines.min() > 0.999
    searched = static.search_many([frame, portraits[-1]])
    assert [len(s.faces) for s in searched] == [len(engine.search_faces(frame).faces), 1]


def test_auto_keeps_the_cpu_dynamic_and_a_call_goes_straight_to_the_one_session(engine, tmp_path):
    auto = FaceEngine.from_settings(load_settings(tmp_path, {"device": "cpu"}), log=lambda _: None)
    assert not auto.static and auto.warm_up_frames().shapes == 0
    sessions = auto.embedder.session
    assert isinstance(sessions, ShapeSessions) and sessions.by_shape == {}


def test_padding_to_buckets_keeps_one_output_row_per_input_row():
    seen = []

    def run(blob):
        seen.append(len(blob))
        return blob[:, :1] * 2

    rows = np.arange(70, dtype=np.float32)[:, None].repeat(3, axis=1)
    out = run_padded(run, rows, (1, 4, 16, 64))
    assert seen == [64, 16] and out.shape == (70, 1)
    assert np.array_equal(out[:, 0], rows[:, 0] * 2)
    assert [bucket(n, (1, 4, 16)) for n in (1, 2, 5, 16, 40)] == [1, 4, 16, 16, 16]


def test_a_model_that_cannot_be_replayed_as_a_cuda_graph_runs_plainly_with_a_note(models_dir):
    options = RuntimeOptions(device="cpu")
    path = models_dir / "w600k_mbf.onnx"
    session = graph_or_plain(path, options, (4, 3, 112, 112))
    out = session.run(None, {session.get_inputs()[0].name: np.zeros((4, 3, 112, 112), np.float32)})[0]
    assert out.shape == (4, 512)
    assert any("no CUDA graph" in note and "w600k_mbf.onnx" in note for note in options.notes)


def test_a_fixed_shape_copy_of_a_model_gives_the_same_outputs_at_any_batch(models_dir):
    path = models_dir / "w600k_mbf.onnx"  # declares its output as (1, 512)
    crops = np.random.default_rng(0).random((4, 3, 112, 112), dtype=np.float32)
    plain = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    fixed = ort.InferenceSession(fixed_model(path, crops.shape), providers=["CPUExecutionProvider"])
    assert fixed.get_inputs()[0].shape == [4, 3, 112, 112]
    assert fixed.get_outputs()[0].shape in ([4, 512], ["516_0", "516_1"])
    expected = plain.run(None, {plain.get_inputs()[0].name: crops})[0]
    assert np.allclose(fixed.run(None, {fixed.get_inputs()[0].name: crops})[0], expected, atol=1e-4)


def test_a_half_precision_model_is_warmed_with_half_precision_zeros(tmp_path):
    """A float16 export, common for GPUs, where static shapes are on by default."""
    from onnx import TensorProto, helper, save

    nodes = [helper.make_node("GlobalAveragePool", ["x"], ["p"]), helper.make_node("Flatten", ["p"], ["y"])]
    half = TensorProto.FLOAT16
    graph = helper.make_graph(nodes, "half", [helper.make_tensor_value_info("x", half, ["N", 3, 112, 112])],
                              [helper.make_tensor_value_info("y", half, ["N", 3])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    save(model, tmp_path / "half.onnx")
    session = ort.InferenceSession(str(tmp_path / "half.onnx"), providers=["CPUExecutionProvider"])
    shaped = ShapeSessions(session, lambda shape: session, static=True, label="recogniser")
    assert [shape for _, shape, _ in shaped.warm([(2, 3, 112, 112)])] == [(2, 3, 112, 112)]


def test_a_detector_exported_at_a_fixed_size_is_prepared_at_that_size_whatever_det_size(models_dir, tmp_path):
    """InsightFace's "_shape640x640" exports: a det_size of 320 or 960 must not reach the model."""
    from faceattend_tui.vision.pipeline import load_detector

    fixed = tmp_path / "scrfd_640.onnx"
    fixed.write_bytes(fixed_model(models_dir / "scrfd_500m_bnkps.onnx", (1, 3, 640, 640)))
    for size in (320, 960):
        detector = load_detector(fixed, RuntimeOptions(device="cpu"), size=size, static_shapes="on")
        assert detector.frame_shapes() == [(1, 3, 640, 640)]
        assert detector.detect(np.zeros((480, 640, 3), np.uint8)) == []


def test_a_recogniser_that_gives_everyone_one_face_is_refused_with_static_shapes_too(models_dir, tmp_path):
    from onnx import helper, load, numpy_helper, save

    from faceattend_tui.vision.models import ModelError

    model = load(str(models_dir / "w600k_mbf.onnx"))  # its input multiplied by 0: one output for every face
    first = model.graph.node[0]
    zero = numpy_helper.from_array(np.zeros((1,), np.float32), "qa_zero")
    model.graph.initializer.append(zero)
    name = model.graph.input[0].name
    model.graph.node.insert(0, helper.make_node("Mul", [name, "qa_zero"], ["qa_blank"]))
    first.input[list(first.input).index(name)] = "qa_blank"
    (tmp_path / "models").mkdir()
    save(model, tmp_path / "models" / "blank.onnx")
    with pytest.raises(ModelError, match="blank.onnx: the recogniser gives the same output for different pictures"):
        static_engine(tmp_path, recognizer="blank.onnx")


def test_a_half_precision_detector_finds_faces_with_static_shapes_as_without(models_dir, portraits, tmp_path):
    """An fp16 export (its input cast inside): fed half precision, in the warm-up and on every frame."""
    from onnx import TensorProto, helper, load, save

    from faceattend_tui.vision.pipeline import load_detector

    model = load(str(models_dir / "scrfd_500m_bnkps.onnx"))
    weights = {w.name for w in model.graph.initializer}
    given = next(i for i in model.graph.input if i.name not in weights)
    inner, given.name = given.name, "x16"
    given.type.tensor_type.elem_type = TensorProto.FLOAT16
    model.graph.node.insert(0, helper.make_node("Cast", ["x16"], [inner], to=TensorProto.FLOAT))
    save(model, tmp_path / "det16.onnx")
    frame = mosaic(portraits[:2])
    plain = load_detector(models_dir / "scrfd_500m_bnkps.onnx", RuntimeOptions(device="cpu")).detect(frame)
    for static in ("off", "on"):
        half = load_detector(tmp_path / "det16.onnx", RuntimeOptions(device="cpu"), static_shapes=static)
        if static == "on":
            half.session.warm(half.frame_shapes())
        found = half.detect(frame)
        assert len(found) == len(plain) == 2
        assert np.abs(np.stack([f.box for f in found]) - np.stack([f.box for f in plain])).max() < 2


def test_a_recogniser_that_ran_and_fails_once_is_a_crash_to_restart_not_a_model_to_refuse(engine):
    """A GPU out of memory for a moment: the worker starts again, as after any crash."""
    from faceattend_tui.vision.embedder import ArcFaceEmbedder
    from faceattend_tui.vision.runtime import ModelError

    class OnceOutOfMemory:
        def __init__(self, real):
            self.real, self.runs = real, 0

        def __getattr__(self, name):
            return getattr(self.real, name)

        def run(self, names, feeds):
            self.runs += 1
            if self.runs == 2:
                raise RuntimeError("Failed to allocate memory for requested buffer")
            return self.real.run(names, feeds)

    crop = [np.zeros((112, 112, 3), np.uint8)]
    fresh = ArcFaceEmbedder(OnceOutOfMemory(engine.embedder.session), "w600k_mbf.onnx")
    fresh.session.runs = 1  # its first run fails: a model that cannot run at all
    with pytest.raises(ModelError):
        fresh.embed(crop)
    used = ArcFaceEmbedder(OnceOutOfMemory(engine.embedder.session), "w600k_mbf.onnx")
    used.embed(crop)
    with pytest.raises(RuntimeError, match="the recogniser failed on a face") as failed:
        used.embed(crop)
    assert not isinstance(failed.value, ModelError)


def test_the_runtimes_notes_added_after_the_engine_is_made_are_the_engines(engine):
    """A CUDA graph that cannot be captured is said as the warm-up meets it, after the engine is made."""
    notes: list[str] = []
    made = FaceEngine(engine.detector, engine.embedder, notes=notes)
    notes.append("w600k_mbf.onnx: no CUDA graph for (4, 3, 112, 112) (...); running it plainly")
    assert made.notes == notes


def test_a_model_file_replaced_under_its_name_is_read_again(models_dir, tmp_path):
    from faceattend_tui.vision import sessions

    path = tmp_path / "rec.onnx"
    shutil.copy(models_dir / "w600k_mbf.onnx", path)
    before = sessions._parsed_model(str(path))
    shutil.copy(models_dir / "scrfd_500m_bnkps.onnx", path)  # another model, same name
    assert len(sessions._parsed_model(str(path)).graph.output) != len(before.graph.output)
