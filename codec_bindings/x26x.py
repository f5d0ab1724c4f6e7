"""x264 and x265 in-process through PyAV (libx264 / libx265 of the av wheel).

Settings that make a picture reproducible and its QP the slice QP really used:
keyint=1 (every picture an IDR), ipratio=1.0 (no intra QP offset: asked QP = slice QP),
x264 thread_count=1 (auto threads switch to sliced threads and change the picture),
x265 pools=<threads> with WPP on (the CLI default; bit-exact for any pool size), info=0 (no info SEI).
A fresh encoder per picture: CRF rate control would otherwise carry history between pictures.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import numpy as np

from codec_bindings.annexb import canonical_picture, nal_type, split_nal_units
from codec_bindings.errors import CodecError
from codec_bindings.pyav_encode import encode_picture
from codec_bindings.yuv import Yuv420

X26X_PRESETS = (
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
    "placebo",
)


@dataclass(frozen=True)
class X26xCodec:
    name: str
    library: str
    decoder_name: str
    bitstream_format: str
    file_suffix: str  # of a bitstream member in a shard
    default_preset: str = "medium"
    presets: tuple[str, ...] = X26X_PRESETS
    max_qp: int = 51
    max_crf: float = 51.0
    rate_parameter: str = "qp"
    rate_range: tuple[int, int] = (0, 51)
    higher_value_is_better: bool = False
    default_grid: tuple[int, ...] | None = None  # the factory's --qps grid
    converts_colour: bool = False
    supports_crf: bool = True
    size_multiple: int = 2
    min_size: int = 16
    coded_bit_depth: int = 8
    decoder_options: tuple[tuple[str, str], ...] = (("err_detect", "explode"),)  # corrupt slices are errors

    def version(self) -> str:
        """The encoder build in this process (read once from the version SEI it writes)."""
        return library_version(self.library)

    def encoder_options(self, qp: int | None, crf: float | None, preset: str, threads: int) -> dict[str, str]:
        """The full option set handed to the encoder (also recorded in params)."""
        rate = f"qp={qp}" if qp is not None else f"crf={crf}"
        if self.name == "x264":
            return {"preset": preset, "x264-params": f"{rate}:keyint=1:ipratio=1.0:threads={threads}"}
        return {
            "preset": preset,
            "x265-params": f"{rate}:keyint=1:ipratio=1.0:info=0:pools={threads}:frame-threads=1:log-level=error",
        }

    def encode_yuv(
        self, planes: Yuv420, *, qp: int | None, crf: float | None, preset: str, threads: int
    ) -> tuple[bytes, dict]:
        options = self.encoder_options(qp, crf, preset, threads)
        bitstream = canonical_picture(self._encode_units(planes, options, threads), self.bitstream_format)
        return bitstream, {
            "encoder": self.library,
            "encoder_version": library_version(self.library),
            "options": options,
        }

    def encode_yuv_many(
        self, pictures: list[Yuv420], *, qp: int, preset: str, threads: int
    ) -> list[tuple[bytes, dict]]:
        return [self.encode_yuv(picture, qp=qp, crf=None, preset=preset, threads=threads) for picture in pictures]

    def _encode_units(self, planes: Yuv420, options: dict[str, str], threads: int) -> list[bytes]:
        units = split_nal_units(encode_picture(self.library, planes, options, threads=threads))
        if not units:
            raise CodecError(f"{self.library} returned no NAL unit for a {planes.width}x{planes.height} picture")
        return units


@functools.cache
def library_version(library: str) -> str:
    """Encoder version string, read once from the version SEI the encoder writes (x264 always, x265 with info=1)."""
    codec = X264 if library == "libx264" else X265
    probe = Yuv420(np.full((16, 16), 128, np.uint8), np.full((8, 8), 128, np.uint8), np.full((8, 8), 128, np.uint8))
    options = codec.encoder_options(30, None, "ultrafast", 1)
    if library == "libx265":
        options = {**options, "x265-params": options["x265-params"].replace("info=0", "info=1")}
    sei_type = 6 if library == "libx264" else 39
    for unit in codec._encode_units(probe, options, 1):
        if nal_type(unit, codec.bitstream_format) == sei_type:
            text = unit.decode("latin-1")
            match = re.search(r"(x26[45][^\x00]*?)(?: - H\.26[45]| - H\.265| Copyright|\(c\)|$)", text)
            if match:
                return match.group(1).strip()
    return "unknown"


X264 = X26xCodec(name="x264", library="libx264", decoder_name="h264", bitstream_format="h264", file_suffix="h264")
X265 = X26xCodec(name="x265", library="libx265", decoder_name="hevc", bitstream_format="hevc", file_suffix="h265")
