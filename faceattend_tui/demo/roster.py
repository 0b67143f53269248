"""Enrolling the demo roster in a data root (only the demo's own photos are written)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from faceattend_tui.config import Settings
from faceattend_tui.demo.cast import DemoError, demo_cast, id_photo
from faceattend_tui.files import atomic_write, make_private_dir, tighten_data
from faceattend_tui.gallery.extract import Extractor
from faceattend_tui.vision.pipeline import FaceEngine


def prepare_demo(settings: Settings, engine: FaceEngine, log: Callable[[str], None] = print) -> list[str]:
    """Enroll the demo roster in the settings' data root; returns its names."""
    cast = demo_cast(engine, settings.data, log)
    images = settings.images_dir
    make_private_dir(images)
    tighten_data(settings.data, settings.private_dirs)
    for actor in cast.enrolled:
        write_if_changed(images / f"{actor.name}.jpg", encode_jpeg(id_photo(actor)))
    report = Extractor(engine, images, settings.tensors_dir).run()
    log(f"demo roster: {len(cast.roster)} people; {report.extracted} photo(s) extracted, {report.reused} reused")
    for line in report.skipped:
        log(f"skipped {line}")
    return cast.roster


def encode_jpeg(image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])
    if not ok:
        raise DemoError("cannot encode a demo photo as JPEG")
    return data.tobytes()


def write_if_changed(path: Path, data: bytes) -> None:
    """Leave an identical file alone, so incremental extraction has nothing to redo."""
    if path.is_file() and path.read_bytes() == data:
        return
    atomic_write(path, data)


def enroll_demo_roster(settings: Settings, log: Callable[[str], None]) -> None:
    """Load the models, enroll the demo roster and say who is on it."""
    engine = FaceEngine.from_settings(settings, log=log)
    names = prepare_demo(settings, engine, log=log)
    log(f"demo roster in {settings.data}: {', '.join(names)}")
