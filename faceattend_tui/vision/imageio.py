"""Reading photos robustly: every failure is one clear ImageError naming the file.

Reads are bounded: a file larger than MAX_BYTES is refused before it is read, an image whose
header declares more than MAX_PIXELS is refused before it is decoded, and a large JPEG is decoded
straight to a reduced size (the detector works at 640 pixels anyway).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import cv2
import numpy as np

from faceattend_tui import MAX_IMAGE_PIXELS
from faceattend_tui.errors import VisionError
from faceattend_tui.vision.imagesize import exif_orientation, image_size, jpeg_scan_start

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
MIN_SIDE = 16
MAX_BYTES = 64 * 1024 * 1024
MAX_PIXELS = MAX_IMAGE_PIXELS
DECODE_PIXELS = 12_000_000  # larger JPEGs are decoded at 1/2, 1/4 or 1/8 of their size
FLATTEN_ROWS = 256  # rows of an image with transparency composited at a time
# EXIF orientation -> (rotation, then a left-right mirror) that shows the picture upright
TURNS = {2: (None, True), 3: (cv2.ROTATE_180, False), 4: (cv2.ROTATE_180, True), 5: (cv2.ROTATE_90_CLOCKWISE, True),
         6: (cv2.ROTATE_90_CLOCKWISE, False), 7: (cv2.ROTATE_90_COUNTERCLOCKWISE, True),
         8: (cv2.ROTATE_90_COUNTERCLOCKWISE, False)}


class ImageError(VisionError):
    """A file that cannot be used as a photo."""


class ReadFault(ImageError):
    """A photo the machine could not read just now (too many open files, an I/O error): not the photo's fault."""


# errors of the machine or the disk, not of the file: the same photo may read well a moment later
PASSING = {getattr(errno, name) for name in ("EMFILE", "ENFILE", "ENOMEM", "ENOBUFS", "EIO", "EAGAIN", "EINTR",
                                             "ETIMEDOUT", "ESTALE") if hasattr(errno, name)}


def is_image_name(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def read_bytes(path: Path | str) -> bytes:
    """The file's bytes, refusing what is not a regular file or is larger than MAX_BYTES."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0))  # a FIFO: no wait
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise ImageError(f"{path}: not a regular file")
            if hasattr(os, "set_blocking"):
                os.set_blocking(fd, True)
            if info.st_size > MAX_BYTES:
                raise ImageError(f"{path}: {info.st_size / 1e6:.0f} MB, more than a photo may be "
                                 f"({MAX_BYTES // 2**20} MB)")
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        fault = ReadFault if exc.errno in PASSING else ImageError
        raise fault(f"{path}: cannot read ({exc.strerror or exc})") from None
    if len(data) > MAX_BYTES:
        raise ImageError(f"{path}: more than {MAX_BYTES // 2**20} MB, more than a photo may be")
    return data


def read_image(path: Path | str) -> np.ndarray:
    """A BGR uint8 image; greyscale, CMYK, 16-bit and alpha inputs are converted."""
    return decode_image(read_bytes(path), str(path))


def read_photo(path: Path | str) -> tuple[np.ndarray, float]:
    """As read_image, with how many of the photo's own pixels one pixel of the picture stands for (a large
    JPEG is decoded at a half, a quarter or an eighth of its size)."""
    data = read_bytes(path)
    image = decode_image(data, str(path))
    size = image_size(data)
    return image, max(size) / max(image.shape[:2]) if size else 1.0


def decode_image(data: bytes, name: str = "image") -> np.ndarray:
    if not data:
        raise ImageError(f"{name}: empty file")
    if data[:2] == b"\xff\xd8" and not _jpeg_complete(data):
        raise ImageError(f"{name}: truncated JPEG (the file ends before the image does)")
    size = image_size(data)
    if size is not None and size[0] * size[1] > MAX_PIXELS:
        raise ImageError(f"{name}: {size[0]}x{size[1]} pixels, more than a photo may have "
                         f"({MAX_PIXELS / 1e6:.0f} megapixels)")
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), _decode_flags(data, size))
        if image is None or image.size == 0:
            raise ImageError(f"{name}: not a readable image")
        tiff = data[:4] in (b"II*\x00", b"MM\x00*")  # OpenCV's TIFF reader turns it upright itself
        image = upright(_to_bgr8(image, name), 1 if tiff else exif_orientation(data))
    except (cv2.error, MemoryError) as exc:
        raise ImageError(f"{name}: cannot be decoded ({type(exc).__name__})") from None
    if min(image.shape[:2]) < MIN_SIDE:
        raise ImageError(f"{name}: too small to hold a face ({image.shape[1]}x{image.shape[0]} pixels)")
    return image


def _decode_flags(data: bytes, size: tuple[int, int] | None) -> int:
    """IMREAD_UNCHANGED, or for a large JPEG a reduced colour decode (libjpeg scales while decoding);
    either way as stored, `upright` turns it."""
    if data[:2] != b"\xff\xd8" or size is None or size[0] * size[1] <= DECODE_PIXELS:
        return cv2.IMREAD_UNCHANGED
    for factor, flag in ((2, cv2.IMREAD_REDUCED_COLOR_2), (4, cv2.IMREAD_REDUCED_COLOR_4)):
        if size[0] * size[1] / factor**2 <= DECODE_PIXELS:
            return flag | cv2.IMREAD_IGNORE_ORIENTATION
    return cv2.IMREAD_REDUCED_COLOR_8 | cv2.IMREAD_IGNORE_ORIENTATION


def upright(image: np.ndarray, orientation: int) -> np.ndarray:
    """The picture as a viewer shows it, from its pixels as stored and its EXIF orientation (1-8)."""
    turn, mirror = TURNS.get(orientation, (None, False))
    if turn is not None:
        image = cv2.rotate(image, turn)
    return cv2.flip(image, 1) if mirror else image


def _jpeg_complete(data: bytes) -> bool:
    """True when a JPEG's end-of-image marker follows its first scan. A phone's "motion photo" appends a
    video after it; a thumbnail in the headers has an end marker of its own, but before the scan."""
    scan = jpeg_scan_start(data)
    return scan > 0 and data.find(b"\xff\xd9", scan) > 0


def _to_bgr8(image: np.ndarray, name: str) -> np.ndarray:
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    elif image.dtype != np.uint8:
        image = cv2.normalize(image, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    channels = image.shape[2]
    if channels == 1:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if channels == 3:
        return image
    if channels == 4:
        return _flatten_alpha(image)
    raise ImageError(f"{name}: unsupported image with {channels} channels")


def _flatten_alpha(image: np.ndarray) -> np.ndarray:
    """Composite a BGRA image onto white, so transparent areas do not turn into black shapes.

    A few rows at a time, so a large image needs little memory beyond its own.
    """
    out = np.empty(image.shape[:2] + (3,), np.uint8)
    for top in range(0, image.shape[0], FLATTEN_ROWS):
        rows = image[top : top + FLATTEN_ROWS]
        alpha = rows[..., 3:4].astype(np.float32) / 255.0
        out[top : top + FLATTEN_ROWS] = (rows[..., :3] * alpha + 255.0 * (1.0 - alpha)).round()
    return out
