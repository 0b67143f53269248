"""Enrolling the demo roster in a data root (only the demo's own photos are written).

The demo brings its made-up people only into a data root of its own: one it marked, an empty one,
or one an earlier version made before the mark. Anyone's real roster is refused.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from faceattend_tui.config import Settings
from faceattend_tui.demo.cast import ROLES, DemoError, demo_cast, id_photo
from faceattend_tui.files import atomic_write, make_private_dir, tighten_data, unfit_data_folder
from faceattend_tui.gallery.extract import Extractor, scan_people
from faceattend_tui.text import plural
from faceattend_tui.vision.pipeline import FaceEngine

DEMO_DATA = Path("demo-data")  # the demo's data root when none is given
MARKER = ".faceattend-demo"  # written in a data root the demo made its own
MARKER_TEXT = b"made by faceattend demo: the demo source adds its made-up people to this data root\n"
CAST = frozenset(role.name for role in ROLES if role.enrolled)


def prepare_demo(settings: Settings, engine: FaceEngine, log: Callable[[str], None] = print) -> list[str]:
    """Enroll the demo roster in the settings' data root; returns its names."""
    cast = demo_cast(engine, settings.data, log)
    images = settings.images_dir
    make_private_dir(images)
    tighten_data(settings.data, settings.private_dirs)
    for actor in cast.enrolled:
        write_if_changed(images / f"{actor.name}.jpg", encode_jpeg(id_photo(actor)))
    report = Extractor(engine, images, settings.tensors_dir).run()
    log(f"demo roster: {plural(len(cast.roster), 'person', 'people')}; {plural(report.extracted, 'photo')} extracted, "
        f"{report.reused} reused")
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


def claim_demo_root(settings: Settings, logged: list[str] | None) -> None:
    """Mark the data root as the demo's, or raise DemoError when it is not (one line, for the user).

    `logged`: the names in its attendance log, None where it has no log.
    """
    data = Path(settings.data)
    if settings.database:
        raise DemoError("the demo source does not run with a shared database (its made-up people would join "
                        "the real roster); run `faceattend demo` without --database")
    unfit = unfit_data_folder(data)  # /tmp, or /: refused before anything is written or narrowed
    if unfit:
        raise DemoError(unfit)
    if _marked(data):
        return
    problem = why_not_the_demos(settings, logged)
    if problem:
        raise DemoError(f"the data root {data} {problem}: the demo source adds its made-up people only to an empty "
                        f"data root or one `faceattend demo` made; run `faceattend demo` (data root {DEMO_DATA}/) "
                        "or give an empty --data")
    try:
        make_private_dir(data)
        atomic_write(data / MARKER, _marker_for(data))
    except OSError as exc:
        raise DemoError(f"cannot make {data} the demo's data root: {exc.strerror or exc}") from None


def _marker_for(data: Path) -> bytes:
    """The mark names the folder it was made in: copied into another data root, it claims nothing."""
    return MARKER_TEXT + os.fsencode(str(data.resolve())) + b"\n"


def _marked(data: Path) -> bool:
    try:
        return (data / MARKER).read_bytes() == _marker_for(data)
    except OSError:
        return False


def why_not_the_demos(settings: Settings, logged: list[str] | None) -> str | None:
    """Why an unmarked data root is not the demo's; None when it is: it is empty, or an earlier
    version made it (only the cast in it, or demo-data/ with the cast's photos and others beside)."""
    photos = set(scan_people(settings.images_dir))
    names = photos | set(logged or ()) | {p.stem for p in settings.tensors_dir.glob("*.npy")}
    spelt = {n.casefold(): n for n in [*sorted(names - set(logged or ())), *(logged or ())]}  # the roster's spelling
    others = sorted({n for n in spelt.values() if n not in CAST})  # a folder and its roster name: once
    if not others:
        return "holds an attendance log of its own" if logged is not None and not names else None
    if Path(settings.data).resolve().name == DEMO_DATA.name and photos >= CAST:
        return None
    shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
    return f"holds people of its own ({shown})"


def enroll_demo_roster(settings: Settings, log: Callable[[str], None], logged: list[str] | None) -> None:
    """Claim the data root (DemoError when it is not the demo's), load the models, enroll the demo
    roster and say who is on it. `logged`: the names in the data root's log, None with no log."""
    claim_demo_root(settings, logged)
    engine = FaceEngine.from_settings(settings, log=log)
    names = prepare_demo(settings, engine, log=log)
    log(f"demo roster in {settings.data}: {', '.join(names)}")
