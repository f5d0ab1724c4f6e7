"""Make one shard of one column group. Knows nothing of Ray: the driver maps these over a cluster.

Order of writes: tar, manifest (and failures), then the _done marker with stats and sha256. A crash
before the marker leaves the shard "not done"; a rerun rewrites it whole (atomic replaces).
"""

from __future__ import annotations

import time

import cv2
import numpy as np

from codec_bindings import encode, encode_many, get_codec, psnr
from pipeline.config import FactoryConfig
from pipeline.sample import make_base_sample
from pipeline.sources import SourceItem
from pipeline.sources.item import failure_source
from shards.codec_meta import codec_meta_bytes, picture_entry
from shards.layout import (
    BASE_GROUP,
    CLEAN_PICTURE,
    CLEAN_SUFFIX,
    LQ_PICTURE,
    LQ_SUFFIX,
    META_SUFFIX,
    bitstream_suffix,
    failures_path,
    manifest_path,
    picture_name,
    sample_key,
    shard_path,
)
from shards.manifest import table_bytes
from shards.markers import DoneMarker, write_marker
from shards.png import decode_png
from shards.storage import Storage
from shards.tar_format import build_tar, read_tar


def make_base_shard(
    config: FactoryConfig, index: int, items: list[SourceItem], config_hash: str, storage_options: dict | None = None
) -> dict:
    """Decode, crop and degrade the shard's inputs; bad inputs become rows of the failures table."""
    storage = Storage(config.out, storage_options)
    samples, rows, failures = [], [], []
    for position, item in enumerate(items):
        key = sample_key(index, position)
        try:
            members = make_base_sample(item, key, config, storage_options)
        except Exception as error:  # one bad input never stops the shard: it is recorded as data
            failures.append(
                {"shard": index, "source": failure_source(item), "reason": f"{type(error).__name__}: {error}"}
            )
            continue
        samples.append((key, members))
        rows.append(
            {
                "key": key,
                "shard": index,
                "source": item.key_hint,
                "width": config.size,
                "height": config.size,
                "label": item.label,
                "source_fields": item.fields,
            }
        )
    tar = build_tar(samples)
    storage.write_bytes(shard_path(BASE_GROUP, index), tar)
    storage.write_bytes(manifest_path(BASE_GROUP, index), table_bytes(rows, "base"))
    storage.write_bytes(failures_path(index), table_bytes(failures, "failures"))
    marker = DoneMarker.for_tar(BASE_GROUP, index, config_hash, tar, len(samples), failed=len(failures))
    write_marker(storage, marker)
    return marker.as_dict()


def make_codec_shard(
    config: FactoryConfig, index: int, codec: str, config_hash: str, storage_options: dict | None = None
) -> dict:
    """Code every sample of base shard ``index`` over the grid with ``codec``; same keys, same order."""
    storage = Storage(config.out, storage_options)
    base = read_tar(storage.read_bytes(shard_path(BASE_GROUP, index)), storage.url(shard_path(BASE_GROUP, index)))
    keys = [key for key, _ in base]
    cleans = [decode_png(members[CLEAN_SUFFIX], f"{key}.{CLEAN_SUFFIX}") for key, members in base]
    started = time.perf_counter()
    coded = {key: {} for key in keys}  # key -> picture name -> Encoded
    _code_grid(config, codec, keys, cleans, CLEAN_PICTURE, coded)
    if config.lq_grid:
        lqs = [decode_png(members[LQ_SUFFIX], f"{key}.{LQ_SUFFIX}") for key, members in base]
        upsampled = [cv2.resize(lq, (config.size, config.size), interpolation=cv2.INTER_CUBIC) for lq in lqs]
        _code_grid(config, codec, keys, upsampled, LQ_PICTURE, coded)
    encode_seconds = time.perf_counter() - started
    samples, rows = [], []
    for key in keys:
        members, pictures = {}, {}
        for name, encoded in coded[key].items():
            suffix = bitstream_suffix(codec, name)
            members[suffix] = encoded.bitstream
            picture = LQ_PICTURE if name.startswith(f"{LQ_PICTURE}_") else CLEAN_PICTURE
            entry = picture_entry(encoded, picture)
            pictures[name] = entry
            rows.append(
                {
                    "key": key,
                    "shard": index,
                    "codec": codec,
                    "picture": picture,
                    "mode": entry["mode"],
                    "qp": encoded.qp if encoded.quality is None else encoded.quality,  # see layout: mode says which
                    "crf": encoded.crf,
                    "bpp": encoded.bpp,
                    "psnr": entry["psnr"],
                    "bytes": len(encoded.bitstream),
                    "sha256": entry["sha256"],
                    "member": suffix,
                }
            )
        members[META_SUFFIX] = codec_meta_bytes(key, codec, _shared_params(coded[key]), pictures)
        samples.append((key, members))
    tar = build_tar(samples)
    storage.write_bytes(shard_path(codec, index), tar)
    storage.write_bytes(manifest_path(codec, index), table_bytes(rows, "codec"))
    marker = DoneMarker.for_tar(codec, index, config_hash, tar, len(samples), encode_seconds=encode_seconds)
    write_marker(storage, marker)
    return marker.as_dict()


def _code_grid(
    config: FactoryConfig, codec: str, keys: list[str], images: list[np.ndarray], picture: str, coded: dict
) -> None:
    if not images:
        return
    preset, spec = config.preset_for(codec), get_codec(codec)
    grid_values = config.grid_for(codec)
    if grid_values:
        grid = encode_many(images, codec, list(grid_values), preset=preset, threads=config.threads)
        for key, image, row in zip(keys, images, grid):
            for encoded in row:
                name = picture_name(picture, spec.rate_parameter, encoded.rate_value)
                _store(coded[key], name, encoded, image)
    if spec.supports_crf:  # libvvenc, av1, jpeg and webp have no CRF
        for crf in config.crfs:
            for key, image in zip(keys, images):
                encoded = encode(image, codec, crf=crf, preset=preset, threads=config.threads)
                _store(coded[key], picture_name(picture, "crf", int(round(crf))), encoded, image)


def _store(pictures: dict, name: str, encoded, image: np.ndarray) -> None:
    encoded.params["psnr"] = round(psnr(image, encoded.recon), 6)
    pictures[name] = encoded


PER_PICTURE_PARAMS = ("qp", "slice_qp", "crf", "quality", "bits", "sha256", "psnr", "options", "command")


def _shared_params(pictures: dict) -> dict:
    """The encoder parameters common to every picture of a sample (per-picture values live in 'pictures')."""
    first = next(iter(pictures.values())).params
    return {name: value for name, value in first.items() if name not in PER_PICTURE_PARAMS}
