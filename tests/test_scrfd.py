"""SCRFD: pure decoding of synthetic outputs, output ordering, and the real detector on photos."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from faceattend_tui.vision import scrfd
from faceattend_tui.vision.imageio import read_image
from faceattend_tui.vision.ops import box_iou
from faceattend_tui.vision.runtime import ModelError
from faceattend_tui.vision.scrfd import decode, output_order

ANCHORS = 2
STRIDES = (8, 16, 32)


def empty_outputs(height: int, width: int, score: float = 0.01) -> list[np.ndarray]:
    """Per-level (scores, boxes, keypoints) tensors as SCRFD gives them for one image, all weak."""
    cells = [-(-height // s) * -(-width // s) * ANCHORS for s in STRIDES]
    scores = [np.full((n, 1), score, np.float32) for n in cells]
    boxes = [np.ones((n, 4), np.float32) for n in cells]
    kps = [np.zeros((n, 10), np.float32) for n in cells]
    return scores + boxes + kps


def plant(outputs, level: int, row: int, col: int, anchor: int, width: int, score: float,
          dist: tuple, kps: list) -> None:
    """Put a detection at one anchor of one level; distances in stride units, as the network gives them."""
    cols = -(-width // STRIDES[level])
    index = (row * cols + col) * ANCHORS + anchor
    outputs[level][index, 0] = score
    outputs[level + 3][index] = dist
    outputs[level + 6][index] = kps


def test_decode_gives_exact_boxes_and_keypoints_at_known_anchors():
    height, width = 64, 96  # not square, so rows and columns cannot be swapped unnoticed
    out = empty_outputs(height, width)
    # stride 8: row 3, column 5, second anchor -> centre (40, 24)
    plant(out, 0, 3, 5, 1, width, 0.9, (1, 2, 3, 4), [-1, -1, 1, -1, 0, 0, -1, 1, 1, 1])
    # stride 32: row 1, column 2, first anchor -> centre (64, 32)
    plant(out, 2, 1, 2, 0, width, 0.8, (0.5, 0.25, 0.75, 1.0), [-0.5, -0.5, 0.5, -0.5, 0, 0, -0.25, 0.5, 0.25, 0.5])

    boxes, scores, kps = decode(out, height, width, 0.5)

    assert boxes.shape == (2, 4) and scores.shape == (2,) and kps.shape == (2, 5, 2)
    np.testing.assert_allclose(scores, [0.9, 0.8], rtol=1e-6)
    np.testing.assert_allclose(boxes[0], [40 - 8, 24 - 16, 40 + 24, 24 + 32])
    np.testing.assert_allclose(
        kps[0], [[32, 16], [48, 16], [40, 24], [32, 32], [48, 32]]
    )
    np.testing.assert_allclose(boxes[1], [64 - 16, 32 - 8, 64 + 24, 32 + 32])
    np.testing.assert_allclose(
        kps[1], [[48, 16], [80, 16], [64, 32], [56, 48], [72, 48]]
    )


def test_decode_threshold_and_nothing_found():
    out = empty_outputs(64, 64)
    boxes, scores, kps = decode(out, 64, 64, 0.5)
    assert boxes.shape == (0, 4) and scores.shape == (0,) and kps.shape == (0, 5, 2)
    boxes, scores, _ = decode(out, 64, 64, 0.005)  # every anchor passes a threshold below the score
    assert len(scores) == sum((64 // s) ** 2 * ANCHORS for s in STRIDES)


def test_decode_with_input_not_a_multiple_of_the_stride():
    """Grids round up (ceil), as the network's convolutions do."""
    height, width = 40, 72  # stride 32 grid is 2 x 3
    out = empty_outputs(height, width)
    plant(out, 2, 1, 2, 1, width, 0.7, (1, 1, 1, 1), [0] * 10)
    boxes, scores, kps = decode(out, height, width, 0.5)
    np.testing.assert_allclose(boxes, [[64 - 32, 32 - 32, 64 + 32, 32 + 32]])
    np.testing.assert_allclose(kps[0], np.tile([64, 32], (5, 1)))


