"""Every matched X̂ is within one QP step of R̄: checked against all QPs around it."""

from __future__ import annotations

import pytest

from codec_bindings import encode
from evaluation.images import list_images, prepare_image
from evaluation.matching import match_within_one_qp


@pytest.fixture(scope="module")
def photo(photo_dir):
    return prepare_image(list_images(str(photo_dir), limit=1)[0], 128, "s3diff", 4, 0)


@pytest.mark.parametrize("qp", [30, 40])
def test_match_brackets_the_target(photo, qp):
    target = encode(photo.upsampled, "x264", qp=qp).bits
    matched = match_within_one_qp(photo.clean, "x264", target, label="astronaut")
    sizes = {q: encode(photo.clean, "x264", qp=q).bits for q in range(matched.encoded.qp - 2, matched.encoded.qp + 3)}
    assert sizes[matched.encoded.qp] == matched.encoded.bits and sizes[matched.neighbour_qp] == matched.neighbour_bits
    assert (
        min(sizes[matched.encoded.qp], matched.neighbour_bits)
        <= target
        <= max(sizes[matched.encoded.qp], matched.neighbour_bits)
    )
    assert abs(matched.neighbour_qp - matched.encoded.qp) == 1 and matched.unmatched == ""
    # the closest size of all QPs around it
    assert abs(matched.encoded.bits - target) == min(abs(bits - target) for bits in sizes.values())


def test_the_same_picture_matches_its_own_qp(photo):
    target = encode(photo.upsampled, "x264", qp=37)
    matched = match_within_one_qp(photo.upsampled, "x264", target.bits, label="astronaut")
    assert matched.encoded.qp == 37 and matched.encoded.bits == target.bits and matched.neighbour_qp is None


def test_an_unreachable_target_is_returned_marked_unmatched_with_the_closest_qp(photo):
    matched = match_within_one_qp(photo.clean, "x264", 8, label="astronaut")
    assert matched.unmatched.startswith("astronaut: x264 cannot reach the target 8 bits: QP 51")
    assert matched.encoded.qp == 51 and matched.encoded.bits == encode(photo.clean, "x264", qp=51).bits


@pytest.mark.parametrize("codec", ["jpeg", "webp", "av1"])
def test_new_codecs_match_by_their_own_parameter(photo, codec):
    quality_codec = codec != "av1"
    target = encode(photo.upsampled, codec, **({"quality": 50} if quality_codec else {"qp": 30})).bits
    matched = match_within_one_qp(photo.clean, codec, target, label="astronaut")
    value = matched.encoded.quality if quality_codec else matched.encoded.qp
    assert value is not None and (matched.neighbour_qp is None or abs(matched.neighbour_qp - value) == 1)
    assert matched.unmatched == ""
    if matched.neighbour_bits is not None:
        assert (
            min(matched.encoded.bits, matched.neighbour_bits)
            <= target
            <= max(matched.encoded.bits, matched.neighbour_bits)
        )
    unreachable = match_within_one_qp(photo.clean, codec, 8, label="astronaut")
    assert unreachable.unmatched.startswith(f"astronaut: {codec} cannot reach the target 8 bits")
