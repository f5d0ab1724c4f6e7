"""Still-image codecs through Pillow (its bundled libjpeg-turbo and libwebp): save RGB, open RGB."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, features

from codec_bindings.errors import CodecError


def save_rgb(rgb: np.ndarray, image_format: str, options: dict) -> bytes:
    buffer = io.BytesIO()
    try:
        Image.fromarray(rgb, "RGB").save(buffer, image_format, **options)
    except (OSError, ValueError) as error:
        raise CodecError(f"Pillow {image_format} failed on a {rgb.shape[1]}x{rgb.shape[0]} picture: {error}") from error
    return buffer.getvalue()


def open_rgb(data: bytes, image_format: str) -> np.ndarray:
    """Decode ``data`` (which must be ``image_format``) to RGB uint8; CodecError when it does not decode."""
    if not isinstance(data, (bytes, bytearray, memoryview)) or len(data) == 0:
        raise CodecError(f"{image_format}: empty or non-bytes bitstream")
    try:
        with Image.open(io.BytesIO(bytes(data)), formats=[image_format]) as image:
            image.load()
            if image.mode != "RGB":
                raise CodecError(f"{image_format}: decoded mode {image.mode}, expected RGB")
            return np.asarray(image).copy()
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise CodecError(f"{image_format}: corrupt bitstream ({len(data)} bytes): {error}") from error


def pillow_version(feature: str) -> str:
    import PIL

    return f"{feature} {features.version(feature)} (Pillow {PIL.__version__})"
