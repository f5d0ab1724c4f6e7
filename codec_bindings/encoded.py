"""What an encode returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Encoded:
    """One intra picture: the bitstream that decodes it alone, its rate and the decoded picture.

    bits = 8 * len(bitstream) (every byte needed to decode the picture alone: parameter sets + slices;
    each codec's module says what that is for it); bpp = bits / (width * height) of the real (unpadded) image.
    qp is set for codecs rated by a quantiser (x264, x265, vvenc, av1), quality for those rated by a
    quality scale (jpeg, webp: higher is better), crf for x264/x265 CRF pictures.
    """

    codec: str
    bitstream: bytes
    bits: int
    bpp: float
    qp: int | None
    crf: float | None
    recon: np.ndarray = field(repr=False)
    params: dict = field(default_factory=dict)
    quality: int | None = None

    @property
    def rate_value(self) -> int | float | None:
        """The value of the rate parameter this picture was coded at (qp, quality or crf)."""
        return next((value for value in (self.qp, self.quality, self.crf) if value is not None), None)

    @property
    def height(self) -> int:
        return self.recon.shape[0]

    @property
    def width(self) -> int:
        return self.recon.shape[1]
