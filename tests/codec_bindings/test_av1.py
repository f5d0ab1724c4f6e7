"""av1 (SVT-AV1 + dav1d): the bitstream decodes alone with an independent decoder (ffmpeg's libaom),
bpp is the OBU bytes, the QP range is enforced and the bytes are reproducible."""

from __future__ import annotations

import subprocess

import imageio_ffmpeg
import numpy as np
import pytest

from codec_bindings import CodecInputError, decode, encode, get_codec, match_rate
from codec_bindings.av1 import OBU_SEQUENCE_HEADER, OBU_TEMPORAL_DELIMITER, split_obus
from codec_bindings.yuv import Yuv420, yuv420_to_rgb
from tests.codec_bindings.helpers import crop, load_rgb


@pytest.fixture(scope="module")
def picture(photo_dir):
    return crop(load_rgb(photo_dir / "coffee.png"), 128, 64, 128)


def libaom_decode(bitstream: bytes, tmp_path, width: int, height: int) -> Yuv420:
    """Decode with libaom inside imageio-ffmpeg's ffmpeg (not dav1d, not PyAV)."""
    path = tmp_path / "picture.obu"
    path.write_bytes(bitstream)
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-c:v", "libaom-av1"]
    command += ["-f", "obu", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"]
    raw = np.frombuffer(subprocess.run(command, capture_output=True, check=True, timeout=120).stdout, np.uint8)
    luma, chroma = width * height, (width // 2) * (height // 2)
    assert raw.size == luma + 2 * chroma
    return Yuv420(
        raw[:luma].reshape(height, width),
        raw[luma : luma + chroma].reshape(height // 2, width // 2),
        raw[luma + chroma :].reshape(height // 2, width // 2),
    )


def test_obus_decode_alone_with_libaom_to_the_recon_and_bpp_counts_them(picture, tmp_path):
    encoded = encode(picture, "av1", qp=40)
    assert np.array_equal(yuv420_to_rgb(libaom_decode(encoded.bitstream, tmp_path, 128, 128)), encoded.recon)
    types = [obu_type for obu_type, _ in split_obus(encoded.bitstream)]
    assert types[:2] == [OBU_TEMPORAL_DELIMITER, OBU_SEQUENCE_HEADER] and types.count(OBU_TEMPORAL_DELIMITER) == 1
    assert encoded.bits == 8 * len(encoded.bitstream) and encoded.bpp == encoded.bits / (128 * 128)
    assert np.array_equal(decode(encoded.bitstream, "av1", size=(128, 128)), encoded.recon)


def test_odd_sizes_are_padded_and_cropped_back(picture):
    image = picture[:45, :71]
    encoded = encode(image, "av1", qp=30)
    assert encoded.recon.shape == image.shape
    assert encoded.params["padding"]["padded_width"] == 72 and encoded.params["padding"]["padded_height"] == 46


def test_same_picture_same_bytes_and_the_options_are_recorded(picture):
    first, second = encode(picture, "av1", qp=35), encode(picture, "av1", qp=35)
    assert first.bitstream == second.bitstream
    assert first.params["options"] == {"preset": "8", "qp": "35", "svtav1-params": "rc=0:aq-mode=0:lp=1"}
    assert first.params["encoder_version"].startswith("SVT-AV1 ") and "unknown" not in first.params["encoder_version"]
    assert first.params["dropped_nal_units"] == []


def test_qp_range_and_direction(picture):
    spec = get_codec("av1")
    assert (spec.rate_parameter, spec.rate_range, spec.higher_value_is_better) == ("qp", (1, 63), False)
    sizes = [encode(picture, "av1", qp=qp).bits for qp in (10, 30, 50, 63)]
    assert sizes == sorted(sizes, reverse=True) and len(set(sizes)) == 4
    for bad in (0, 64):
        with pytest.raises(CodecInputError, match="out of range 1..63"):
            encode(picture, "av1", qp=bad)
    with pytest.raises(CodecInputError, match="CRF"):
        encode(picture, "av1", crf=30.0)


def test_match_rate_finds_the_qp_of_a_target(picture):
    target = encode(picture, "av1", qp=44)
    assert match_rate(picture, "av1", target.bits).encoded.qp == 44
