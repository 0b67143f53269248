"""Reading photos: every bad file is one ImageError naming it; odd formats become BGR uint8."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from faceattend_tui.vision.imageio import ImageError, decode_image, is_image_name, read_image


def encode(ext: str, image: np.ndarray, params=()) -> bytes:
    ok, data = cv2.imencode(ext, image, list(params))
    assert ok
    return data.tobytes()


def jpeg_bytes(height: int = 64, width: int = 80) -> bytes:
    rng = np.random.default_rng(0)
    image = cv2.resize(rng.integers(0, 256, (8, 10, 3), dtype=np.uint8), (width, height))
    return encode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])


def assert_bgr8(image: np.ndarray, height: int, width: int) -> None:
    assert image.dtype == np.uint8
    assert image.shape == (height, width, 3)


# --- files that are not usable photos -----------------------------------------------------------


def broken_files() -> dict[str, bytes]:
    jpeg = jpeg_bytes()
    return {
        "notes.jpg": b"this is a text file, not a photo\n" * 20,
        "cut-off.jpg": jpeg[: len(jpeg) // 2],
        "cut-end.jpg": jpeg[:-2],
        "dot.png": encode(".png", np.zeros((1, 1, 3), np.uint8)),
        "empty.jpg": b"",
        "zeros.png": bytes(2048),
    }


@pytest.mark.parametrize("name", list(broken_files()))
def test_broken_file_is_an_image_error_naming_it(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(broken_files()[name])
    with pytest.raises(ImageError) as info:
        read_image(path)
    message = str(info.value)
    assert message.startswith(str(path) + ":")
    assert "\n" not in message


@pytest.mark.parametrize("name, reason", [
    ("cut-off.jpg", "truncated"), ("cut-end.jpg", "truncated"), ("dot.png", "too small"),
    ("empty.jpg", "empty"), ("notes.jpg", "not a readable image"),
])
def test_the_reason_is_given(tmp_path, name, reason):
    path = tmp_path / name
    path.write_bytes(broken_files()[name])
    with pytest.raises(ImageError, match=reason):
        read_image(path)


def test_missing_file_is_an_image_error_naming_it(tmp_path):
    path = tmp_path / "absent.jpg"
    with pytest.raises(ImageError) as info:
        read_image(path)
    assert str(path) in str(info.value) and "cannot read" in str(info.value)


def test_a_folder_is_an_image_error(tmp_path):
    folder = tmp_path / "folder.jpg"
    folder.mkdir()
    with pytest.raises(ImageError, match="folder.jpg"):
        read_image(folder)


def test_decode_image_names_the_source():
    with pytest.raises(ImageError, match="^upload-7: empty file$"):
        decode_image(b"", "upload-7")


def test_a_complete_jpeg_with_trailing_padding_is_fine():
    image = decode_image(jpeg_bytes() + b"\x00" * 100, "padded.jpg")
    assert_bgr8(image, 64, 80)


# --- formats that must be converted -------------------------------------------------------------


def test_colour_jpeg_round_trip(tmp_path):
    path = tmp_path / "photo.JPG"
    path.write_bytes(jpeg_bytes())
    assert_bgr8(read_image(path), 64, 80)
    assert read_image(str(path)).shape == (64, 80, 3)


def test_greyscale_jpeg_becomes_three_equal_channels():
    grey = np.tile(np.linspace(0, 255, 60, dtype=np.uint8), (40, 1))
    image = decode_image(encode(".jpg", grey, [cv2.IMWRITE_JPEG_QUALITY, 95]), "grey.jpg")
    assert_bgr8(image, 40, 60)
    assert np.array_equal(image[..., 0], image[..., 1]) and np.array_equal(image[..., 1], image[..., 2])
    assert abs(int(image[20, 59, 0]) - 255) < 8 and int(image[20, 0, 0]) < 8


def test_sixteen_bit_png_keeps_its_brightness():
    colour = np.zeros((30, 40, 3), np.uint16)
    colour[..., 0], colour[..., 1], colour[..., 2] = 65535, 32896, 0  # B full, G half, R none
    image = decode_image(encode(".png", colour), "deep.png")
    assert_bgr8(image, 30, 40)
    assert tuple(image[5, 5]) == (255, 128, 0)

    grey = np.full((30, 40), 40000, np.uint16)
    image = decode_image(encode(".png", grey), "deep-grey.png")
    assert_bgr8(image, 30, 40)
    assert tuple(image[0, 0]) == (156, 156, 156)


def test_png_with_alpha_is_flattened_onto_white():
    bgra = np.zeros((30, 40, 4), np.uint8)
    bgra[:, :20] = (0, 0, 255, 255)  # opaque red on the left
    bgra[:, 20:30] = (0, 0, 0, 0)  # fully transparent (black underneath)
    bgra[:, 30:] = (0, 0, 0, 128)  # half-transparent black
    image = decode_image(encode(".png", bgra), "cutout.png")
    assert_bgr8(image, 30, 40)
    assert tuple(image[10, 5]) == (0, 0, 255)
    assert tuple(image[10, 25]) == (255, 255, 255)  # white, not black
    assert all(120 <= v <= 135 for v in image[10, 35])  # grey halfway


def raw_png(pixels: np.ndarray, color_type: int, depth: int = 8) -> bytes:
    """A PNG written by hand, for layouts OpenCV cannot write (grey + alpha)."""
    height, width = pixels.shape[:2]

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    dtype = ">u2" if depth == 16 else "u1"
    raw = b"".join(b"\x00" + pixels[y].astype(dtype).tobytes() for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, depth, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("depth, grey, opaque", [(8, 60, 255), (16, 60 * 257, 65535)])
def test_greyscale_png_with_alpha(depth, grey, opaque):
    pixels = np.zeros((20, 20, 2), np.uint16)
    pixels[..., 0] = grey
    pixels[:, :10, 1] = opaque  # left half opaque, right half transparent
    image = decode_image(raw_png(pixels, color_type=4, depth=depth), "grey-alpha.png")
    assert_bgr8(image, 20, 20)
    assert tuple(image[0, 0]) == (60, 60, 60) and tuple(image[0, 15]) == (255, 255, 255)


def test_cmyk_jpeg_becomes_bgr():
    pil = pytest.importorskip("PIL.Image")
    rgb = np.zeros((40, 60, 3), np.uint8)
    rgb[:, :30] = (200, 30, 10)  # red-ish on the left
    rgb[:, 30:] = (10, 30, 200)  # blue-ish on the right
    buffer = io.BytesIO()
    pil.fromarray(rgb).convert("CMYK").save(buffer, "JPEG", quality=95)
    image = decode_image(buffer.getvalue(), "cmyk.jpg")
    assert_bgr8(image, 40, 60)
    assert np.abs(image[20, 10].astype(int) - (10, 30, 200)).max() < 12
    assert np.abs(image[20, 50].astype(int) - (200, 30, 10)).max() < 12


def test_real_sample_photo(sample_photo):
    image = read_image(sample_photo("players.jpg"))
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    assert image.shape[:2] == (800, 1237)


@pytest.mark.parametrize("name, expected", [
    ("a.jpg", True), ("b.JPEG", True), ("c.png", True), ("d.webp", True), ("notes.txt", False),
    (".hidden.jpg", False), ("archive.jpg.zip", False),
])
def test_is_image_name(name, expected, tmp_path):
    assert is_image_name(tmp_path / name) is expected


def png_header(width: int, height: int, colour: int) -> bytes:
    """A tiny PNG that declares a huge image (its pixels compress to almost nothing)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    channels = {0: 1, 6: 4}[colour]
    rows = zlib.compressobj(9)
    body = b"".join(rows.compress(b"\0" + bytes(width * channels)) for _ in range(64)) + rows.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0))
            + chunk(b"IDAT", body) + chunk(b"IEND", b""))


