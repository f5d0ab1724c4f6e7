"""Shared helpers for the codec tests: photo crops and the independent ffmpeg decoder."""

from __future__ import annotations

import subprocess
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np

from codec_bindings.yuv import Yuv420

RAW_FORMATS = {"x264": "h264", "x265": "hevc", "vvenc": "vvc"}


def load_rgb(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, f"cannot read {path}"
    return np.ascontiguousarray(image[:, :, ::-1])


def crop(image: np.ndarray, size: int, top: int = 0, left: int = 0) -> np.ndarray:
    return np.ascontiguousarray(image[top : top + size, left : left + size])


def ffmpeg_decode_yuv420(bitstream_path: Path, codec: str, width: int, height: int) -> Yuv420:
    """Decode with the ffmpeg binary of imageio-ffmpeg (a decoder independent of our PyAV path)."""
    pixel_format = "yuv420p10le" if codec == "vvenc" else "yuv420p"  # vvenc codes at 10 bits; we round to 8
    command = [
        imageio_ffmpeg.get_ffmpeg_exe(),
        "-hide_banner",
        "-loglevel",
        "error",
        "-f",
        RAW_FORMATS[codec],
        "-i",
        str(bitstream_path),
        "-f",
        "rawvideo",
        "-pix_fmt",
        pixel_format,
        "-",
    ]
    stdout = subprocess.run(command, capture_output=True, check=True, timeout=120).stdout
    if codec == "vvenc":
        raw = np.clip((np.frombuffer(stdout, "<u2").astype(np.uint32) + 2) >> 2, 0, 255).astype(np.uint8)
    else:
        raw = np.frombuffer(stdout, np.uint8)
    luma_size, chroma_size = width * height, (width // 2) * (height // 2)
    assert raw.size == luma_size + 2 * chroma_size, (
        f"ffmpeg produced {raw.size} bytes, expected one {width}x{height} picture"
    )
    return Yuv420(
        raw[:luma_size].reshape(height, width),
        raw[luma_size : luma_size + chroma_size].reshape(height // 2, width // 2),
        raw[luma_size + chroma_size :].reshape(height // 2, width // 2),
    )


def slice_qps(bitstream_path: Path, codec: str) -> list[int]:
    """Slice QPs as ffmpeg's trace_headers bitstream filter reads them (init QP + slice delta)."""
    command = [
        imageio_ffmpeg.get_ffmpeg_exe(),
        "-hide_banner",
        "-f",
        RAW_FORMATS[codec],
        "-i",
        str(bitstream_path),
        "-c",
        "copy",
        "-bsf:v",
        "trace_headers",
        "-f",
        "null",
        "-",
    ]
    log = subprocess.run(command, capture_output=True, text=True, check=True, timeout=120).stderr
    init_name = {"x264": "pic_init_qp_minus26", "x265": "init_qp_minus26", "vvenc": "pps_init_qp_minus26"}[codec]
    delta_name = {"x264": "slice_qp_delta", "x265": "slice_qp_delta", "vvenc": "sh_qp_delta"}[codec]
    init, qps = None, []
    for line in log.splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[-4] in (init_name, delta_name):
            value = int(fields[-1])
            if fields[-4] == init_name:
                init = 26 + value
            else:
                assert init is not None, "slice before picture parameter set"
                qps.append(init + value)
    return qps
