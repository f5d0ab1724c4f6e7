"""The PNG members of a shard (clean.png, lq.png): RGB uint8 in and out, written and read one way."""

from __future__ import annotations

import cv2
import numpy as np

from shards.errors import ShardError


def encode_png(rgb: np.ndarray, compression: int) -> bytes:
    """RGB uint8 -> PNG bytes (lossless; ``compression`` 0-9 trades size for time, never pixels)."""
    ok, data = cv2.imencode(".png", np.ascontiguousarray(rgb[:, :, ::-1]), [cv2.IMWRITE_PNG_COMPRESSION, compression])
    if not ok:
        raise ShardError(f"PNG encoding failed for a {rgb.shape} {rgb.dtype} picture")
    return data.tobytes()


def decode_png(data: bytes, name: str) -> np.ndarray:
    """PNG bytes -> RGB uint8; ``name`` (the member) is used in the error."""
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR_RGB)
    if image is None:
        raise ShardError(f"{name}: not a decodable PNG")
    return image
