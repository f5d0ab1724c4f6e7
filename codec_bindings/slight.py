"""The "slightly compressed" partner of a coded picture, which the trainers pair with it.

QP codecs (x264, x265, vvenc, av1): the picture at QP q - offset (the paper's q - 10).
Quality codecs (jpeg, webp), whose scales are not comparable to a QP: among the finer grid points, the
one whose bpp is nearest to twice the picture's bpp (ties: the lower quality), and only when some finer
point reaches twice the bpp, so the partner is never a near-copy of the picture at the top of the grid.
An offset of 0 (--supervision clean, which reads no partner) pairs every picture with itself.
Both rules read only what a sample records (its grid and each picture's bpp), so they are deterministic.
"""

from __future__ import annotations

from collections.abc import Mapping

from codec_bindings.api import get_codec

DOUBLE_BPP_RULE = "finer grid point nearest to 2 x bpp (one reaching 2 x bpp must exist)"


def slight_rule(codec: str, qp_offset: int) -> str:
    """The rule in words, for dataset.json and reports."""
    return f"qp - {qp_offset}" if get_codec(codec).rate_parameter == "qp" else DOUBLE_BPP_RULE


def slight_partner(codec: str, value: int, coded_bpp: Mapping[int, float], qp_offset: int) -> int | None:
    """The grid value of the partner of the picture at ``value`` (coded_bpp: grid value -> bpp), or None."""
    spec = get_codec(codec)
    if value not in coded_bpp:
        return None
    if qp_offset == 0:  # no partner wanted (trainers with --supervision clean): the picture itself
        return value
    if spec.rate_parameter == "qp":
        partner = value - qp_offset
        return partner if partner in coded_bpp else None
    finer = [other for other in coded_bpp if (other > value) == spec.higher_value_is_better and other != value]
    target = 2.0 * coded_bpp[value]
    if not finer or max(coded_bpp[other] for other in finer) < target:
        return None
    return min(finer, key=lambda other: (abs(coded_bpp[other] - target), abs(other - value)))
