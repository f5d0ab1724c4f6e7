"""One input image -> the base members of one sample: decode -> crop -> degrade -> PNG (plain functions).

With FactoryConfig.lq_variants K > 1 the clean picture is degraded K times, each with its own seeded
generator (variant 0 exactly as with K = 1); meta.json's "degradation" records variant 0, "lq_variants"
the others by member."""

from __future__ import annotations

import json

from pipeline.config import FactoryConfig
from pipeline.crop import center_crop_resized, random_crop_resized
from pipeline.decode_image import decode_image
from pipeline.degrade import degrade, rng_for_sample
from pipeline.sources import SourceItem, read_bytes
from shards.dataset_info import to_json_bytes
from shards.layout import CLEAN_SUFFIX, LQ_SUFFIX, META_SUFFIX, lq_suffix
from shards.png import encode_png


def make_base_sample(
    item: SourceItem, key: str, config: FactoryConfig, storage_options: dict | None
) -> dict[str, bytes]:
    """Members {suffix: bytes} of one sample; raises SourceError (or ValueError) for a bad input."""
    image = decode_image(read_bytes(item, storage_options, config.max_input_bytes), item.name)
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
    members = {
        CLEAN_SUFFIX: encode_png(clean, config.png_compression),
        LQ_SUFFIX: encode_png(lq, config.png_compression),
    }
    if config.lq_variants > 1:  # more degradations of the same clean picture, each seeded by its number
        meta["lq_variants"] = {}
        for variant in range(1, config.lq_variants):
            rng = rng_for_sample(f"lq{variant}:{item.key_hint}", config.seed)
            lq, meta["lq_variants"][lq_suffix(variant)] = degrade(clean, config.degradation, rng, config.scale)
            members[lq_suffix(variant)] = encode_png(lq, config.png_compression)
    return {**members, META_SUFFIX: to_json_bytes(meta)}