@pytest.mark.parametrize("colour", [0, 6])  # greyscale, RGBA
def test_a_huge_image_is_refused_from_its_header_with_little_memory(tmp_path, colour):
    import subprocess
    import sys

    path = tmp_path / "huge.png"
    path.write_bytes(png_header(20000, 20000, colour))
    if not Path("/proc/self/status").exists():
        pytest.skip("needs /proc to read the peak memory")
    # VmHWM, the peak resident memory of this process image (ru_maxrss would carry pytest's over exec)
    code = ("import re, sys\nfrom faceattend_tui.vision.imageio import ImageError, read_image\n"
            "try:\n    read_image(sys.argv[1])\nexcept ImageError as exc:\n    print(exc)\n"
            "print(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60)
    message, peak_kb = out.stdout.splitlines()
    assert "20000x20000 pixels, more than a photo may have" in message and str(path) in message
    assert int(peak_kb) < 500 * 1024


def test_header_sizes_of_every_photo_format(tmp_path):
    from faceattend_tui.vision.imagesize import image_size

    image = np.zeros((37, 53, 3), np.uint8)
    for ext in (".jpg", ".png", ".bmp", ".webp", ".tif"):
        assert image_size(encode(ext, image)) == (53, 37), ext
    assert image_size(b"not an image at all") is None


def test_reads_are_bounded(tmp_path, monkeypatch):
    import faceattend_tui.vision.imageio as imageio

    with pytest.raises(ImageError, match="not a regular file"):
        read_image("/dev/zero")
    monkeypatch.setattr(imageio, "MAX_BYTES", 1000)
    big = tmp_path / "big.jpg"
    big.write_bytes(jpeg_bytes(400, 400) + bytes(2000))
    with pytest.raises(ImageError, match="more than a photo may be"):
        read_image(big)


def test_a_large_jpeg_is_decoded_at_a_reduced_size(monkeypatch):
    import faceattend_tui.vision.imageio as imageio

    monkeypatch.setattr(imageio, "DECODE_PIXELS", 100 * 100)
    image = decode_image(jpeg_bytes(400, 400))
    assert image.shape == (100, 100, 3)


# ----- photos as a viewer shows them ------------------------------------------------------------------


def with_orientation(image: np.ndarray, orientation: int, fmt: str) -> bytes:
    """An image saved as a camera would, with its EXIF orientation tag."""
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    Image.fromarray(image[..., ::-1]).save(buffer, fmt, exif=exif.tobytes(), quality=100, lossless=fmt == "WEBP")
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "TIFF"])  # TIFF: OpenCV turns it itself, once
@pytest.mark.parametrize("orientation", range(1, 9))
def test_a_photo_is_turned_upright_as_its_exif_orientation_says(fmt, orientation):
    """A phone stores portraits sideways with an orientation tag: read as stored, the face lies on its side."""
    from PIL import Image, ImageOps

    rng = np.random.default_rng(orientation)
    image = cv2.resize(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8), (80, 60), interpolation=cv2.INTER_NEAREST)
    data = with_orientation(image, orientation, fmt)
    viewer = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))))[..., ::-1]
    ours = decode_image(data, "photo")
    assert ours.shape == viewer.shape == ((60, 80, 3) if orientation < 5 else (80, 60, 3))
    assert np.abs(ours.astype(int) - viewer).max() <= 2


def test_a_large_photo_decoded_at_a_reduced_size_is_turned_upright_too():
    rng = np.random.default_rng(0)
    image = cv2.resize(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8), (4032, 3024), interpolation=cv2.INTER_NEAREST)
    assert decode_image(with_orientation(image, 6, "JPEG"), "phone").shape == (2016, 1512, 3)


def test_a_motion_photo_is_read_and_a_cut_one_is_not():
    """Phones append a short video after the picture; the picture is whole."""
    picture = jpeg_bytes()
    video = bytes(range(256)) * 400  # no end-of-image marker by chance in it
    assert decode_image(picture + video, "PXL.MP.jpg").shape == (64, 80, 3)
    with pytest.raises(ImageError, match="truncated"):
        decode_image(picture[: len(picture) // 2] + video, "cut.MP.jpg")


def test_a_fifo_is_an_image_error_without_waiting_for_a_writer(tmp_path):
    import os

    fifo = tmp_path / "photo.jpg"
    os.mkfifo(fifo)
    with pytest.raises(ImageError, match="not a regular file"):
        read_image(fifo)
