"""One evaluation image: decode -> centre crop -> deterministic degradation -> bicubic upsampling.

The same steps and seeds as the dataset factory (pipeline/sample.py): the crop is the centre `size` crop of
the image resized on its short side; the degradation RNG is seeded from the image's source name (its path
relative to the source, e.g. ``kodim01.png``) and the seed, so ``vrpsr generate`` and ``vrpsr eval`` give the
same low-quality image. The upsampled image (cv2 bicubic to `size`, as the factory's ``--lq-grid``) is both
the input of scale-1 models and the picture whose encode defines the target size R̄.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from pipeline.crop import center_crop_resized
from pipeline.decode_image import decode_image
from pipeline.degrade import degrade, rng_for_sample
from pipeline.sources import SourceItem, list_source, read_bytes


@dataclass(frozen=True)
class EvalImage:
    name: str
    clean: np.ndarray  # size x size x 3: the target X
    lq: np.ndarray  # (size/scale)^2 x 3: the degraded input
    upsampled: np.ndarray  # lq bicubically upsampled to size
    record: dict  # crop and degradation parameters


def list_images(data: str, limit: int | None = None, storage_options: dict | None = None) -> list[SourceItem]:
    """The inputs of `data` (any factory SOURCE: folder, .txt, .tar, image, 'sample'), sorted by name."""
    items = list_source(data, storage_options)
    return items[:limit] if limit is not None else items


def upsample(lq: np.ndarray, size: int) -> np.ndarray:
    return cv2.resize(lq, (size, size), interpolation=cv2.INTER_CUBIC)


def prepare_image(
    item: SourceItem, size: int, degradation: str, scale: int, seed: int, storage_options: dict | None = None
) -> EvalImage:
    image = decode_image(read_bytes(item, storage_options), item.name)
    clean, crop_record = center_crop_resized(image, size, name=item.name)
    lq, degradation_record = degrade(clean, degradation, rng_for_sample(item.key_hint, seed), scale)
    return EvalImage(
        item.key_hint, clean, lq, upsample(lq, size), {"crop": crop_record, "degradation": degradation_record}
    )
