"""The 106-point landmark model: pure crop/decode geometry, refusing wrong models, real photos."""

from __future__ import annotations

import cv2
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from faceattend_tui.live.liveness import eye_openness
from faceattend_tui.vision import landmarks106
from faceattend_tui.vision.imageio import read_image
from faceattend_tui.vision.landmarks106 import INPUT_SIZE, Landmarks106, crop_matrix, decode, invert_affine
from faceattend_tui.vision.layout106 import FACE_QUAD, LEFT_EYE, RIGHT_EYE, RIGID, five_points
from faceattend_tui.vision.models import ASSETS, DEFAULT_LANDMARKS, find_asset, sha256_file
from faceattend_tui.vision.pipeline import largest
from faceattend_tui.vision.runtime import ModelError, RuntimeOptions, make_session
from faceattend_tui.vision.types import Face

CPU = RuntimeOptions(device="cpu", threads=2)


def face(box, eyes=((40.0, 50.0), (80.0, 50.0))) -> Face:
    landmarks = np.array([*eyes, (60, 70), (45, 90), (75, 90)], dtype=np.float32)
    return Face(np.asarray(box, dtype=np.float32), 0.9, landmarks)


def to_crop_units(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Image points as the model would give them: crop pixels scaled to [-1, 1]."""
    return (points @ matrix[:, :2].T + matrix[:, 2]) / (INPUT_SIZE / 2) - 1.0


def eye_px(points: np.ndarray) -> float:
    return float(np.linalg.norm(five_points(points)[1] - five_points(points)[0]))


@pytest.fixture(scope="module")
def model(models_dir):
    path = models_dir / ASSETS[DEFAULT_LANDMARKS].filename
    return Landmarks106(make_session(path, CPU), str(path))


# --- registry ---------------------------------------------------------------------------------


def test_registry_names_the_model_with_its_role_and_hash(models_dir):
    asset = ASSETS[DEFAULT_LANDMARKS]
    assert (asset.filename, asset.role) == ("2d106det.onnx", "landmarks")
    path = find_asset(DEFAULT_LANDMARKS, models_dir)
    assert path is not None and path.stat().st_size == 5_030_888
    assert sha256_file(path) == asset.sha256 == "f001b856447c413801ef5c42091ed0cd516fcd21f2d6b79635b1e733a7109dbf"


# --- geometry -----------------------------------------------------------------------------------


def test_crop_is_centred_on_the_box_and_one_and_a_half_times_its_long_side():
    matrix = crop_matrix(np.array([20, 10, 100, 130]), face([0, 0, 1, 1]).landmarks)  # level eyes
    centre = np.array([60.0, 70.0]) @ matrix[:, :2].T + matrix[:, 2]
    assert centre == pytest.approx([INPUT_SIZE / 2, INPUT_SIZE / 2])
    assert np.linalg.norm(matrix[:, 0]) == pytest.approx(INPUT_SIZE / (1.5 * 120))


def test_crop_turns_a_rolled_face_so_its_eyes_are_level():
    eyes = np.array([[40.0, 40.0], [80.0, 70.0]])
    matrix = crop_matrix(np.array([20, 20, 100, 120]), np.vstack([eyes, np.zeros((3, 2))]))
    level = eyes @ matrix[:, :2].T + matrix[:, 2]
    assert level[0, 1] == pytest.approx(level[1, 1])
    assert level[1, 0] > level[0, 0]


def test_decode_maps_crop_units_back_to_image_pixels_for_a_batch():
    rng = np.random.default_rng(0)
    faces = [face([10, 10, 110, 130]), face([200, 40, 260, 120], eyes=((215, 70), (245, 60)))]
    matrices = np.array([crop_matrix(f.box, f.landmarks) for f in faces])
    truth = rng.uniform(0, 300, (2, 106, 2))
    raw = np.stack([to_crop_units(m, t) for m, t in zip(matrices, truth, strict=True)]).reshape(2, 212)
    np.testing.assert_allclose(decode(raw, matrices), truth, atol=1e-3)
    assert decode(np.zeros((0, 212)), np.zeros((0, 2, 3))).shape == (0, 106, 2)
    with pytest.raises(ValueError):
        decode(raw, matrices[:1])


def test_invert_affine_undoes_the_map():
    matrix = crop_matrix(np.array([5, 5, 50, 70]), face([0, 0, 1, 1], eyes=((10, 20), (30, 28))).landmarks)
    back = invert_affine(matrix)
    point = np.array([17.0, 33.0])
    there = matrix[:, :2] @ point + matrix[:, 2]
    assert back[:, :2] @ there + back[:, 2] == pytest.approx(point)


def test_no_faces_means_no_model_run(model):
    assert model.points(np.zeros((10, 10, 3), np.uint8), []).shape == (0, 106, 2)


# --- refusing other models ------------------------------------------------------------------------


def save_model(path, input_shape, output_shape):
    graph = helper.make_graph(
        [helper.make_node("Identity", ["data"], ["mid"]), helper.make_node("Flatten", ["mid"], ["out"])],
        "tiny",
        [helper.make_tensor_value_info("data", TensorProto.FLOAT, input_shape)],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, output_shape)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


@pytest.mark.parametrize("name, expected", [("w600k_mbf.onnx", "192x192"), ("scrfd_500m_bnkps.onnx", "outputs")])
def test_other_default_models_are_refused_naming_the_file(models_dir, name, expected):
    path = models_dir / name
    with pytest.raises(ModelError) as info:
        Landmarks106(make_session(path, CPU), str(path))
    assert str(path) in str(info.value) and expected in str(info.value)


def test_a_model_with_the_wrong_number_of_points_is_refused(tmp_path):
    path = save_model(tmp_path / "68points.onnx", ["N", 3, 192, 192], ["N", 110592])
    with pytest.raises(ModelError, match="68points.onnx.*not \\(N, 212\\)"):
        landmarks106.load(path, CPU)


# --- the real model -----------------------------------------------------------------------------


def test_points_land_on_the_eyes_nose_and_mouth_of_the_sample_photos(engine, model, sample_photo):
    for name in ("yaoming.jpg", "gdp.jpg", "players.jpg"):
        image = read_image(sample_photo(name))
        faces = [f for f in engine.detect(image) if np.linalg.norm(f.landmarks[1] - f.landmarks[0]) >= 15]
        points = model.points(image, faces)
        assert points.shape == (len(faces), 106, 2) and len(faces) >= 1
        for found, f in zip(points, faces, strict=True):
            eyes = np.linalg.norm(f.landmarks[1] - f.landmarks[0])
            error = np.linalg.norm(five_points(found) - f.landmarks, axis=1) / eyes
            assert error.max() < 0.3, (name, error)
            assert error.mean() < 0.15, (name, error)


def test_a_batch_gives_the_same_points_as_one_face_at_a_time(engine, model, sample_photo):
    image = read_image(sample_photo("players.jpg"))
    faces = engine.detect(image)[:4]
    together = model.points(image, faces)
    alone = np.concatenate([model.points(image, [f]) for f in faces])
    np.testing.assert_allclose(together, alone, atol=0.05)


def test_eye_and_mouth_outlines_are_in_the_right_place(engine, model, sample_photo):
    image = read_image(sample_photo("yaoming.jpg"))
    f = largest(engine.detect(image))
    points = model.points(image, [f])[0]
    right_eye, left_eye = points[list(RIGHT_EYE)], points[list(LEFT_EYE)]
    assert right_eye.mean(axis=0)[0] < left_eye.mean(axis=0)[0]  # the subject's right is on the image's left
    for outline in (right_eye, left_eye):
        assert outline[5:, 1].mean() < outline[1:4, 1].mean()  # upper lid above the lower lid
    mouth = points[list(FACE_QUAD)][2:]
    assert mouth[:, 1].min() > points[86, 1] > right_eye[:, 1].max()  # eyes, then nose tip, then mouth


def test_points_follow_a_rolled_photo(engine, model, sample_photo):
    """The same face turned 30 degrees in the image: the points turn with it (eyes-level crop)."""
    image = cv2.copyMakeBorder(read_image(sample_photo("yaoming.jpg")), 60, 60, 60, 60, cv2.BORDER_CONSTANT)
    turn = cv2.getRotationMatrix2D((image.shape[1] / 2, image.shape[0] / 2), 30, 1.0)
    rolled = cv2.warpAffine(image, turn, (image.shape[1], image.shape[0]))
    upright = model.points(image, [largest(engine.detect(image))])[0]
    turned = model.points(rolled, [largest(engine.detect(rolled))])[0]
    expected = upright @ turn[:, :2].T + turn[:, 2]
    error = np.linalg.norm(turned - expected, axis=1)[list(RIGID)].mean() / eye_px(upright)
    assert error < 0.05


# --- real faces (shared data) ---------------------------------------------------------------------

CLOSED = ("Tom_Foy_0001", "David_Surrett_0001", "Allison_Searing_0001", "Gary_Winnick_0002")
OPEN = ("Gwendal_Peizerat_0001", "Denzel_Washington_0004", "Donald_Pettit_0002", "Greg_Gilbert_0002")


def lfw_points(shared_data, engine, model, name: str) -> tuple[np.ndarray, Face]:
    person = name.rsplit("_", 1)[0]
    image = read_image(shared_data / "lfw-view1-devtest" / "images" / person / f"{name}.jpg")
    f = largest(engine.detect(image))
    return model.points(image, [f])[0], f


@pytest.mark.shared_data
def test_closed_eyes_on_real_photos_measure_well_under_open_ones(shared_data, engine, model):
    """LFW photos with shut eyes: openness under half that of open eyes, the gap a blink shows."""
    closed = [np.mean(eye_openness(lfw_points(shared_data, engine, model, n)[0])) for n in CLOSED]
    opened = [np.mean(eye_openness(lfw_points(shared_data, engine, model, n)[0])) for n in OPEN]
    assert max(closed) < 0.45 * min(opened), (closed, opened)


@pytest.mark.shared_data
def test_points_agree_with_the_detector_on_real_faces(shared_data, engine, model):
    errors = []
    for name in CLOSED + OPEN:
        points, f = lfw_points(shared_data, engine, model, name)
        errors.append(np.linalg.norm(five_points(points) - f.landmarks, axis=1).mean() / eye_px(points))
    assert np.median(errors) < 0.1, errors