def test_a_batch_decodes_each_image_as_it_would_alone():
    """Photos detected together: each image's candidates are its own, in the same order as alone."""
    height, width = 64, 96
    images = [empty_outputs(height, width) for _ in range(4)]
    plant(images[0], 0, 2, 3, 1, width, 0.9, (1, 2, 3, 4), list(range(10)))
    plant(images[2], 1, 0, 5, 0, width, 0.6, (2, 2, 2, 2), [1] * 10)
    plant(images[2], 2, 1, 1, 1, width, 0.8, (1, 1, 1, 1), [0] * 10)
    batch = [np.stack([image[k] for image in images] + [np.ones_like(images[0][k])]) for k in range(9)]  # + padding
    decoded = scrfd.decode_batch(batch, 4, height, width, 0.5)
    assert [len(scores) for _, scores, _ in decoded] == [1, 0, 2, 0]
    for alone, together in zip((decode(image, height, width, 0.5) for image in images), decoded, strict=True):
        for want, got in zip(alone, together, strict=True):
            np.testing.assert_array_equal(got, want)


def test_output_order_by_name():
    names = ["kps_32", "bbox_8", "score_16", "score_8", "bbox_32", "kps_8", "score_32", "bbox_16", "kps_16"]
    order = output_order(names)
    assert [names[i] for i in order] == [
        "score_8", "score_16", "score_32", "bbox_8", "bbox_16", "bbox_32", "kps_8", "kps_16", "kps_32",
    ]


def test_output_order_sorts_strides_numerically():
    names = [f"{kind}_{s}" for kind in ("kps", "bbox", "score") for s in (128, 64, 32, 16, 8)]
    ordered = [names[i] for i in output_order(names)]
    assert ordered[:5] == ["score_8", "score_16", "score_32", "score_64", "score_128"]
    assert ordered[-1] == "kps_128"


@pytest.mark.parametrize("names", [
    ["448", "471", "494", "451", "474", "497", "454", "477", "500"],
    ["score_8", "score_16", "score_32", "bbox_8", "bbox_16", "bbox_32", "kps_8", "kps_16", "out"],
])
def test_output_order_of_unnamed_outputs_is_kept(names):
    assert output_order(names) == list(range(len(names)))


@pytest.mark.parametrize("count, message", [(6, "no keypoints"), (10, "no keypoints"), (4, "9 or 15")])
def test_check_signature_refuses_other_exports(count, message):
    with pytest.raises(ModelError, match=message) as info:
        scrfd.check_signature(count, "det.onnx")
    assert "det.onnx" in str(info.value)


def test_check_signature_levels():
    assert scrfd.check_signature(9, "x") == 3
    assert scrfd.check_signature(15, "x") == 5


# --- the real detector ----------------------------------------------------------------------


def test_one_face_in_yaoming_with_landmarks_in_anatomical_order(engine, sample_photo):
    image = read_image(sample_photo("yaoming.jpg"))
    faces = engine.detect(image)
    assert len(faces) == 1
    face = faces[0]
    x1, y1, x2, y2 = face.box
    assert 0 <= x1 < x2 <= image.shape[1] and 0 <= y1 < y2 <= image.shape[0]
    assert face.width > 60 and face.height > 60  # the face fills a good part of the photo
    assert face.score > 0.6
    lm = face.landmarks
    assert lm.shape == (5, 2)
    assert np.all((lm[:, 0] > x1) & (lm[:, 0] < x2) & (lm[:, 1] > y1) & (lm[:, 1] < y2))
    left_eye, right_eye, nose, mouth_left, mouth_right = lm
    assert left_eye[0] < nose[0] < right_eye[0]  # image-left eye first
    assert mouth_left[0] < mouth_right[0]
    assert max(left_eye[1], right_eye[1]) < nose[1] < min(mouth_left[1], mouth_right[1])


