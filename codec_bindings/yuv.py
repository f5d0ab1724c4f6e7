"""RGB <-> YUV 4:2:0 with one fixed matrix, plus padding for the encoders.

We convert ourselves rather than through swscale so that the matrix, range and chroma filter are
known and recorded: forward = matrix then 2x2 box average of chroma (centre-sited); inverse =
bilinear chroma upsampling (half-pixel centres, matching the box average) then the inverse matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# Luma weights (Kr, Kb) per matrix; limited range: Y in [16, 235], Cb/Cr in [16, 240].
MATRICES = {"bt601": (0.299, 0.114), "bt709": (0.2126, 0.0722)}
RANGES = ("limited", "full")


@dataclass(frozen=True)
class Yuv420:
    """Three 8-bit planes; chroma is half size in both directions (width and height are even)."""

    y: np.ndarray
    u: np.ndarray
    v: np.ndarray

    @property
    def height(self) -> int:
        return self.y.shape[0]

    @property
    def width(self) -> int:
        return self.y.shape[1]

    def to_i420_bytes(self) -> bytes:
        return self.y.tobytes() + self.u.tobytes() + self.v.tobytes()


def _forward_matrix(matrix: str, value_range: str) -> np.ndarray:
    if matrix not in MATRICES:
        raise ValueError(f"unknown colour matrix {matrix!r}; known: {sorted(MATRICES)}")
    if value_range not in RANGES:
        raise ValueError(f"unknown range {value_range!r}; known: {list(RANGES)}")
    kr, kb = MATRICES[matrix]
    kg = 1.0 - kr - kb
    rgb_to_ypbpr = np.array(
        [
            [kr, kg, kb],
            [-0.5 * kr / (1 - kb), -0.5 * kg / (1 - kb), 0.5],
            [0.5, -0.5 * kg / (1 - kr), -0.5 * kb / (1 - kr)],
        ]
    )
    luma_scale, chroma_scale, luma_offset = (
        (219.0 / 255, 224.0 / 255, 16.0) if value_range == "limited" else (1.0, 1.0, 0.0)
    )
    scaled = rgb_to_ypbpr * np.array([[luma_scale], [chroma_scale], [chroma_scale]])
    offsets = np.array([[luma_offset], [128.0], [128.0]])
    return np.hstack([scaled, offsets])  # 3x4 affine, applied to R, G, B in 0..255


def rgb_to_yuv420(rgb: np.ndarray, matrix: str = "bt601", value_range: str = "limited") -> Yuv420:
    """RGB uint8 HxWx3 (H, W even) -> Yuv420 (rounded, clipped to 0..255)."""
    forward = _forward_matrix(matrix, value_range).astype(np.float32)
    luma = cv2.transform(rgb, forward[:1])  # uint8 in, uint8 out: rounded and saturated
    half = (rgb.shape[1] // 2, rgb.shape[0] // 2)
    # An exact 2x downscale with INTER_LINEAR (half-pixel centres) is the 2x2 box average.
    rgb_half = cv2.resize(rgb.astype(np.float32), half, interpolation=cv2.INTER_LINEAR)
    chroma = _to_uint8(cv2.transform(rgb_half, forward[1:]))
    return Yuv420(luma, np.ascontiguousarray(chroma[:, :, 0]), np.ascontiguousarray(chroma[:, :, 1]))


def yuv420_to_rgb(planes: Yuv420, matrix: str = "bt601", value_range: str = "limited") -> np.ndarray:
    """Yuv420 -> RGB uint8 HxWx3 (bilinear chroma upsampling, rounded and saturated)."""
    forward = _forward_matrix(matrix, value_range)
    inverse = np.linalg.inv(forward[:, :3])
    offsets = -inverse @ forward[:, 3]
    size = (planes.width, planes.height)
    luma = planes.y.astype(np.float32)
    u = cv2.resize(planes.u.astype(np.float32), size, interpolation=cv2.INTER_LINEAR)
    v = cv2.resize(planes.v.astype(np.float32), size, interpolation=cv2.INTER_LINEAR)
    channels = []
    for row, offset in zip(inverse, offsets):
        chroma_part = cv2.addWeighted(u, float(row[1]), v, float(row[2]), 0.0)
        channels.append(cv2.addWeighted(luma, float(row[0]), chroma_part, 1.0, float(offset), dtype=cv2.CV_8U))
    return cv2.merge(channels)


def _to_uint8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def pad_to(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Edge-replicate ``image`` at the bottom and right up to height x width."""
    pad_bottom, pad_right = height - image.shape[0], width - image.shape[1]
    if pad_bottom == 0 and pad_right == 0:
        return image
    return cv2.copyMakeBorder(image, 0, pad_bottom, 0, pad_right, cv2.BORDER_REPLICATE)


def padded_size(height: int, width: int, multiple: int, minimum: int) -> tuple[int, int]:
    """The smallest size >= (height, width) that is a multiple of ``multiple`` and at least ``minimum``."""

    def up(value: int) -> int:
        return max(minimum, -(-value // multiple) * multiple)

    return up(height), up(width)
