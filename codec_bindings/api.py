"""encode / decode / encode_many: one interface over x264, x265, av1 (PyAV), vvenc (ffmpeg process) and
jpeg, webp (Pillow).

Video codecs (converts_colour False) code vrpsr's own 4:2:0 planes (yuv.py) and are rated by a QP;
still-image codecs (converts_colour True) take RGB and convert colour themselves, as on the web, and are
rated by a quality (higher is better)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from codec_bindings.annexb import DROPPED_NAL_TYPES
from codec_bindings.av1 import AV1
from codec_bindings.decoder import decode_yuv420
from codec_bindings.encoded import Encoded
from codec_bindings.errors import CodecError, CodecInputError
from codec_bindings.jpeg import JPEG
from codec_bindings.validate import as_rgb_uint8, check_preset, check_rate_value, check_threads
from codec_bindings.vvenc import VVENC
from codec_bindings.webp import WEBP
from codec_bindings.x26x import X264, X265
from codec_bindings.yuv import Yuv420, pad_to, padded_size, rgb_to_yuv420, yuv420_to_rgb


class Codec(Protocol):
    """Everything the rest of vrpsr may know about a codec: ask it, never branch on its name."""

    name: str
    library: str  # the encoder's own name (libx264, libx265, libvvenc, libsvtav1, libjpeg, libwebp)
    decoder_name: str
    decoder_options: tuple[tuple[str, str], ...]
    bitstream_format: str
    file_suffix: str  # of a bitstream member in a shard (h264, h265, h266)
    default_preset: str
    presets: tuple[str, ...]
    max_qp: int  # the top of rate_range (kept for callers of the QP codecs)
    rate_parameter: str  # "qp" (a quantiser: lower is better) or "quality" (higher is better)
    rate_range: tuple[int, int]  # inclusive range of the rate parameter
    higher_value_is_better: bool
    default_grid: tuple[int, ...] | None  # the factory's grid; None: the factory's --qps grid
    converts_colour: bool  # True: takes RGB and converts colour itself (encode_rgb / decode_rgb)
    supports_crf: bool
    size_multiple: int
    min_size: int
    coded_bit_depth: int

    def version(self) -> str: ...

    def encode_yuv(
        self, planes: Yuv420, *, qp: int | None, crf: float | None, preset: str, threads: int
    ) -> tuple[bytes, dict]: ...

    def encode_yuv_many(
        self, pictures: list[Yuv420], *, qp: int, preset: str, threads: int
    ) -> list[tuple[bytes, dict]]: ...


CODECS: dict[str, Codec] = {"x264": X264, "x265": X265, "vvenc": VVENC, "av1": AV1, "jpeg": JPEG, "webp": WEBP}
CODEC_NAMES: tuple[str, ...] = tuple(CODECS)  # every list of codec names derives from this one dict
PAPER_CODECS: tuple[str, ...] = CODEC_NAMES[:3]  # the paper's three: the factory's default, one-hot positions 0-2
DEFAULT_MATRIX, DEFAULT_RANGE = "bt601", "limited"


def get_codec(name: str) -> Codec:
    if name not in CODECS:
        raise CodecInputError(f"unknown codec {name!r}; known: {', '.join(CODECS)}")
    return CODECS[name]


def encode(
    image: np.ndarray,
    codec: str,
    *,
    qp: int | None = None,
    crf: float | None = None,
    preset: str | None = None,
    threads: int = 1,
    matrix: str = DEFAULT_MATRIX,
    value_range: str = DEFAULT_RANGE,
    quality: int | None = None,
) -> Encoded:
    """Encode one RGB uint8 picture as one intra picture at constant ``qp`` (or ``crf``), or for a
    quality-rated codec (jpeg, webp) at ``quality``; ``matrix`` and ``value_range`` apply to video codecs."""
    spec = get_codec(codec)
    preset = preset or spec.default_preset
    check_rate_value(spec, qp, crf, quality)
    _check_common(codec, preset, threads)
    rgb = as_rgb_uint8(image)
    if spec.converts_colour:
        bitstream, encoder_params = spec.encode_rgb(rgb, value=quality, preset=preset, threads=threads)
        return _finish_still(rgb, spec, bitstream, encoder_params, quality, preset, threads)
    planes, padded = _prepare(rgb, spec, matrix, value_range)
    bitstream, encoder_params = spec.encode_yuv(planes, qp=qp, crf=crf, preset=preset, threads=threads)
    return _finish(rgb, spec, bitstream, encoder_params, padded, qp, crf, preset, threads, matrix, value_range)


def encode_many(
    images: Sequence[np.ndarray],
    codec: str,
    qps: Sequence[int],
    *,
    preset: str | None = None,
    threads: int = 1,
    matrix: str = DEFAULT_MATRIX,
    value_range: str = DEFAULT_RANGE,
) -> list[list[Encoded]]:
    """The whole grid of many pictures: result[i][j] is image i at qps[j] (the codec's rate parameter:
    QPs, or qualities for jpeg/webp).

    vvenc streams all pictures of one size through one process per QP; the others run in-process.
    """
    spec = get_codec(codec)
    preset = preset or spec.default_preset
    if spec.converts_colour:
        return [
            [encode(image, codec, quality=value, preset=preset, threads=threads) for value in qps] for image in images
        ]
    for qp in qps:
        check_rate_value(spec, qp, None, None)
    _check_common(codec, preset, threads)
    rgbs = [as_rgb_uint8(image) for image in images]
    prepared = [_prepare(rgb, spec, matrix, value_range) for rgb in rgbs]
    results: list[list[Encoded | None]] = [[None] * len(qps) for _ in rgbs]
    by_size: dict[tuple[int, int], list[int]] = {}
    for index, (_, padded) in enumerate(prepared):
        by_size.setdefault(padded, []).append(index)
    for indices in by_size.values():
        for qp_index, qp in enumerate(qps):
            outputs = spec.encode_yuv_many([prepared[i][0] for i in indices], qp=qp, preset=preset, threads=threads)
            for i, (bitstream, encoder_params) in zip(indices, outputs):
                results[i][qp_index] = _finish(
                    rgbs[i],
                    spec,
                    bitstream,
                    encoder_params,
                    prepared[i][1],
                    qp,
                    None,
                    preset,
                    threads,
                    matrix,
                    value_range,
                )
    return results  # type: ignore[return-value]


def decode(
    bitstream: bytes,
    codec: str,
    *,
    matrix: str = DEFAULT_MATRIX,
    value_range: str = DEFAULT_RANGE,
    size: tuple[int, int] | None = None,
    expected_sha256: str | None = None,
) -> np.ndarray:
    """Decode one picture bitstream to RGB uint8; ``size`` = (height, width) crops the codec padding off.

    ``expected_sha256`` (as recorded in params) is checked first: FFmpeg's HEVC decoder conceals a
    truncated slice without any error, so integrity must come from the recorded hash.
    """
    if expected_sha256 is not None and hashlib.sha256(bitstream).hexdigest() != expected_sha256:
        raise CodecError(
            f"{codec}: bitstream sha256 does not match the recorded {expected_sha256[:12]}… (corrupt or truncated)"
        )
    spec = get_codec(codec)
    if spec.converts_colour:
        rgb = spec.decode_rgb(bitstream)
    else:
        rgb = yuv420_to_rgb(decode_yuv420(bitstream, spec.decoder_name, spec.decoder_options), matrix, value_range)
    if size is not None:
        height, width = size
        if height > rgb.shape[0] or width > rgb.shape[1]:
            raise CodecError(
                f"{codec}: decoded picture {rgb.shape[1]}x{rgb.shape[0]} smaller than requested {width}x{height}"
            )
        rgb = rgb[:height, :width]
    return np.ascontiguousarray(rgb)


def _check_common(codec: str, preset: str, threads: int) -> None:
    check_preset(codec, preset, get_codec(codec).presets)
    check_threads(threads)


def _prepare(rgb: np.ndarray, spec: Codec, matrix: str, value_range: str) -> tuple[Yuv420, tuple[int, int]]:
    padded = padded_size(rgb.shape[0], rgb.shape[1], spec.size_multiple, spec.min_size)
    try:
        planes = rgb_to_yuv420(pad_to(rgb, *padded), matrix, value_range)
    except ValueError as error:
        raise CodecInputError(str(error)) from error
    return planes, padded


def _finish(
    rgb: np.ndarray,
    spec: Codec,
    bitstream: bytes,
    encoder_params: dict,
    padded: tuple[int, int],
    qp: int | None,
    crf: float | None,
    preset: str,
    threads: int,
    matrix: str,
    value_range: str,
) -> Encoded:
    height, width = rgb.shape[:2]
    recon_planes = decode_yuv420(bitstream, spec.decoder_name, spec.decoder_options)
    if (recon_planes.height, recon_planes.width) != padded:
        raise CodecError(
            f"{spec.name}: decoded {recon_planes.width}x{recon_planes.height}, encoded {padded[1]}x{padded[0]}"
        )
    recon = np.ascontiguousarray(yuv420_to_rgb(recon_planes, matrix, value_range)[:height, :width])
    bits = 8 * len(bitstream)
    params = {
        "codec": spec.name,
        **encoder_params,
        "preset": preset,
        "qp": qp,
        "slice_qp": qp,
        "crf": crf,
        "threads": threads,
        "intra": "one IDR picture",
        "color": {
            "matrix": matrix,
            "range": value_range,
            "chroma": "4:2:0, 2x2 box average down, bilinear up",
            "bit_depth": 8,
            "coded_bit_depth": spec.coded_bit_depth,
        },
        "width": width,
        "height": height,
        "padding": {"mode": "edge replicate, bottom/right", "padded_width": padded[1], "padded_height": padded[0]},
        "dropped_nal_units": sorted(set(DROPPED_NAL_TYPES[spec.bitstream_format].values()))
        if spec.bitstream_format in DROPPED_NAL_TYPES
        else list(spec.dropped_units),
        "bits": bits,
        "sha256": hashlib.sha256(bitstream).hexdigest(),
    }
    return Encoded(spec.name, bitstream, bits, bits / (width * height), qp, crf, recon, params)


def _finish_still(
    rgb: np.ndarray, spec: Codec, bitstream: bytes, encoder_params: dict, quality: int, preset: str, threads: int
) -> Encoded:
    """The Encoded of a still-image codec: decoded by the codec's own decoder, no padding, its colour recorded."""
    height, width = rgb.shape[:2]
    recon = spec.decode_rgb(bitstream)
    if recon.shape != rgb.shape:
        raise CodecError(f"{spec.name}: decoded {recon.shape[1]}x{recon.shape[0]}, encoded {width}x{height}")
    bits = 8 * len(bitstream)
    params = {
        "codec": spec.name,
        **encoder_params,
        "preset": preset,
        "qp": None,
        "quality": quality,
        "crf": None,
        "threads": threads,
        "intra": "one still picture",
        "color": {"matrix": "codec", "range": "codec", "conversion": spec.colour, "bit_depth": 8},
        "width": width,
        "height": height,
        "dropped_units": list(spec.dropped_units),
        "bits": bits,
        "sha256": hashlib.sha256(bitstream).hexdigest(),
    }
    return Encoded(spec.name, bitstream, bits, bits / (width * height), None, None, recon, params, quality)
