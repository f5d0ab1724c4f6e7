"""Rate matching with a check: the matched picture X̂ is within one QP step of the target size R̄.

codec_bindings.match_rate picks the QP q* whose size is closest to R̄. The check encodes the neighbour on the
other side of R̄ (q*-1 when X̂ is smaller than R̄, q*+1 when larger) and requires R̄ to lie between the two
sizes: no QP step is skipped and the target is reachable. Anything else is returned marked unmatched (the
closest QP and its size, and why): the protocol records it and leaves it out of means and BD-rate, so one
picture whose rate no QP reaches does not end an evaluation.
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
    neighbour_qp: int | None  # None when the size equals the target exactly
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
    neighbour_qp = encoded.qp - 1 if encoded.bits < target_bits else encoded.qp + 1
    if not 0 <= neighbour_qp <= get_codec(codec).max_qp:
        return MatchedPicture(
            encoded,
            target_bits,
            match.encodes,
            None,
            None,
            f"{label}: {codec} cannot reach the target {target_bits} bits: QP {encoded.qp} "
            f"(the end of the range) gives {encoded.bits}",
        )
    neighbour = encode(image, codec, qp=neighbour_qp, **encode_options)
    low, high = sorted((encoded.bits, neighbour.bits))
    unmatched = (
        ""
        if low <= target_bits <= high
        else f"{label}: {codec} match is not within one QP step of the target {target_bits} bits: "
        f"QP {encoded.qp} gives {encoded.bits}, QP {neighbour_qp} gives {neighbour.bits}"
    )
    return MatchedPicture(encoded, target_bits, match.encodes + 1, neighbour_qp, neighbour.bits, unmatched)
