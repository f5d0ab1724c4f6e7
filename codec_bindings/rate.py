"""Rate-preserving recompression: pick the value of the codec's rate parameter whose picture size is
closest to a target.

Bisection over the values ordered from finest to coarsest (bits fall as a QP rises, or as a quality
falls). Tie rule: the closest size wins; on a tie the higher quality (lower QP, higher quality value).
Each value is encoded at most once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codec_bindings.api import encode, get_codec
from codec_bindings.encoded import Encoded
from codec_bindings.errors import CodecInputError


@dataclass(frozen=True)
class RateMatch:
    encoded: Encoded
    encodes: int
    target_bits: int


def match_rate(
    image: np.ndarray, codec: str, target_bits: int, qp_range: tuple[int, int] | None = None, **encode_options
) -> RateMatch:
    """Encode ``image`` at the value of the codec's rate parameter in ``qp_range`` (inclusive; QPs, or
    qualities for jpeg/webp; default: the codec's whole rate_range) whose size is closest to ``target_bits``."""
    spec = get_codec(codec)
    floor, ceiling = spec.rate_range
    low, high = qp_range if qp_range is not None else spec.rate_range
    if not floor <= low <= high <= ceiling:
        raise CodecInputError(f"{codec}: qp_range {qp_range} not within {floor}..{ceiling}")
    if target_bits <= 0:
        raise CodecInputError(f"{codec}: target_bits must be positive, got {target_bits}")
    values = list(range(low, high + 1))
    if spec.higher_value_is_better:
        values.reverse()  # finest first: bits fall along the list
    keyword = spec.rate_parameter
    cache: dict[int, Encoded] = {}

    def at(position: int) -> Encoded:
        if position not in cache:
            cache[position] = encode(image, codec, **{keyword: values[position]}, **encode_options)
        return cache[position]

    # First position (finest to coarsest) whose size is <= target (or the last when none is).
    lo, hi = 0, len(values) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if at(mid).bits > target_bits:
            lo = mid + 1
        else:
            hi = mid
    candidates = [position for position in (lo - 1, lo) if 0 <= position < len(values)]
    best = min(candidates, key=lambda position: (abs(at(position).bits - target_bits), position))
    return RateMatch(at(best), len(cache), target_bits)
