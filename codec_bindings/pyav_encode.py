"""One picture through one of PyAV's in-process encoders (libx264, libx265, libsvtav1): the raw stream."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np

from codec_bindings.errors import CodecError
from codec_bindings.yuv import Yuv420


def encode_picture(
    library: str, planes: Yuv420, options: dict[str, str], *, threads: int, gop_size: int | None = None
) -> bytes:
    """Encode `planes` as the only frame of a fresh encoder context and flush it; CodecError names the
    library, the size and the options when the encoder fails or returns nothing."""
    context = av.CodecContext.create(library, "w")
    context.width, context.height = planes.width, planes.height
    context.pix_fmt = "yuv420p"
    context.time_base = Fraction(1, 25)
    if gop_size is not None:
        context.gop_size = gop_size
    context.thread_count = threads
    context.options = options
    i420 = np.concatenate([planes.y.ravel(), planes.u.ravel(), planes.v.ravel()]).reshape(-1, planes.width)
    frame = av.VideoFrame.from_ndarray(i420, format="yuv420p")
    frame.pts = 0
    try:
        packets = list(context.encode(frame)) + list(context.encode(None))
    except av.error.FFmpegError as error:
        raise CodecError(
            f"{library} failed on a {planes.width}x{planes.height} picture with {options}: {error}"
        ) from error
    stream = b"".join(bytes(packet) for packet in packets)
    if not stream:
        raise CodecError(f"{library} returned no bitstream for a {planes.width}x{planes.height} picture")
    return stream
