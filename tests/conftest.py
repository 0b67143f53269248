"""Shared fixtures: the real default models and the optional shared data set."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("FACEATTEND_SHARED_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


@pytest.fixture(scope="session")
def models_dir() -> Path:
    """The installed default models and sample photos (the test command installs them)."""
    from faceattend_tui.vision.models import ASSETS, find_asset

    missing = [name for name in ASSETS if find_asset(name, ROOT) is None]
    assert not missing, f"default models missing: {missing}; run `faceattend models install`"
    return find_asset("w600k_mbf", ROOT).parent


@pytest.fixture(scope="session")
def engine(models_dir, tmp_path_factory):
    from faceattend_tui.config import load_settings
    from faceattend_tui.vision.pipeline import FaceEngine

    settings = load_settings(tmp_path_factory.mktemp("data"), {"device": "cpu", "threads": 2})
    return FaceEngine.from_settings(settings)


@pytest.fixture(scope="session")
def sample_photo(models_dir):
    """Path to one of the sample photos shipped with the default models."""

    def path(name: str) -> Path:
        return models_dir / name

    return path


@pytest.fixture
def xvfb_display(monkeypatch):
    """A private virtual display (Xvfb picks a free number itself); DISPLAY points at it."""
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed")
    read, write = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                              pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()  # written once the server accepts connections
    if not number:
        server.kill()
        pytest.skip("Xvfb did not start")
    monkeypatch.setenv("DISPLAY", f":{number}")
    try:
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(5)
