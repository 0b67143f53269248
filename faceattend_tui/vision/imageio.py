"""Reading photos robustly: every failure is one clear ImageError naming the file."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
MIN_SIDE = 16


class ImageError(Exception):
    """A file that cannot be used as a photo."""


def is_image_name(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def read_image(path: Path | str) -> np.ndarray:
    """A BGR uint8 image; greyscale, CMYK, 16-bit and alpha inputs are converted."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImageError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return decode_image(data, str(path))


def decode_image(data: bytes, name: str = "image") -> np.ndarray:
    if not data:
        raise ImageError(f"{name}: empty file")
    if data[:2] == b"\xff\xd8" and not _jpeg_complete(data):
        raise ImageError(f"{name}: truncated JPEG (the file ends before the image does)")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None or image.size == 0:
        raise ImageError(f"{name}: not a readable image")
    image = _to_bgr8(image, name)
    if min(image.shape[:2]) < MIN_SIDE:
        raise ImageError(f"{name}: too small to hold a face ({image.shape[1]}x{image.shape[0]} pixels)")
    return image


def _jpeg_complete(data: bytes) -> bool:
    """True when a JPEG ends with its end-of-image marker (trailing padding allowed)."""
    tail = data[-4096:].rstrip(b"\x00\r\n ")
    return tail.endswith(b"\xff\xd9") or b"\xff\xd9" in data[len(data) // 2 :][-65536:]


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
    """Composite a BGRA image onto white, so transparent areas do not turn into black shapes."""
    alpha = image[..., 3:4].astype(np.float32) / 255.0
    colour = image[..., :3].astype(np.float32)
    return (colour * alpha + 255.0 * (1.0 - alpha)).round().astype(np.uint8)
