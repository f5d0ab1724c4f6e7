"""center_crop_resized / random_crop_resized on the test photographs (PNG photos and JPEGs of many sizes)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline.crop import center_crop_resized, random_crop_resized, resized_shape
from pipeline.decode_image import decode_image
from pipeline.errors import SourceError
from tests.images import JPEGS


def _load(path: Path) -> np.ndarray:
    return decode_image(path.read_bytes(), path.name)


def test_center_crop_landscape_shrinks_with_area(photo_dir: Path) -> None:
    image = _load(photo_dir / "coffee.png")  # 768x512
    crop, record = center_crop_resized(image, 256)
    assert crop.shape == (256, 256, 3) and crop.dtype == np.uint8 and crop.flags.c_contiguous
    expected = cv2.resize(image, (384, 256), interpolation=cv2.INTER_AREA)[:, 64:320]
    assert np.array_equal(crop, expected)
    assert record == {
        "mode": "center",
        "source_size": [768, 512],
        "resized_size": [384, 256],
        "interpolation": "area",
        "box": [64, 0, 320, 256],
        "source_box": [128.0, 0.0, 640.0, 512.0],
    }
    assert json.loads(json.dumps(record)) == record


def test_center_crop_portrait(photo_dir: Path) -> None:
    image = _load(photo_dir / "astronaut.png")  # 512x768
    crop, record = center_crop_resized(image, 512)
    assert record["interpolation"] == "none" and record["box"] == [0, 128, 512, 640]
    assert np.array_equal(crop, image[128:640])
    assert not np.shares_memory(crop, image)


def test_random_crop_is_reproducible_and_inside(photo_dir: Path) -> None:
    image = _load(photo_dir / "chelsea.png")  # 768x512
    first = random_crop_resized(image, 200, np.random.default_rng(7))
    again = random_crop_resized(image, 200, np.random.default_rng(7))
    assert np.array_equal(first[0], again[0]) and first[1] == again[1]
    resized = cv2.resize(image, (300, 200), interpolation=cv2.INTER_AREA)
    rng = np.random.default_rng(8)
    for _ in range(20):
        crop, record = random_crop_resized(image, 200, rng)
        left, top, right, bottom = record["box"]
        assert record["mode"] == "random" and top == 0 and bottom == 200 and right == left + 200
        assert 0 <= left <= 100 and np.array_equal(crop, resized[top:bottom, left:right])
    boxes = [random_crop_resized(image[:60, :90], 20, rng)[1]["box"] for _ in range(600)]
    assert {box[0] for box in boxes} == set(range(11))  # 30x20 after resizing: every left offset
    json.dumps(record)


def test_small_image_is_enlarged_with_cubic(jpeg_dir: Path) -> None:
    image = _load(jpeg_dir / "camera_gray_350x156.JPEG")  # 350x156, grayscale
    assert image.shape == (156, 350, 3)
    crop, record = center_crop_resized(image, 256)
    assert record["interpolation"] == "cubic" and record["resized_size"] == [574, 256]
    expected = cv2.resize(image, (574, 256), interpolation=cv2.INTER_CUBIC)[:, 159:415]
    assert np.array_equal(crop, expected)


def test_tiny_image_is_refused(jpeg_dir: Path) -> None:
    smallest = min(jpeg_dir.glob("*.JPEG"), key=lambda path: min(_load(path).shape[:2]))
    assert smallest.name == "chelsea_face_86x108.JPEG"
    image = _load(smallest)
    height, width = image.shape[:2]
    assert min(height, width) == 86
    with pytest.raises(SourceError, match=rf"^{smallest.name}: image {width}x{height} is too small"):
        center_crop_resized(image, 256, name=smallest.name)
    with pytest.raises(SourceError, match="short side 86 < 128"):
        random_crop_resized(image, 256, np.random.default_rng(0))
    crop, record = center_crop_resized(image, 256, min_short_side=64)  # allowed: 3x upsampling
    assert crop.shape == (256, 256, 3) and record["interpolation"] == "cubic"


def test_min_short_side_can_forbid_any_upsampling() -> None:
    image = np.zeros((200, 300, 3), dtype=np.uint8)
    with pytest.raises(SourceError, match="image 300x200 is too small"):
        center_crop_resized(image, 256, min_short_side=256)
    assert center_crop_resized(image, 128, min_short_side=128)[0].shape == (128, 128, 3)


def test_crop_is_deterministic_on_every_jpeg(jpeg_dir: Path) -> None:
    paths = sorted(jpeg_dir.glob("*.JPEG"))
    assert len(paths) == len(JPEGS)
    for path in paths:
        image = _load(path)
        first, record = center_crop_resized(image, 128, name=path.name)
        second, _ = center_crop_resized(image.copy(), 128, name=path.name)
        assert first.shape == (128, 128, 3) and np.array_equal(first, second)
        width, height = record["resized_size"]
        assert min(width, height) == 128 and (width, height) == resized_shape(*record["source_size"], 128)


def test_bad_arguments() -> None:
    image = np.zeros((64, 64, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="positive int"):
        center_crop_resized(image, 0)
    with pytest.raises(SourceError, match="not an image array"):
        center_crop_resized(np.zeros((0, 5, 3), dtype=np.uint8), 32)
