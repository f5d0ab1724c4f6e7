"""match_rate: the rate-preserving recompression of the paper lands within one QP step of the target."""

from __future__ import annotations

import cv2
import pytest

from codec_bindings import encode, match_rate
from tests.codec_bindings.helpers import crop, load_rgb

QP_RANGES = {"x264": (10, 51), "x265": (10, 51), "vvenc": (10, 63)}


@pytest.mark.parametrize("codec", ["x264", "x265", "vvenc"])
@pytest.mark.parametrize("photo,qp", [("coffee", 30), ("motorcycle", 38), ("ihc", 44)])
def test_match_rate_on_photos(codec, photo, qp, photo_dir):
    clean = crop(load_rgb(photo_dir / f"{photo}.png"), 192, 100, 200)
    target_bits = encode(clean, codec, qp=qp).bits
    # The same picture finds its own QP exactly.
    assert match_rate(clean, codec, target_bits, qp_range=QP_RANGES[codec]).encoded.qp == qp
    # Another picture (a restored version: smoother) lands within one QP step of the target rate.
    restored = cv2.GaussianBlur(clean, (0, 0), 1.2)
    result = match_rate(restored, codec, target_bits, qp_range=QP_RANGES[codec])
    chosen = result.encoded.qp
    low, high = QP_RANGES[codec]
    neighbour_bits = [encode(restored, codec, qp=q).bits for q in (chosen - 1, chosen + 1) if low <= q <= high]
    assert min(neighbour_bits + [result.encoded.bits]) <= target_bits <= max(neighbour_bits + [result.encoded.bits])
    assert abs(result.encoded.bits - target_bits) <= min(abs(b - target_bits) for b in neighbour_bits)
    assert result.encodes <= 8
