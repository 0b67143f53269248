"""faceattend: a face-recognition attendance station."""

import os

# OpenCV's own warnings (camera probes, codecs) would flood the terminal; the station reports
# problems itself in one line each. Set OPENCV_LOG_LEVEL to see them again.
os.environ.setdefault("OPENCV_LOG_LEVEL", "SILENT")

__version__ = "0.1.0"
