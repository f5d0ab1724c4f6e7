"""Decode one picture bitstream with PyAV's native decoders (h264, hevc, vvc)."""

from __future__ import annotations

import av
import numpy as np

from codec_bindings.errors import CodecError
from codec_bindings.yuv import Yuv420


def decode_yuv420(bitstream: bytes, decoder_name: str, options: tuple[tuple[str, str], ...] = ()) -> Yuv420:
    """Decode the single 4:2:0 picture in ``bitstream`` to 8-bit planes (10-bit pictures rounded: (v + 2) >> 2);
    ``options``: decoder options (the codec's ``decoder_options``)."""
    if not isinstance(bitstream, (bytes, bytearray, memoryview)) or len(bitstream) == 0:
        raise CodecError(f"{decoder_name}: empty or non-bytes bitstream")
    context = av.CodecContext.create(decoder_name, "r")
    context.thread_count = 1
    context.options = dict(options)
    frames = []
    try:
        packets = context.parse(bytes(bitstream)) + context.parse(None)
        for packet in packets:
            frames.extend(context.decode(packet))
        frames.extend(context.decode(None))
    except (av.error.FFmpegError, ValueError) as error:
        raise CodecError(f"{decoder_name}: corrupt bitstream ({len(bitstream)} bytes): {error}") from error
    if len(frames) != 1:
        raise CodecError(
            f"{decoder_name}: expected one decoded picture, got {len(frames)} ({len(bitstream)} bytes; corrupt?)"
        )
    frame = frames[0]
    if frame.format.name == "yuv420p10le":  # vvenc codes 8-bit input at 10 bits internally
        i420 = np.clip((frame.to_ndarray().astype(np.uint16) + 2) >> 2, 0, 255).astype(np.uint8)
    elif frame.format.name == "yuv420p":
        i420 = frame.to_ndarray()
    else:
        raise CodecError(f"{decoder_name}: decoded pixel format {frame.format.name}, expected yuv420p or yuv420p10le")
    height, width = frame.height, frame.width
    luma = np.ascontiguousarray(i420[:height])
    chroma = i420[height:].reshape(2, height // 2, width // 2)
    return Yuv420(luma, np.ascontiguousarray(chroma[0]), np.ascontiguousarray(chroma[1]))
