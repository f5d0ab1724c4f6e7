"""What an encode returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Encoded:
    """One intra picture: the bitstream that decodes it alone, its rate and the decoded picture.

    bits = 8 * len(bitstream) (every byte needed to decode the picture alone: parameter sets + slices);
    bpp = bits / (width * height) of the real (unpadded) image.
    """

    codec: str
    bitstream: bytes
    bits: int
    bpp: float
    qp: int | None
    crf: float | None
    recon: np.ndarray = field(repr=False)
    params: dict = field(default_factory=dict)

    @property
    def height(self) -> int:
        return self.recon.shape[0]

    @property
    def width(self) -> int:
        return self.recon.shape[1]
