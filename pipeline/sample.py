"""One input image -> the base members of one sample: decode -> crop -> degrade -> PNG (plain functions)."""

from __future__ import annotations

import json

from pipeline.config import FactoryConfig
from pipeline.crop import center_crop_resized, random_crop_resized
from pipeline.decode_image import decode_image
from pipeline.degrade import degrade, rng_for_sample
from pipeline.sources import SourceItem, read_bytes
from shards.dataset_info import to_json_bytes
from shards.layout import CLEAN_SUFFIX, LQ_SUFFIX, META_SUFFIX
from shards.png import encode_png


def make_base_sample(
    item: SourceItem, key: str, config: FactoryConfig, storage_options: dict | None
) -> dict[str, bytes]:
    """Members {suffix: bytes} of one sample; raises SourceError (or ValueError) for a bad input."""
    image = decode_image(read_bytes(item, storage_options), item.name)
    if config.crop == "center":
        clean, crop_record = center_crop_resized(image, config.size, name=item.name)
    else:
        clean, crop_record = random_crop_resized(
            image, config.size, rng_for_sample(f"crop:{item.key_hint}", config.seed), name=item.name
        )
    lq, degradation_record = degrade(
        clean, config.degradation, rng_for_sample(item.key_hint, config.seed), config.scale
    )
    meta = {
        "key": key,
        "source": item.key_hint,
        "seed": config.seed,
        "size": config.size,
        "scale": config.scale,
        "crop": crop_record,
        "degradation": degradation_record,
    }
    if item.label is not None:  # what the source says of the input (class; WebDataset key/cls/txt/json)
        meta["label"] = item.label
    if item.fields is not None:
        meta["source_fields"] = json.loads(item.fields)
    return {
        CLEAN_SUFFIX: encode_png(clean, config.png_compression),
        LQ_SUFFIX: encode_png(lq, config.png_compression),
        META_SUFFIX: to_json_bytes(meta),
    }
