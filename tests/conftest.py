"""Shared fixtures: the real default models and the optional shared data set."""

from __future__ import annotations

import os
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
