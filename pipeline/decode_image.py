"""Decode any image file into an RGB uint8 array, or raise SourceError saying why not.

Rules (each one deterministic):
- the whole file is decoded (`load()`): truncated or corrupt files fail; PIL's
  `ImageFile.LOAD_TRUNCATED_IMAGES` must stay False (decode_image refuses to run otherwise);
- PIL's decompression-bomb limit is kept; an image over it is a SourceError;
- EXIF orientation is applied (the array is what a viewer shows), then the first frame is used;
- gray (1, L) is repeated into three channels; CMYK, YCbCr, palette etc. go through PIL's convert;
- 16-bit gray (I;16*, I) keeps the high byte (v >> 8), the same rule PIL applies to 16-bit RGB files,
  so 8-bit data stored as 16 bits (v * 257) comes back exact; float (F) is taken as 0..1;
- transparency (RGBA, LA, palette or single-colour tRNS) is composited on white, rounded:
  out = (c * a + 255 * (255 - a) + 127) // 255;
- embedded ICC profiles are not applied (values are taken as sRGB).
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from pipeline.errors import SourceError

SIXTEEN_BIT_GRAY_MODES = frozenset({"I;16", "I;16B", "I;16L", "I;16N", "I"})


def decode_image(data: bytes, name: str) -> np.ndarray:
    """RGB uint8 array (H, W, 3) of the image file `data`; `name` is used in error messages."""
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        raise RuntimeError(
            "PIL.ImageFile.LOAD_TRUNCATED_IMAGES is True in this process: truncated "
            "files would pass as images; find who sets it and leave it False"
        )
    if not data:
        raise SourceError(f"{name}: empty file")
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            upright = ImageOps.exif_transpose(image)
            rgb = _to_rgb(upright)
    except Image.DecompressionBombError as error:
        raise SourceError(f"{name}: refused as a possible decompression bomb ({error})") from error
    except UnidentifiedImageError as error:
        raise SourceError(f"{name}: not an image file Pillow can identify") from error
    except Exception as error:  # PIL raises OSError, SyntaxError, ValueError, EOFError... when corrupt
        raise SourceError(
            f"{name}: corrupt, truncated or unsupported image ({type(error).__name__}: {error})"
        ) from error
    return rgb


def _to_rgb(image: Image.Image) -> np.ndarray:
    """Any PIL mode -> contiguous RGB uint8 array (H, W, 3)."""
    mode = image.mode
    if mode in SIXTEEN_BIT_GRAY_MODES:
        values = np.asarray(image).astype(np.int64)
        return _gray_to_rgb((np.clip(values, 0, 65535) >> 8).astype(np.uint8))
    if mode == "F":
        values = np.nan_to_num(np.asarray(image, dtype=np.float64), nan=0.0)
        return _gray_to_rgb(np.clip(np.rint(values * 255.0), 0, 255).astype(np.uint8))
    if image.has_transparency_data:
        return _composite_on_white(np.asarray(image.convert("RGBA")))
    if mode in ("1", "L"):
        return _gray_to_rgb(np.asarray(image.convert("L")))
    if mode != "RGB":
        image = image.convert("RGB")
    return np.ascontiguousarray(np.asarray(image, dtype=np.uint8))


def _gray_to_rgb(gray: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2))


def _composite_on_white(rgba: np.ndarray) -> np.ndarray:
    """Alpha-composite RGBA (uint8) over white, exact integer rounding."""
    colour = rgba[:, :, :3].astype(np.int32)
    alpha = rgba[:, :, 3:4].astype(np.int32)
    blended = (colour * alpha + 255 * (255 - alpha) + 127) // 255
    return np.ascontiguousarray(blended.astype(np.uint8))
