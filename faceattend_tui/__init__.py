"""faceattend: a face-recognition attendance station."""

from __future__ import annotations

import os

# OpenCV's own warnings (camera probes, codecs) would flood the terminal; the station reports
# problems itself in one line each. Set OPENCV_LOG_LEVEL to see them again.
os.environ.setdefault("OPENCV_LOG_LEVEL", "SILENT")
# A backstop for image formats whose header we do not read ourselves (vision/imageio.py checks the
# rest): OpenCV refuses to decode more pixels than this. Read when OpenCV loads.
MAX_IMAGE_PIXELS = 40_000_000  # 40 megapixels, e.g. 8000 x 5000
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(MAX_IMAGE_PIXELS))

__version__ = "0.1.0"
