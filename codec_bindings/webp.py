"""Lossy WebP with libwebp through Pillow: quality 0-100 at one fixed method (the preset, default 4).

Options: quality=q, method=m, lossless=False, exact=False, no alpha, no EXIF/ICC/XMP. libwebp converts
RGB to 4:2:0 BT.601 limited-range YUV itself (sharp_yuv off: Pillow does not ask for it) and is
single-threaded under Pillow, so the same picture gives the same bytes. Decoding: libwebp, through Pillow.

Bits counted: the whole .webp file, i.e. the VP8 key-frame bitstream plus the 20-byte RIFF/WEBP/VP8 chunk
header: every browser and libwebp's own file decoders need that header, so it is part of the rate here.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from codec_bindings.errors import CodecError
from codec_bindings.pillow_image import open_rgb, pillow_version, save_rgb


@dataclass(frozen=True)
class WebpCodec:
    name: str = "webp"
    library: str = "libwebp"
    decoder_name: str = "libwebp (Pillow)"
    decoder_options: tuple[tuple[str, str], ...] = ()
    bitstream_format: str = "webp"
    file_suffix: str = "webp"
    default_preset: str = "4"
    presets: tuple[str, ...] = tuple(str(method) for method in range(7))  # libwebp's method 0 (fast) .. 6
    max_qp: int = 100
    rate_parameter: str = "quality"
    rate_range: tuple[int, int] = (0, 100)
    higher_value_is_better: bool = True
    default_grid: tuple[int, ...] | None = tuple(range(0, 96, 5))
    supports_crf: bool = False
    converts_colour: bool = True
    size_multiple: int = 1
    min_size: int = 1
    coded_bit_depth: int = 8
    dropped_units: tuple[str, ...] = ()
    colour: str = "libwebp: BT.601 limited range, 4:2:0 (2x2 gamma-naive average down), libwebp upsampling"

    def version(self) -> str:
        return webp_version()

    def encoder_options(self, quality: int, preset: str) -> dict:
        return {"quality": quality, "method": int(preset), "lossless": False, "exact": False}

    def encode_rgb(self, rgb: np.ndarray, *, value: int, preset: str, threads: int) -> tuple[bytes, dict]:
        options = self.encoder_options(value, preset)
        data = save_rgb(rgb, "WEBP", options)
        if data[:4] != b"RIFF" or data[8:16] != b"WEBPVP8 ":
            raise CodecError(f"webp: expected a simple lossy file (RIFF/WEBP/VP8), got {data[:16]!r}")
        return data, {"encoder": self.library, "encoder_version": webp_version(), "options": options}

    def decode_rgb(self, data: bytes) -> np.ndarray:
        return open_rgb(data, "WEBP")


@functools.cache
def webp_version() -> str:
    return pillow_version("webp")


WEBP = WebpCodec()
