"""decode_image on real photographs and on files built to be awkward or broken."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageFile

from pipeline.decode_image import decode_image
from pipeline.errors import SourceError
from tests.images import GRAYSCALE, JPEGS, PORTRAITS


def _encode(image: Image.Image, format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()


def test_every_jpeg_decodes(jpeg_dir: Path) -> None:
    paths = sorted(jpeg_dir.glob("*.JPEG"))
    assert len(paths) == len(JPEGS) and len(GRAYSCALE) == 3
    for path in paths:
        image = decode_image(path.read_bytes(), path.name)
        with Image.open(path) as reference:
            assert image.shape == (reference.height, reference.width, 3) and image.dtype == np.uint8
            assert (reference.mode == "L") == (path.name in GRAYSCALE), path.name
            if path.name in GRAYSCALE:
                assert np.array_equal(image[:, :, 0], np.asarray(reference))
                assert np.array_equal(image[:, :, 0], image[:, :, 2])
            else:
                assert np.array_equal(image, np.asarray(reference.convert("RGB")))


def test_png_photo_matches_opencv(photo_dir: Path) -> None:
    path = photo_dir / "rocket.png"  # portrait 512x768
    assert path.name in PORTRAITS
    image = decode_image(path.read_bytes(), path.name)
    assert image.shape == (768, 512, 3) and image.flags.c_contiguous
    assert np.array_equal(image, cv2.imread(str(path), cv2.IMREAD_COLOR)[:, :, ::-1])


def _png_with_damaged_pixels() -> bytes:
    data = bytearray(_encode(Image.fromarray(np.full((64, 64, 3), 90, np.uint8)), "PNG"))
    start = data.index(b"IDAT") + 8
    data[start : start + 16] = b"\xff" * 16  # breaks the zlib stream and the chunk CRC
    return bytes(data)


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "empty file"),
        (np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes(), "not an image"),
        (b"just some notes\nin a text file\n", "not an image"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "not an image"),
        (_png_with_damaged_pixels(), "corrupt"),
    ],
    ids=["empty", "random-bytes", "text", "png-signature-only", "damaged-png"],
)
def test_garbage_is_a_source_error(data: bytes, reason: str) -> None:
    with pytest.raises(SourceError, match=f"^bad.file: .*{reason}"):
        decode_image(data, "bad.file")


def test_truncated_jpeg_and_png_are_refused(jpeg_dir: Path, photo_dir: Path) -> None:
    for path in (
        jpeg_dir / "coffee_500x333.JPEG",
        jpeg_dir / "coffee_cup_375x500_progressive.JPEG",
        photo_dir / "coffee.png",
    ):
        data = path.read_bytes()
        with pytest.raises(SourceError, match=f"half-{path.name}: .*truncated"):
            decode_image(data[: len(data) // 2], f"half-{path.name}")


def test_refuses_to_run_when_truncated_images_are_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(RuntimeError, match="LOAD_TRUNCATED_IMAGES"):
        decode_image(_encode(Image.new("RGB", (8, 8)), "PNG"), "x.png")


def test_decompression_bomb_is_a_source_error(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _encode(Image.new("L", (100, 100)), "PNG")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000)  # 10,000 px > 2 x limit: PIL's error
    with pytest.raises(SourceError, match="bomb.png: .*decompression bomb"):
        decode_image(data, "bomb.png")


def test_cmyk_jpeg(photo_dir: Path) -> None:
    original = cv2.imread(str(photo_dir / "chelsea.png"), cv2.IMREAD_COLOR)[:, :, ::-1]
    data = _encode(Image.fromarray(original).convert("CMYK"), "JPEG", quality=95)
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    image = decode_image(data, "cmyk.jpg")
    assert image.shape == original.shape
    assert np.abs(image.astype(int) - original).mean() < 3.0


@pytest.mark.parametrize("extension", [".png", ".tiff"])
def test_sixteen_bit_gray_keeps_the_high_byte(extension: str) -> None:
    gradient = np.arange(0, 65536, 3, dtype=np.uint16).reshape(1, -1)
    ok, encoded = cv2.imencode(extension, gradient)
    assert ok and Image.open(io.BytesIO(encoded.tobytes())).mode.startswith("I;16")
    image = decode_image(encoded.tobytes(), "gray16" + extension)
    assert np.array_equal(image[0, :, 1], (gradient[0] >> 8).astype(np.uint8))
    assert image[0, 0, 0] == 0 and image[0, -1, 0] == 255
    eight_bit = np.arange(256, dtype=np.uint16).reshape(16, 16)
    ok, encoded = cv2.imencode(extension, eight_bit * 257)  # 8-bit values widened to 16 bits
    assert np.array_equal(decode_image(encoded.tobytes(), "x")[:, :, 2], eight_bit.astype(np.uint8))


def test_sixteen_bit_rgb_png_keeps_the_high_byte() -> None:
    rgb16 = np.random.default_rng(1).integers(0, 65536, (12, 9, 3), dtype=np.uint16)
    ok, encoded = cv2.imencode(".png", rgb16[:, :, ::-1])
    assert np.array_equal(decode_image(encoded.tobytes(), "rgb16.png"), (rgb16 >> 8).astype(np.uint8))


def test_float_tiff_is_taken_as_zero_to_one() -> None:
    values = np.array([[0.0, 0.5, 1.0, 2.0, -1.0, 0.25]], dtype=np.float32)
    image = decode_image(_encode(Image.fromarray(values, mode="F"), "TIFF"), "float.tif")
    assert image[0, :, 0].tolist() == [0, 128, 255, 255, 0, 64]


def _white_composite(colour: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    blended = colour.astype(float) * alpha[..., None] / 255 + 255 * (1 - alpha[..., None] / 255)
    return np.rint(blended).astype(np.uint8)


def test_rgba_and_la_are_composited_on_white() -> None:
    rng = np.random.default_rng(2)
    rgba = rng.integers(0, 256, (20, 30, 4), dtype=np.uint8)
    rgba[0, 0, 3], rgba[0, 1, 3] = 0, 255
    image = decode_image(_encode(Image.fromarray(rgba, mode="RGBA"), "PNG"), "rgba.png")
    assert np.array_equal(image, _white_composite(rgba[:, :, :3], rgba[:, :, 3]))
    assert image[0, 0].tolist() == [255, 255, 255] and np.array_equal(image[0, 1], rgba[0, 1, :3])
    gray_alpha = Image.fromarray(rgba[:, :, :2].copy(), mode="LA")
    image = decode_image(_encode(gray_alpha, "PNG"), "la.png")
    gray = np.repeat(rgba[:, :, :1], 3, axis=2)
    assert np.array_equal(image, _white_composite(gray, rgba[:, :, 1]))


def test_palette_png_with_transparency() -> None:
    indices = np.array([[0, 1, 2], [2, 1, 0]], dtype=np.uint8)
    palette = [255, 0, 0, 0, 200, 0, 10, 20, 30] + [0] * (256 * 3 - 9)
    image = Image.fromarray(indices, mode="P")
    image.putpalette(palette)
    single = decode_image(_encode(image, "PNG", transparency=1), "single.png")
    assert single[0].tolist() == [[255, 0, 0], [255, 255, 255], [10, 20, 30]]
    per_entry = decode_image(_encode(image, "PNG", transparency=bytes([255, 0, 128])), "alpha.png")
    expected = _white_composite(np.array([[10, 20, 30]]), np.array([128]))[0].tolist()
    assert per_entry[0].tolist() == [[255, 0, 0], [255, 255, 255], expected]
    opaque = decode_image(_encode(image, "PNG"), "opaque.png")
    assert opaque[1].tolist() == [[10, 20, 30], [0, 200, 0], [255, 0, 0]]


def test_exif_orientation_6_is_applied() -> None:
    stored = np.zeros((40, 60, 3), dtype=np.uint8)
    stored[:10, :10] = (255, 0, 0)  # a red block at the stored top-left
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    data = _encode(Image.fromarray(stored), "JPEG", quality=95, exif=exif.tobytes())
    raw = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    image = decode_image(data, "rotated.jpg")
    assert image.shape == (60, 40, 3)
    assert np.array_equal(image, np.rot90(raw, k=-1))
    assert image[2, -3, 0] > 200 and image[2, 2, 0] < 50  # the red block is now top-right


@pytest.mark.parametrize(
    "format, options",
    [
        ("PNG", {}),
        ("BMP", {}),
        ("WEBP", {"lossless": True}),
        ("TIFF", {}),
        ("GIF", {}),
    ],
)
def test_lossless_formats_round_trip(format: str, options: dict) -> None:
    rgb = np.random.default_rng(3).integers(0, 256, (17, 23, 3), dtype=np.uint8)
    if format == "GIF":  # palette only: use few colours
        rgb = (rgb // 128) * 255
    image = decode_image(_encode(Image.fromarray(rgb), format, **options), f"x.{format.lower()}")
    assert np.array_equal(image, rgb)


def test_one_bit_image() -> None:
    bits = np.array([[0, 1], [1, 0]], dtype=bool)
    image = decode_image(_encode(Image.fromarray(bits), "PNG"), "bits.png")
    assert image[:, :, 0].tolist() == [[0, 255], [255, 0]]
