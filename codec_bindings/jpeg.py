"""Baseline JPEG with libjpeg-turbo through Pillow: 4:2:0, quality 1-100, the standard (Annex K) tables.

Why Pillow and not PyAV's mjpeg: libjpeg-turbo's IJG quality scale (1-100 over the Annex K tables) is
what cameras, browsers and web platforms use; FFmpeg's mjpeg encoder rates by qscale 1-31 and builds
optimised Huffman tables by default, so its files are not the ones users meet.

Options: quality=q, subsampling=2 (4:2:0), optimize=False (the standard Huffman tables), progressive=False
(baseline), no EXIF/ICC. libjpeg does the colour conversion (JFIF: BT.601 full range) and the 2x2 chroma
averaging itself, as in real recompression; decoding is libjpeg-turbo's (fancy upsampling), through Pillow.

Bits counted: every marker segment a baseline decoder needs (SOI, DQT, SOF0, DHT, SOS + entropy-coded
data, EOI). The 18-byte JFIF APP0 segment is dropped: decoders assume JFIF YCbCr for a 3-component file.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from codec_bindings.errors import CodecError
from codec_bindings.pillow_image import open_rgb, pillow_version, save_rgb

APP0 = 0xE0


@dataclass(frozen=True)
class JpegCodec:
    name: str = "jpeg"
    library: str = "libjpeg"  # the prompt names the library family, as libx264 / libx265
    decoder_name: str = "libjpeg-turbo (Pillow)"
    decoder_options: tuple[tuple[str, str], ...] = ()
    bitstream_format: str = "jpeg"
    file_suffix: str = "jpg"
    default_preset: str = "baseline"
    presets: tuple[str, ...] = ("baseline",)
    max_qp: int = 100
    rate_parameter: str = "quality"
    rate_range: tuple[int, int] = (1, 100)
    higher_value_is_better: bool = True
    default_grid: tuple[int, ...] | None = tuple(range(5, 96, 5))
    supports_crf: bool = False
    converts_colour: bool = True
    size_multiple: int = 1
    min_size: int = 1
    coded_bit_depth: int = 8
    dropped_units: tuple[str, ...] = ("JFIF APP0 segment",)
    colour: str = "JFIF: BT.601 full range, libjpeg 2x2 average down (h2v2), fancy upsampling"

    def version(self) -> str:
        return jpeg_version()

    def encoder_options(self, quality: int) -> dict:
        return {"quality": quality, "subsampling": 2, "optimize": False, "progressive": False}

    def encode_rgb(self, rgb: np.ndarray, *, value: int, preset: str, threads: int) -> tuple[bytes, dict]:
        options = self.encoder_options(value)
        data = drop_app0(save_rgb(rgb, "JPEG", options))
        return data, {"encoder": self.library, "encoder_version": jpeg_version(), "options": options}

    def decode_rgb(self, data: bytes) -> np.ndarray:
        return open_rgb(data, "JPEG")


def drop_app0(data: bytes) -> bytes:
    """The file without its APP0 (JFIF) segment: the segments between SOI and the first SOS are walked."""
    if data[:2] != b"\xff\xd8":
        raise CodecError("jpeg: the encoder's output does not start with SOI")
    kept, position = [data[:2]], 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            raise CodecError(f"jpeg: no marker at byte {position}")
        marker = data[position + 1]
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        if marker == 0xDA:  # SOS: the rest is entropy-coded data and EOI
            kept.append(data[position:])
            return b"".join(kept)
        if marker != APP0:
            kept.append(data[position : position + 2 + length])
        position += 2 + length
    raise CodecError("jpeg: no SOS segment in the encoder's output")


@functools.cache
def jpeg_version() -> str:
    return pillow_version("libjpeg_turbo")


JPEG = JpegCodec()