def test_many_faces_in_players(engine, sample_photo):
    image = read_image(sample_photo("players.jpg"))
    faces = engine.detect(image)
    assert len(faces) >= 20
    scores = [f.score for f in faces]
    assert scores == sorted(scores, reverse=True)
    boxes = np.array([f.box for f in faces])
    for i, box in enumerate(boxes):  # no duplicates left after suppression
        others = np.delete(boxes, i, axis=0)
        assert box_iou(box, others).max() < 0.4


def test_no_face_in_a_flat_grey_image(engine):
    grey = np.full((480, 640, 3), 128, np.uint8)
    assert engine.detect(grey) == []
    assert engine.detect_thorough(grey) == []


def match_all(reference, found, scale) -> list[float]:
    boxes = np.array([f.box * scale for f in found])
    return [float(box_iou(f.box, boxes).max()) for f in reference]


def test_same_faces_in_a_640x480_camera_frame(engine, sample_photo):
    """players.jpg shrunk into a 640x480 frame (grey band below) finds the same faces."""
    image = read_image(sample_photo("players.jpg"))
    reference = engine.detect(image)
    h, w = image.shape[:2]
    new_h = round(h * 640 / w)
    frame = np.full((480, 640, 3), 90, np.uint8)
    frame[:new_h] = cv2.resize(image, (640, new_h), interpolation=cv2.INTER_AREA)
    found = engine.detect(frame)
    assert len(found) == len(reference)
    scale = np.array([w / 640, h / new_h] * 2, np.float32)
    assert min(match_all(reference, found, scale)) > 0.8


def test_same_faces_in_a_480x640_portrait_resize(engine, sample_photo):
    image = read_image(sample_photo("gdp.jpg"))  # 500 x 665
    reference = engine.detect(image)
    assert len(reference) >= 3
    h, w = image.shape[:2]
    small = cv2.resize(image, (480, 640), interpolation=cv2.INTER_AREA)
    found = engine.detect(small)
    assert len(found) == len(reference)
    assert min(match_all(reference, found, np.array([w / 480, h / 640] * 2, np.float32))) > 0.8


def test_boxes_follow_the_face_when_it_moves_in_a_bigger_frame(engine, sample_photo):
    """Mapping from network input back to image pixels accounts for scale and position."""
    photo = read_image(sample_photo("yaoming.jpg"))
    (reference,) = engine.detect(photo)
    frame = np.full((480, 640, 3), 100, np.uint8)
    dx, dy = 300, 150
    frame[dy : dy + photo.shape[0], dx : dx + photo.shape[1]] = photo[: 480 - dy, : 640 - dx]
    faces = engine.detect(frame)
    assert len(faces) == 1
    shift = np.array([dx, dy, dx, dy], np.float32)
    assert box_iou(reference.box + shift, faces[0].box[None])[0] > 0.8
    assert np.abs(faces[0].landmarks - reference.landmarks - [dx, dy]).max() < 6


def test_detect_thorough_keeps_coordinates_when_it_pads(engine, sample_photo, monkeypatch):
    """Faces found on a padded copy come back in the unpadded photo's coordinates."""
    from faceattend_tui.vision import pipeline

    photo = read_image(sample_photo("yaoming.jpg"))
    (reference,) = engine.detect(photo)
    monkeypatch.setattr(pipeline, "RETRIES", ((0.5, None, None),))
    faces = engine.detect_thorough(photo)
    assert len(faces) == 1
    assert box_iou(reference.box, faces[0].box[None])[0] > 0.8
    assert np.abs(faces[0].landmarks - reference.landmarks).max() < 8


def test_detect_thorough_finds_a_tightly_cropped_face(engine, sample_photo):
    photo = read_image(sample_photo("yaoming.jpg"))
    (reference,) = engine.detect(photo)
    x1, y1, x2, y2 = (int(v) for v in reference.box)
    tight = photo[y1 + 10 : y2 - 10, x1 + 10 : x2 - 10]  # the box edges cut into the face
    faces = engine.detect_thorough(tight)
    assert len(faces) == 1
    shift = np.array([x1 + 10, y1 + 10], np.float32)
    assert np.abs(faces[0].landmarks + shift - reference.landmarks).max() < 8
