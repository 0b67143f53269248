"""YOLOv5-face decoding, letterbox mapping, a tiny ONNX model end to end, and refused signatures."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from faceattend_tui.vision.runtime import ModelError, RuntimeOptions, make_session
from faceattend_tui.vision.types import suppress_to_faces
from faceattend_tui.vision.yolov5face import Yolov5FaceDetector, check_signature, decode, round_size

ROWS = 25200


def row(cx, cy, w, h, obj, cls, landmarks=None) -> np.ndarray:
    """One output row; landmarks default to fixed points inside the box."""
    if landmarks is None:
        landmarks = [cx - 20, cy - 10, cx + 20, cy - 10, cx, cy + 5, cx - 15, cy + 25, cx + 15, cy + 25]
    return np.asarray([cx, cy, w, h, obj, *landmarks, cls], dtype=np.float32)


def table(*rows_: np.ndarray, total: int = ROWS) -> np.ndarray:
    """A (1, total, 16) output with the given rows first and all others empty."""
    out = np.zeros((1, total, 16), dtype=np.float32)
    for i, r in enumerate(rows_):
        out[0, i] = r
    return out


# Two faces in input pixels: A (strong, with a weaker duplicate), B; plus C below threshold.
FACE_A = row(200, 300, 100, 120, 0.9, 0.8)
DUP_A = row(204, 302, 100, 120, 0.7, 0.9)
FACE_B = row(450, 320, 60, 80, 0.95, 0.9)
WEAK_C = row(100, 100, 50, 50, 0.6, 0.5)


def expected(r: np.ndarray, scale: float, dx: float, dy: float):
    cx, cy, w, h = r[:4]
    box = np.array([(cx - w / 2 - dx) / scale, (cy - h / 2 - dy) / scale,
                    (cx + w / 2 - dx) / scale, (cy + h / 2 - dy) / scale], dtype=np.float32)
    marks = (r[5:15].reshape(5, 2) - np.array([dx, dy], dtype=np.float32)) / scale
    return box, float(r[4] * r[15]), marks


class FakeSession:
    def __init__(self, output: np.ndarray, input_shape=(1, 3, 640, 640), out_shape=(1, ROWS, 16)):
        self.output = output
        self.inputs = [SimpleNamespace(name="images", shape=list(input_shape))]
        self.outputs = [SimpleNamespace(name="output", shape=list(out_shape))]
        self.fed = None

    def get_inputs(self):
        return self.inputs

    def get_outputs(self):
        return self.outputs

    def run(self, names, feed):
        assert names == ["output"]
        self.fed = feed["images"]
        return [self.output]


def test_decode_scores_boxes_and_threshold():
    boxes, scores, marks = decode(table(FACE_A, WEAK_C, total=8), 0.5)
    assert boxes.shape == (1, 4) and marks.shape == (1, 5, 2)
    np.testing.assert_allclose(boxes[0], [150, 240, 250, 360])
    assert scores[0] == pytest.approx(0.72)
    np.testing.assert_allclose(marks[0], FACE_A[5:15].reshape(5, 2))
    # (N, 16) without the batch axis decodes the same way.
    flat, _, _ = decode(table(FACE_A, WEAK_C, total=8)[0], 0.5)
    np.testing.assert_array_equal(flat, boxes)


def test_decode_empty():
    boxes, scores, marks = decode(table(WEAK_C, total=4), 0.5)
    assert boxes.shape == (0, 4) and scores.shape == (0,) and marks.shape == (0, 5, 2)
    assert suppress_to_faces(boxes, scores, marks, 0.4, 1.0) == []


@pytest.mark.parametrize(
    ("height", "width", "scale", "dx", "dy"),
    [(480, 640, 1.0, 0, 80), (720, 1280, 0.5, 0, 140), (1280, 720, 0.5, 140, 0)],
)
def test_detect_maps_letterbox_back(height, width, scale, dx, dy):
    session = FakeSession(table(DUP_A, FACE_A, WEAK_C, FACE_B))
    detector = Yolov5FaceDetector(session, path="fake.onnx")
    faces = detector.detect(np.zeros((height, width, 3), dtype=np.uint8))
    assert len(faces) == 2  # duplicate of A suppressed, C under the threshold
    for face, r in zip(faces, (FACE_B, FACE_A), strict=True):  # highest score first
        box, score, marks = expected(r, scale, dx, dy)
        np.testing.assert_allclose(face.box, box, atol=1e-4)
        assert face.score == pytest.approx(score)
        assert face.landmarks.shape == (5, 2)
        np.testing.assert_allclose(face.landmarks, marks, atol=1e-4)
    # Face A: box (150, 240, 250, 360) in input pixels.
    np.testing.assert_allclose(faces[1].box, [(150 - dx) / scale, (240 - dy) / scale,
                                              (250 - dx) / scale, (360 - dy) / scale], atol=1e-4)


def test_detect_threshold_override_and_iou():
    session = FakeSession(table(DUP_A, FACE_A, WEAK_C, FACE_B))
    detector = Yolov5FaceDetector(session, path="fake.onnx", iou_threshold=0.99)
    faces = detector.detect(np.zeros((640, 640, 3), dtype=np.uint8), threshold=0.25)
    assert sorted(round(f.score, 3) for f in faces) == [0.3, 0.63, 0.72, 0.855]


def test_preprocessing_letterbox_rgb_and_scale():
    session = FakeSession(table(total=4))
    image = np.zeros((480, 640, 3), dtype=np.uint8)
    image[..., 0] = 255  # pure blue in BGR
    Yolov5FaceDetector(session).detect(image)
    blob = session.fed
    assert blob.shape == (1, 3, 640, 640) and blob.dtype == np.float32
    np.testing.assert_allclose(blob[0, :, 0, 0], 114 / 255)  # top padding
    np.testing.assert_allclose(blob[0, :, 320, 320], [0.0, 0.0, 1.0])  # RGB order


def test_dynamic_input_uses_rounded_size():
    session = FakeSession(table(total=4), input_shape=("batch", 3, "height", "width"))
    detector = Yolov5FaceDetector(session, size=500)
    assert detector.fixed_size is None
    detector.detect(np.zeros((300, 400, 3), dtype=np.uint8))
    assert session.fed.shape == (1, 3, 512, 512)
    detector.detect(np.zeros((300, 400, 3), dtype=np.uint8), size=320)
    assert session.fed.shape == (1, 3, 320, 320)
    assert round_size(640) == 640 and round_size(641) == 672 and round_size(1) == 32


def test_fixed_input_ignores_size():
    session = FakeSession(table(total=4), input_shape=(1, 3, 480, 640))
    Yolov5FaceDetector(session, size=320).detect(np.zeros((720, 1280, 3), dtype=np.uint8), size=256)
    assert session.fed.shape == (1, 3, 480, 640)


def build_model(path, output: np.ndarray, inputs: int = 1, half: bool = False) -> None:
    """Output = constant + 0 * mean(images), so it still runs through the input (`half`: an fp16 input)."""
    names = ["images", "extra"][:inputs]
    kind = TensorProto.FLOAT16 if half else TensorProto.FLOAT
    graph_inputs = [helper.make_tensor_value_info(n, kind, [1, 3, 640, 640]) for n in names]
    cast = [helper.make_node("Cast", ["images"], ["pixels"], to=TensorProto.FLOAT)]
    nodes = [
        *cast,
        helper.make_node("ReduceMean", ["pixels"], ["mean"], keepdims=0),
        helper.make_node("Mul", ["mean", "zero"], ["nothing"]),
        helper.make_node("Add", ["table", "nothing"], ["output"]),
    ]
    inits = [numpy_helper.from_array(np.zeros((), np.float32), "zero"),
             numpy_helper.from_array(output, "table")]
    graph = helper.make_graph(
        nodes, "yolov5face_stub", graph_inputs,
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, list(output.shape))], inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


@pytest.mark.parametrize("half", [False, True])
def test_onnx_model_end_to_end(tmp_path, half):
    path = tmp_path / "yolov5m-face.onnx"
    build_model(path, table(FACE_A, DUP_A, WEAK_C), half=half)  # a half-precision export, fed as such
    session = make_session(path, RuntimeOptions(device="cpu"))
    detector = Yolov5FaceDetector(session, path=str(path))
    assert detector.fixed_size == (640, 640)
    image = np.random.default_rng(0).integers(0, 255, (720, 1280, 3), dtype=np.uint8)
    faces = detector.detect(image)
    assert len(faces) == 1
    # Input box (150, 240, 250, 360), scale 0.5, 140 px of padding on top.
    np.testing.assert_allclose(faces[0].box, [300, 200, 500, 440], atol=1e-3)
    assert faces[0].score == pytest.approx(0.72)
    np.testing.assert_allclose(faces[0].landmarks[2], [400, 330], atol=1e-3)  # nose at (200, 305)


def test_onnx_wrong_output_width_refused(tmp_path):
    path = tmp_path / "not-a-face-model.onnx"
    build_model(path, np.zeros((1, 100, 15), np.float32))
    session = make_session(path, RuntimeOptions(device="cpu"))
    with pytest.raises(ModelError, match="not-a-face-model.onnx") as err:
        Yolov5FaceDetector(session, path=str(path))
    assert "(1, 100, 15)" in str(err.value) and "16" in str(err.value)


def test_onnx_two_inputs_refused(tmp_path):
    path = tmp_path / "two-inputs.onnx"
    build_model(path, table(total=8), inputs=2)
    session = make_session(path, RuntimeOptions(device="cpu"))
    with pytest.raises(ModelError, match=r"two-inputs\.onnx: 2 inputs"):
        Yolov5FaceDetector(session, path=str(path))


def arg(*shape):
    return SimpleNamespace(name="x", shape=list(shape))


@pytest.mark.parametrize(
    ("inputs", "outputs", "words"),
    [
        ([arg(1, 3, 640)], [arg(1, 10, 16)], "input shape (1, 3, 640)"),
        ([arg(1, 1, 640, 640)], [arg(1, 10, 16)], "input shape (1, 1, 640, 640)"),
        ([arg(1, 3, 640, 640)], [arg(1, 10, 16), arg(1, 10, 16)], "2 outputs"),
        ([arg(1, 3, 640, 640)], [arg(1, 10, 16, 1)], "output shape (1, 10, 16, 1)"),
        ([arg(1, 3, 640, 640)], [], "0 outputs"),
    ],
)
def test_check_signature_refuses(inputs, outputs, words):
    with pytest.raises(ModelError) as err:
        check_signature(inputs, outputs, "m.onnx")
    text = str(err.value)
    assert text.startswith("m.onnx: ") and words in text and "\n" not in text


def test_check_signature_accepts():
    check_signature([arg(1, 3, 640, 640)], [arg(1, 25200, 16)], "m.onnx")
    check_signature([arg("n", 3, "h", "w")], [arg("n", "rows", 16)], "m.onnx")
    check_signature([arg(1, 3, 640, 640)], [arg(25200, 16)], "m.onnx")
