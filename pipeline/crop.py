"""Square crops: resize the short side to `size`, then cut size x size (centre or random).

Both return the crop and a JSON-serialisable record of what was done:
  {"mode": "center"|"random", "source_size": [w, h], "resized_size": [w, h],
   "interpolation": "area"|"cubic"|"none", "box": [left, top, right, bottom] (in the resized image),
   "source_box": [left, top, right, bottom] (the same box in source pixels, floats)}
Shrinking uses cv2.INTER_AREA, enlarging cv2.INTER_CUBIC (saturated to uint8); both deterministic.
An image whose short side is below `min_short_side` (default size // 2: never upsample more than 2x)
is refused with SourceError.
"""

from __future__ import annotations

import cv2
import numpy as np

from pipeline.errors import SourceError


def center_crop_resized(
    image: np.ndarray, size: int, min_short_side: int | None = None, name: str = "image"
) -> tuple[np.ndarray, dict]:
    """The centre size x size crop of `image` after resizing its short side to `size`."""
    resized, record = _resize_short_side(image, size, min_short_side, name)
    height, width = resized.shape[:2]
    return _cut(resized, record, "center", (width - size) // 2, (height - size) // 2, size)


def random_crop_resized(
    image: np.ndarray, size: int, rng: np.random.Generator, min_short_side: int | None = None, name: str = "image"
) -> tuple[np.ndarray, dict]:
    """A random size x size crop after resizing the short side to `size`; draws left, then top."""
    resized, record = _resize_short_side(image, size, min_short_side, name)
    height, width = resized.shape[:2]
    left = int(rng.integers(0, width - size + 1))
    top = int(rng.integers(0, height - size + 1))
    return _cut(resized, record, "random", left, top, size)


def resized_shape(width: int, height: int, size: int) -> tuple[int, int]:
    """(width, height) after scaling the short side to exactly `size` (long side rounded)."""
    if width <= height:
        return size, max(size, round(height * size / width))
    return max(size, round(width * size / height)), size


def _resize_short_side(image: np.ndarray, size: int, min_short_side: int | None, name: str) -> tuple[np.ndarray, dict]:
    if not isinstance(size, (int, np.integer)) or size <= 0:
        raise ValueError(f"crop size must be a positive int, got {size!r}")
    if image.ndim not in (2, 3) or image.shape[0] == 0 or image.shape[1] == 0:
        raise SourceError(f"{name}: not an image array (shape {image.shape})")
    height, width = image.shape[:2]
    limit = size // 2 if min_short_side is None else min_short_side
    if min(width, height) < limit:
        raise SourceError(
            f"{name}: image {width}x{height} is too small: short side {min(width, height)} < {limit} (crop size {size})"
        )
    new_width, new_height = resized_shape(width, height, size)
    if (new_width, new_height) == (width, height):
        resized, interpolation = image, "none"
    elif min(width, height) > size:
        resized = cv2.resize(image, (new_width, new_height), interpolation=cv2.INTER_AREA)
        interpolation = "area"
    else:
        resized = cv2.resize(image, (new_width, new_height), interpolation=cv2.INTER_CUBIC)
        interpolation = "cubic"
    if resized.ndim < image.ndim:  # cv2 drops a trailing channel axis of length 1
        resized = resized[:, :, None]
    record = {
        "source_size": [int(width), int(height)],
        "resized_size": [int(new_width), int(new_height)],
        "interpolation": interpolation,
    }
    return resized, record


def _cut(resized: np.ndarray, record: dict, mode: str, left: int, top: int, size: int) -> tuple[np.ndarray, dict]:
    crop = resized[top : top + size, left : left + size].copy()  # never a view of the input
    (width, height), (new_width, new_height) = record["source_size"], record["resized_size"]
    scale_x, scale_y = width / new_width, height / new_height
    source_box = [left * scale_x, top * scale_y, (left + size) * scale_x, (top + size) * scale_y]
    return crop, {
        "mode": mode,
        **record,
        "box": [left, top, left + size, top + size],
        "source_box": [round(value, 3) for value in source_box],
    }
