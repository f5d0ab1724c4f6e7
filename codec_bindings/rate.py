"""Rate-preserving recompression: pick the QP whose picture size is closest to a target.

Bisection over QP (bits fall as QP rises). Tie rule: the closest size wins; on a tie the higher
quality (lower QP). Each QP is encoded at most once.
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
    """Encode ``image`` at the QP in ``qp_range`` (inclusive) whose size is closest to ``target_bits``."""
    spec = get_codec(codec)
    low, high = qp_range if qp_range is not None else (0, spec.max_qp)
    if not 0 <= low <= high <= spec.max_qp:
        raise CodecInputError(f"{codec}: qp_range {qp_range} not within 0..{spec.max_qp}")
    if target_bits <= 0:
        raise CodecInputError(f"{codec}: target_bits must be positive, got {target_bits}")
    cache: dict[int, Encoded] = {}

    def at(qp: int) -> Encoded:
        if qp not in cache:
            cache[qp] = encode(image, codec, qp=qp, **encode_options)
        return cache[qp]

    # Smallest QP whose size is <= target (or `high` when none is).
    lo, hi = low, high
    while lo < hi:
        mid = (lo + hi) // 2
        if at(mid).bits > target_bits:
            lo = mid + 1
        else:
            hi = mid
    candidates = [qp for qp in (lo - 1, lo) if low <= qp <= high]
    best = min(candidates, key=lambda qp: (abs(at(qp).bits - target_bits), qp))
    return RateMatch(at(best), len(cache), target_bits)
