"""jpeg and webp through Pillow: standard files an independent decoder (ffmpeg's) reads, bpp = the bytes
that decoder needs, the quality range and direction, the standard JPEG tables, reproducible bytes."""

from __future__ import annotations

import io
import subprocess

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from codec_bindings import CodecInputError, decode, encode, encode_many, get_codec, match_rate, psnr
from tests.codec_bindings.helpers import crop, load_rgb

STILL_CODECS = ("jpeg", "webp")
# ITU-T T.81 Annex K.1 luminance table (natural order), which libjpeg scales by its quality
ANNEX_K_LUMA = [16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56]
ANNEX_K_LUMA += [14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92]
ANNEX_K_LUMA += [49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99]


@pytest.fixture(scope="module")
def picture(photo_dir):
    return crop(load_rgb(photo_dir / "motorcycle.png"), 160, 32, 96)[:, :150]  # 150 x 160: not a block multiple


def ffmpeg_decode_rgb(data: bytes, tmp_path, suffix: str, width: int, height: int) -> np.ndarray:
    """Decode with FFmpeg's own decoders (mjpeg, webp) inside imageio-ffmpeg's binary: not libjpeg, not libwebp."""
    path = tmp_path / f"picture.{suffix}"
    path.write_bytes(data)
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-i", str(path)]
    command += ["-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    raw = subprocess.run(command, capture_output=True, check=True, timeout=120).stdout
    return np.frombuffer(raw, np.uint8).reshape(height, width, 3)


@pytest.mark.parametrize("codec", STILL_CODECS)
def test_an_independent_decoder_reads_the_bytes_and_bpp_counts_them(codec, picture, tmp_path):
    encoded = encode(picture, codec, quality=80)
    height, width = picture.shape[:2]
    other = ffmpeg_decode_rgb(encoded.bitstream, tmp_path, get_codec(codec).file_suffix, width, height)
    assert psnr(encoded.recon, other) > 35.0  # other upsampling / colour code: close, not bit-exact
    assert psnr(picture, encoded.recon) > 28.0
    assert encoded.bits == 8 * len(encoded.bitstream) and encoded.bpp == encoded.bits / (width * height)
    assert np.array_equal(decode(encoded.bitstream, codec, size=(height, width)), encoded.recon)
    assert (encoded.qp, encoded.crf, encoded.quality, encoded.rate_value) == (None, None, 80, 80)


def test_jpeg_is_baseline_420_with_the_standard_tables_and_no_app0(picture):
    for quality in (10, 50, 90):
        data = encode(picture, "jpeg", quality=quality).bitstream
        assert b"\xff\xe0" not in data.split(b"\xff\xda")[0]  # the JFIF APP0 segment is not counted (dropped)
        assert b"\xff\xc0" in data and b"\xff\xc2" not in data  # SOF0 baseline, not progressive
        with Image.open(io.BytesIO(data)) as image:
            assert image.layer[0][1:3] == (2, 2) and image.layer[1][1:3] == (1, 1)  # 4:2:0
            scale = 5000 // quality if quality < 50 else 200 - 2 * quality
            expected = [min(255, max(1, (value * scale + 50) // 100)) for value in ANNEX_K_LUMA]
            assert sorted(image.quantization[0]) == sorted(expected)


def test_webp_is_a_simple_lossy_file_at_the_fixed_method(picture):
    encoded = encode(picture, "webp", quality=60)
    assert encoded.bitstream[:4] == b"RIFF" and encoded.bitstream[8:16] == b"WEBPVP8 "
    assert encoded.params["options"] == {"quality": 60, "method": 4, "lossless": False, "exact": False}
    faster = encode(picture, "webp", quality=60, preset="0")
    assert faster.params["options"]["method"] == 0 and faster.bitstream != encoded.bitstream


@pytest.mark.parametrize("codec", STILL_CODECS)
def test_quality_range_direction_and_reproducible_bytes(codec, picture):
    spec = get_codec(codec)
    low, high = spec.rate_range
    assert (
        spec.rate_parameter == "quality"
        and spec.higher_value_is_better
        and (low, high)
        == (
            {"jpeg": 1, "webp": 0}[codec],
            100,
        )
    )
    sizes = [encode(picture, codec, quality=q).bits for q in (low, 30, 60, 90)]
    assert sizes == sorted(sizes) and len(set(sizes)) == 4
    assert encode(picture, codec, quality=42).bitstream == encode(picture, codec, quality=42).bitstream
    assert "Pillow" in encode(picture, codec, quality=42).params["encoder_version"]
    for bad in (low - 1, high + 1, 50.5):
        with pytest.raises(CodecInputError, match=f"quality must be an integer in {low}..{high}"):
            encode(picture, codec, quality=bad)
    with pytest.raises(CodecInputError, match="rated by quality"):
        encode(picture, codec, qp=30)
    with pytest.raises(CodecInputError, match="rated by QP"):
        encode(picture, "x264", quality=30)


@pytest.mark.parametrize("codec", STILL_CODECS)
def test_grid_and_rate_matching_walk_the_quality(codec, picture):
    grid = encode_many([picture, picture[:64, :80]], codec, [20, 70])
    assert [[e.quality for e in row] for row in grid] == [[20, 70], [20, 70]]
    assert grid[0][0].bitstream == encode(picture, codec, quality=20).bitstream
    target = encode(picture, codec, quality=63)
    match = match_rate(picture, codec, target.bits)
    assert match.encoded.bits == target.bits and match.encoded.quality is not None
    assert match.encodes <= 9  # bisection over 100 qualities
