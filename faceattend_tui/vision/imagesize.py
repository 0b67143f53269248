"""An image's width and height, and how a camera said to turn it, read from its header before
anything is decoded.

A PNG of a few hundred kilobytes can declare 20,000 x 20,000 pixels and decode to gigabytes; reading
the size first lets such a file be refused in one line. Pure byte parsing: JPEG, PNG, BMP, WebP and
TIFF. None when the header is not one of these or is cut short.

A phone stores a portrait photo sideways and says so in its EXIF orientation tag (1-8), which every
photo viewer follows; OpenCV's decode of the raw pixels does not.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

SOF_MARKERS = set(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # start-of-frame kinds; C4/C8/CC are others


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the header, or None."""
    return _header(data)[1]


def image_suffix(data: bytes) -> str | None:
    """The file suffix of the image's format, read from its header (".jpg" for a JPEG named "x.jfif")."""
    return _header(data)[0]


def _header(data: bytes) -> tuple[str | None, tuple[int, int] | None]:
    for suffix, reader in READERS:
        try:
            size = reader(data)
        except (struct.error, IndexError, ValueError):
            size = None
        if size is not None:
            return suffix, size
    return None, None


def _png(data: bytes) -> tuple[int, int] | None:
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", data[16:24])


def _jpeg(data: bytes) -> tuple[int, int] | None:
    if data[:2] != b"\xff\xd8":
        return None
    for at, marker, _ in jpeg_headers(data):
        if marker in SOF_MARKERS:
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return width, height
    return None


def _bmp(data: bytes) -> tuple[int, int] | None:
    if data[:2] != b"BM":
        return None
    width, height = struct.unpack("<ii", data[18:26])
    return abs(width), abs(height)


def _webp(data: bytes) -> tuple[int, int] | None:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    chunk = data[12:16]
    if chunk == b"VP8X":
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    if chunk == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 ":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    return None


def _tiff(data: bytes) -> tuple[int, int] | None:
    order = {b"II": "<", b"MM": ">"}.get(data[:2])
    if order is None or struct.unpack(order + "H", data[2:4])[0] != 42:
        return None
    found = tiff_tags(data, {256, 257})  # image width, image length
    return (found[256], found[257]) if len(found) == 2 else None


READERS = ((".png", _png), (".jpg", _jpeg), (".bmp", _bmp), (".webp", _webp), (".tif", _tiff))
ORIENTATION_TAG = 0x0112


def exif_orientation(data: bytes) -> int:
    """The EXIF orientation (1-8) of a JPEG, PNG, WebP or TIFF; 1 (as stored) when there is none."""
    try:
        exif = _jpeg_exif(data) if data[:2] == b"\xff\xd8" else _png_exif(data) if data[:4] == b"\x89PNG" \
            else _webp_exif(data) if data[:4] == b"RIFF" and data[8:12] == b"WEBP" else data
        value = tiff_tags(exif, {ORIENTATION_TAG}).get(ORIENTATION_TAG) if exif else None
    except (struct.error, IndexError, ValueError):
        value = None
    return value if value is not None and 1 <= value <= 8 else 1


def _jpeg_exif(data: bytes) -> bytes | None:
    """The TIFF block of a JPEG's APP1 Exif segment."""
    for at, marker, length in jpeg_headers(data):
        if marker == 0xE1 and data[at + 4 : at + 10] == b"Exif\x00\x00":
            return data[at + 10 : at + 2 + length]
    return None


def jpeg_scan_start(data: bytes) -> int:
    """Where a JPEG's first scan (its pixels) begins, after its headers; -1 when it has none."""
    return next((at + 2 + length for at, marker, length in jpeg_headers(data) if marker == 0xDA), -1)


def jpeg_headers(data: bytes) -> Iterator[tuple[int, int, int]]:
    """(offset, marker, length) of a JPEG's header segments, up to and including its first scan's."""
    at = 2
    while at + 4 <= len(data) and data[at] == 0xFF:
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            at += 2
            continue
        if marker == 0xD9:
            return
        length = struct.unpack(">H", data[at + 2 : at + 4])[0]
        yield at, marker, length
        if marker == 0xDA:
            return
        at += 2 + length


def _png_exif(data: bytes) -> bytes | None:
    """The TIFF block of a PNG's eXIf chunk (before its pixels)."""
    at = 8
    while at + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[at : at + 8])
        if kind == b"eXIf":
            return data[at + 8 : at + 8 + length]
        if kind in (b"IDAT", b"IEND"):
            return None
        at += 12 + length
    return None


def _webp_exif(data: bytes) -> bytes | None:
    """The TIFF block of a WebP's EXIF chunk (some writers put the JPEG's "Exif" header before it)."""
    at = 12
    while at + 8 <= len(data):
        kind, length = struct.unpack("<4sI", data[at : at + 8])
        if kind == b"EXIF":
            block = data[at + 8 : at + 8 + length]
            return block[6:] if block.startswith(b"Exif\x00\x00") else block
        at += 8 + length + (length & 1)  # chunks are padded to an even length
    return None


def tiff_tags(block: bytes, wanted: set[int]) -> dict[int, int]:
    """The `wanted` SHORT or LONG tags of a TIFF block's first directory (a TIFF file, or EXIF data)."""
    order = {b"II": "<", b"MM": ">"}.get(block[:2])
    if order is None:
        return {}
    ifd = struct.unpack(order + "I", block[4:8])[0]
    count = struct.unpack(order + "H", block[ifd : ifd + 2])[0]
    found = {}
    for i in range(count):
        entry = block[ifd + 2 + 12 * i : ifd + 14 + 12 * i]
        tag, kind = struct.unpack(order + "HH", entry[:4])
        if tag in wanted:
            found[tag] = int(struct.unpack(order + ("H" if kind == 3 else "I"), entry[8 : 10 if kind == 3 else 12])[0])
    return found
