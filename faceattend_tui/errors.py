"""The errors faceattend raises on purpose, under one root, one branch per layer.

Each carries a message for a person. Anything else that escapes is a programming error: it is
logged with its traceback and shown as an internal error, never taken for bad input.
"""

from __future__ import annotations


class FaceattendError(Exception):
    """Every error the package raises on purpose."""


class InputError(FaceattendError, ValueError):
    """A value a person gave (a name, a group, a time, a status) that cannot be taken, and why."""


class VisionError(FaceattendError):
    """Models and images: a model that cannot run, an image that cannot be read."""


class LiveError(FaceattendError):
    """The live worker: a camera or stream that cannot be used."""


class RecordsError(FaceattendError):
    """The attendance records: the log, sessions, rosters, exports, staff and timetables."""
