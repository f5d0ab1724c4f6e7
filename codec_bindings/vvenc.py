"""vvenc (H.266) as the libvvenc encoder of the static ffmpeg shipped by imageio-ffmpeg.

Many pictures stream through one ffmpeg process (all-intra, constant QP) and the output is split into
per-picture bitstreams at the access unit delimiters. Each batched picture is rewritten to the exact
bytes of the same picture encoded alone (see annexb.rewrite_vvc_as_first_picture), so a picture's
bitstream never depends on which batch it was encoded in.

Settings: -qpa 0 (no perceptual QP adaptation), -g 1, IntraQPOffset=0 (asked QP = slice QP),
MCTF=0, BIM=0, ALFSpeed=0, MaxParallelFrames=0 (deterministic), DecodingRefreshType=2 (IDR pictures),
and the default 10-bit internal coding: the wrapper only accepts yuv420p10le input, so 8-bit planes are
shifted left by 2, and the decoded picture is rounded back to 8 bits ((v + 2) >> 2). We tried
InternalBitDepth=8: the VVC decoders of PyAV's FFmpeg and of the imageio-ffmpeg binary then disagree
on luma, while at 10 bits they agree bit for bit. Output goes to a file: vvenc prints warnings to stdout.
"""

from __future__ import annotations

import functools
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from codec_bindings.annexb import (
    VVC_IDR_N_LP,
    VVC_IDR_W_RADL,
    canonical_picture,
    nal_type,
    rewrite_vvc_as_first_picture,
    split_vvc_pictures,
)
from codec_bindings.errors import CodecError
from codec_bindings.process import run
from codec_bindings.yuv import Yuv420

VVENC_PARAMS = "IntraQPOffset=0:MCTF=0:BIM=0:ALFSpeed=0:MaxParallelFrames=0:DecodingRefreshType=2"
MAX_PICTURES_PER_PROCESS = 64
SECONDS_PER_PICTURE_LIMIT = 120.0


@dataclass(frozen=True)
class VvencCodec:
    name: str = "vvenc"
    library: str = "libvvenc"
    decoder_name: str = "vvc"
    bitstream_format: str = "vvc"
    file_suffix: str = "h266"  # of a bitstream member in a shard
    default_preset: str = "faster"
    presets: tuple[str, ...] = ("faster", "fast", "medium", "slow", "slower")
    max_qp: int = 63
    max_crf: float = 0.0
    rate_parameter: str = "qp"
    rate_range: tuple[int, int] = (0, 63)
    higher_value_is_better: bool = False
    default_grid: tuple[int, ...] | None = None  # the factory's --qps grid
    converts_colour: bool = False
    supports_crf: bool = False
    size_multiple: int = 2
    min_size: int = 32
    coded_bit_depth: int = 10  # 8-bit input coded at vvenc's default 10-bit internal depth (see above)
    decoder_options: tuple[tuple[str, str], ...] = ()  # FFmpeg's vvc decoder rejects err_detect=explode

    def version(self) -> str:
        """The vvenc build inside imageio-ffmpeg's ffmpeg (asked once per process)."""
        return vvenc_version()

    def command(self, width: int, height: int, qp: int, preset: str, threads: int, output: Path) -> list[str]:
        return [
            ffmpeg_exe(),
            "-hide_banner",
            "-nostats",
            "-loglevel",
            "error",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "yuv420p10le",
            "-s",
            f"{width}x{height}",
            "-r",
            "25",
            "-i",
            "pipe:0",
            "-c:v",
            "libvvenc",
            "-preset",
            preset,
            "-qp",
            str(qp),
            "-qpa",
            "0",
            "-g",
            "1",
            "-threads",
            str(threads),
            "-vvenc-params",
            VVENC_PARAMS,
            "-f",
            "vvc",
            "-y",
            str(output),
        ]

    def encode_yuv(
        self, planes: Yuv420, *, qp: int | None, crf: float | None, preset: str, threads: int
    ) -> tuple[bytes, dict]:
        if qp is None:
            raise CodecError("vvenc supports constant QP only (no CRF through libvvenc)")
        return self.encode_yuv_many([planes], qp=qp, preset=preset, threads=threads)[0]

    def encode_yuv_many(
        self, pictures: list[Yuv420], *, qp: int, preset: str, threads: int
    ) -> list[tuple[bytes, dict]]:
        """Encode pictures of one size, MAX_PICTURES_PER_PROCESS per ffmpeg process."""
        if len({(p.width, p.height) for p in pictures}) > 1:
            raise CodecError("vvenc batch: all pictures of one call must have the same size")
        results = []
        for start in range(0, len(pictures), MAX_PICTURES_PER_PROCESS):
            results.extend(self._encode_batch(pictures[start : start + MAX_PICTURES_PER_PROCESS], qp, preset, threads))
        return results

    def _encode_batch(self, pictures: list[Yuv420], qp: int, preset: str, threads: int) -> list[tuple[bytes, dict]]:
        width, height = pictures[0].width, pictures[0].height
        raw = b"".join((np.frombuffer(p.to_i420_bytes(), np.uint8).astype("<u2") << 2).tobytes() for p in pictures)
        with tempfile.TemporaryDirectory(prefix="vrpsr-vvenc-") as folder:
            output = Path(folder) / "out.266"
            command = self.command(width, height, qp, preset, threads, output)
            run(command, raw, timeout=SECONDS_PER_PICTURE_LIMIT * len(pictures))
            stream = output.read_bytes()
        split = split_vvc_pictures(stream)
        if len(split) != len(pictures):
            raise CodecError(
                f"vvenc returned {len(split)} pictures for {len(pictures)} inputs ({width}x{height}, qp {qp})"
            )
        params = {"encoder": self.library, "encoder_version": vvenc_version(), "command": _portable(command)}
        results = []
        for index, units in enumerate(split):
            rewritten = [
                rewrite_vvc_as_first_picture(unit, index)
                if nal_type(unit, "vvc") in (VVC_IDR_W_RADL, VVC_IDR_N_LP)
                else unit
                for unit in units
            ]
            results.append((canonical_picture(rewritten, "vvc"), params))
        return results


def _portable(command: list[str]) -> list[str]:
    """The command with machine-specific paths replaced, for the record."""
    return ["ffmpeg", *command[1:-1], "OUTPUT.266"]


def ffmpeg_exe() -> str:
    """imageio-ffmpeg's static ffmpeg (it has libvvenc); imported only when vvenc is used, so that
    decoding, x264 and x265 work where that package is absent."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


@functools.cache
def vvenc_version() -> str:
    """libvvenc version as ffmpeg reports it (one tiny encode, once per process)."""
    import imageio_ffmpeg

    command = [
        ffmpeg_exe(),
        "-hide_banner",
        "-loglevel",
        "verbose",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "yuv420p10le",
        "-s",
        "32x32",
        "-i",
        "pipe:0",
        "-c:v",
        "libvvenc",
        "-f",
        "null",
        "-",
    ]
    _, stderr = run(command, bytes(32 * 32 * 3), timeout=60)
    match = re.search(rb"libvvenc version: (\S+)", stderr)
    ffmpeg_version = imageio_ffmpeg.get_ffmpeg_version()
    return f"libvvenc {match.group(1).decode() if match else 'unknown'} (ffmpeg {ffmpeg_version})"


VVENC = VvencCodec()
