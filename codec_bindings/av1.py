"""AV1 intra pictures (the coding of AVIF) with SVT-AV1 (libsvtav1 of the av wheel), decoded with dav1d.

Settings that make a picture reproducible and its QP the quantiser really used: one picture per fresh
encoder (a key frame), rc=0 with aq-mode=0 (constant QP, no adaptive quantisation, so no TPL), lp=1
(one thread: level of parallelism 1), and the asked preset. ``qp`` is SVT-AV1's 1-63 quantiser
(qindex about 4 x qp; 0 means "unset" to FFmpeg, so 1 is the finest). SVT_LOG=1 keeps the library's
banner off stderr (errors still print).

Bits counted: the whole temporal unit SVT-AV1 writes, i.e. a conformant low-overhead AV1 stream of one
picture: temporal delimiter (2 bytes; the spec requires it first in a temporal unit, and FFmpeg's OBU
demuxer refuses a stream without it), sequence header OBU and frame OBU. An AVIF file wraps the same
sequence header and frame in ~300 bytes of ISOBMFF boxes (ftyp, meta, iloc, av1C...) which no AV1
decoder needs: not counted.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path

import av

from codec_bindings.errors import CodecError
from codec_bindings.pyav_encode import encode_picture
from codec_bindings.yuv import Yuv420

os.environ.setdefault("SVT_LOG", "1")  # SVT-AV1 prints its config banner to stderr at every encoder start
SVT_PARAMS = "rc=0:aq-mode=0:lp=1"
OBU_TEMPORAL_DELIMITER = 2
OBU_SEQUENCE_HEADER = 1


@dataclass(frozen=True)
class SvtAv1Codec:
    name: str = "av1"
    library: str = "libsvtav1"
    decoder_name: str = "libdav1d"
    decoder_options: tuple[tuple[str, str], ...] = ()
    bitstream_format: str = "av1"  # low-overhead OBU stream (AV1 spec section 5)
    file_suffix: str = "obu"
    default_preset: str = "8"
    presets: tuple[str, ...] = tuple(str(p) for p in range(14))
    max_qp: int = 63
    rate_parameter: str = "qp"
    rate_range: tuple[int, int] = (1, 63)
    higher_value_is_better: bool = False
    default_grid: tuple[int, ...] | None = tuple(range(21, 64, 2))  # Kodak 512²: ~1.2 -> 0.1 bpp
    supports_crf: bool = False
    converts_colour: bool = False
    size_multiple: int = 2
    min_size: int = 16
    coded_bit_depth: int = 8
    dropped_units: tuple[str, ...] = ()

    def version(self) -> str:
        return svt_av1_version()

    def encoder_options(self, qp: int, preset: str) -> dict[str, str]:
        """The full option set handed to the encoder (also recorded in params)."""
        return {"preset": preset, "qp": str(qp), "svtav1-params": SVT_PARAMS}

    def encode_yuv(
        self, planes: Yuv420, *, qp: int | None, crf: float | None, preset: str, threads: int
    ) -> tuple[bytes, dict]:
        if qp is None:
            raise CodecError("av1: constant QP only (give qp)")
        options = self.encoder_options(qp, preset)
        stream = encode_obus(planes, options)
        split_obus(stream)  # every OBU well formed, with its size field
        return stream, {
            "encoder": self.library,
            "encoder_version": svt_av1_version(),
            "options": options,
        }

    def encode_yuv_many(
        self, pictures: list[Yuv420], *, qp: int, preset: str, threads: int
    ) -> list[tuple[bytes, dict]]:
        return [self.encode_yuv(picture, qp=qp, crf=None, preset=preset, threads=threads) for picture in pictures]


def encode_obus(planes: Yuv420, options: dict[str, str]) -> bytes:
    """One key frame, single-threaded (the options fix the rest)."""
    return encode_picture("libsvtav1", planes, options, threads=1, gop_size=1)


def split_obus(stream: bytes) -> list[tuple[int, bytes]]:
    """(obu_type, whole OBU bytes) of a low-overhead stream; every OBU must carry its size field."""
    obus, position = [], 0
    while position < len(stream):
        header = stream[position]
        obu_type, has_extension, has_size = (header >> 3) & 0xF, (header >> 2) & 1, (header >> 1) & 1
        if not has_size:
            raise CodecError(f"av1: OBU at byte {position} has no size field")
        cursor = position + 1 + has_extension
        size, shift = 0, 0
        while True:  # leb128
            if cursor >= len(stream):
                raise CodecError(f"av1: truncated OBU size at byte {cursor}")
            byte = stream[cursor]
            size |= (byte & 0x7F) << shift
            cursor, shift = cursor + 1, shift + 7
            if not byte & 0x80:
                break
        end = cursor + size
        if end > len(stream):
            raise CodecError(f"av1: OBU at byte {position} runs past the end ({end} > {len(stream)})")
        obus.append((obu_type, stream[position:end]))
        position = end
    return obus


@functools.cache
def svt_av1_version() -> str:
    """'SVT-AV1 4.1.0, dav1d so 7.0.0 (libavcodec 62.28.102, av 18.1.0)': SVT-AV1 writes no version into
    its bitstream and prints it only in its stderr banner, so the versions are read from the file names of
    the libraries the av wheel bundles (av.libs/libSvtAv1Enc-<hash>.so.<version>)."""
    libavcodec = ".".join(map(str, av.library_versions["libavcodec"]))
    return (
        f"SVT-AV1 {bundled_library_version('libSvtAv1Enc')}, dav1d so {bundled_library_version('libdav1d')} "
        f"(libavcodec {libavcodec}, av {av.__version__})"
    )


def bundled_library_version(stem: str) -> str:
    folder = Path(av.__file__).resolve().parent.parent / "av.libs"
    for path in sorted(folder.glob(f"{stem}-*.so.*")):
        match = re.search(r"\.so\.([\d.]+)$", path.name)
        if match:
            return match.group(1)
    return "unknown"


AV1 = SvtAv1Codec()
