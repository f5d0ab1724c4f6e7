"""Rate matching with a check: the matched picture X̂ is within one QP step of the target size R̄ (one step
of the codec's own parameter: a quality step for jpeg/webp).

codec_bindings.match_rate picks the QP q* whose size is closest to R̄. The check encodes the neighbour on the
other side of R̄ (q*-1 when X̂ is smaller than R̄, q*+1 when larger; quality +1 / -1) and requires R̄ to lie
between the two sizes: no step is skipped and the target is reachable. Anything else is returned marked
unmatched (the closest value and its size, and why): the protocol records it and leaves it out of means and
BD-rate, so one picture whose rate no QP reaches does not end an evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codec_bindings import Encoded, encode, get_codec, match_rate


@dataclass(frozen=True)
class MatchedPicture:
    encoded: Encoded
    target_bits: int
    encodes: int  # encodes spent, the check included
    neighbour_qp: int | None  # None when the size equals the target exactly (a quality for jpeg/webp)
    neighbour_bits: int | None
    unmatched: str = ""  # why the target was not bracketed ("" when it was)


def match_within_one_qp(
    image: np.ndarray, codec: str, target_bits: int, *, label: str, **encode_options
) -> MatchedPicture:
    """Rate-match `image` to `target_bits` and verify the bracket; `label` names the sample in `unmatched`."""
    match = match_rate(image, codec, target_bits, **encode_options)
    encoded = match.encoded
    if encoded.bits == target_bits:
        return MatchedPicture(encoded, target_bits, match.encodes, None, None)
    spec = get_codec(codec)
    finer = 1 if spec.higher_value_is_better else -1  # the step toward more bits (QP down, quality up)
    value, name = encoded.rate_value, "QP" if spec.rate_parameter == "qp" else "quality"
    neighbour_qp = value + finer if encoded.bits < target_bits else value - finer
    low, high = spec.rate_range
    if not low <= neighbour_qp <= high:
        return MatchedPicture(
            encoded,
            target_bits,
            match.encodes,
            None,
            None,
            f"{label}: {codec} cannot reach the target {target_bits} bits: {name} {value} "
            f"(the end of the range) gives {encoded.bits}",
        )
    neighbour = encode(image, codec, **{spec.rate_parameter: neighbour_qp}, **encode_options)
    smaller, larger = sorted((encoded.bits, neighbour.bits))
    unmatched = ""
    if not smaller <= target_bits <= larger:
        end = (high if finer < 0 else low) if encoded.bits > target_bits else (low if finer < 0 else high)
        end_bits = encode(image, codec, **{spec.rate_parameter: end}, **encode_options).bits
        if (end_bits - target_bits) * (encoded.bits - target_bits) > 0:  # even the end of the range misses
            unmatched = (
                f"{label}: {codec} cannot reach the target {target_bits} bits: {name} {end} "
                f"(the end of the range) gives {end_bits}"
            )
        else:
            unmatched = (
                f"{label}: {codec} match is not within one QP step of the target {target_bits} bits: "
                f"{name} {value} gives {encoded.bits}, {name} {neighbour_qp} gives {neighbour.bits}"
            )
    return MatchedPicture(encoded, target_bits, match.encodes + 1, neighbour_qp, neighbour.bits, unmatched)
