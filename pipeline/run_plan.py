"""Plan a factory run: stream the source listing into shards, hash each group's config, list the done
markers once, check the dataset's recorded configs and record dataset.json (before any task runs)."""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pipeline.config import FactoryConfig, base_config_hash, codec_config_hash
from pipeline.resume import list_done, refuse_changed_groups, refuse_stale_markers
from pipeline.sources import SourceItem, iter_source
from pipeline.versions import group_versions
from shards.dataset_info import read_dataset_info, write_dataset_info
from shards.errors import ShardError
from shards.layout import BASE_GROUP, DATASET_FILE, DONE_FOLDER, SCHEMA_VERSION, grid_record
from shards.storage import Storage


@dataclass(frozen=True)
class RunPlan:
    """What a factory run will make: the inputs of each shard, each group's config hash and expected
    versions (as dataset.json records them), and the (group, shard) pairs already done."""

    shards: list[tuple[SourceItem, ...]]
    hashes: dict[str, str]
    versions: dict[str, dict]
    done: frozenset[tuple[str, int]]
    num_inputs: int


def source_items(config: FactoryConfig, storage_options: dict | None) -> Iterator[SourceItem]:
    """The source's inputs, streamed in listing order (the plan keeps them once, grouped in shards)."""
    return iter_source(
        config.source, storage_options, image_column=config.image_column, label_column=config.label_column
    )


def stream_plan(items: Iterable[SourceItem], shard_size: int) -> tuple[list[tuple[SourceItem, ...]], str, int]:
    """(shards, listing digest, item count) in one pass; the digest equals listing_digest of the keys.

    The cyclic GC is paused meanwhile (as list_source does): items hold no cycles, and rescanning 1.28 M
    new objects again and again doubled the plan time."""
    digest = hashlib.sha256()
    shards: list[tuple[SourceItem, ...]] = []
    current: list[SourceItem] = []
    count = 0
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for item in items:
            digest.update((b"\n" if count else b"") + item.key_hint.encode())
            current.append(item)
            count += 1
            if len(current) == shard_size:
                shards.append(tuple(current))
                current = []
    finally:
        if was_enabled:
            gc.enable()
    if current:
        shards.append(tuple(current))
    return shards, digest.hexdigest(), count


def prepare_run(config: FactoryConfig, storage_options: dict | None = None) -> RunPlan:
    """List the source, plan the shards, hash each group's config, list _done/ once and record dataset.json."""
    storage = Storage(config.out, storage_options)
    shards, digest, num_inputs = stream_plan(source_items(config, storage_options), config.shard_size)
    base_hash = base_config_hash(config, digest)
    mine = {BASE_GROUP: group_versions(BASE_GROUP), **{codec: group_versions(codec) for codec in config.codecs}}
    hashes = {
        BASE_GROUP: base_hash,
        **{codec: codec_config_hash(config, base_hash, codec, mine[codec]["encoder"]) for codec in config.codecs},
    }
    done = list_done(storage)
    info = read_dataset_info(storage)
    if info is None and done:
        raise ShardError(
            f"{storage.url(DATASET_FILE)}: missing, but {storage.url(DONE_FOLDER)} holds {len(done)} markers: write to a new OUT"
        )
    info = info or {"schema_version": SCHEMA_VERSION, "groups": {}}
    previous_base = info["groups"].get(BASE_GROUP, {}).get("config_hash")
    if previous_base not in (None, base_hash):
        raise ShardError(
            f"{storage.url(DATASET_FILE)}: the base group was made with config {previous_base}, this run's is "
            f"{base_hash} (seed, size, crop, degradation or the input listing changed): write to a new OUT"
        )
    refuse_changed_groups(storage, info["groups"], hashes, done)
    refuse_stale_markers(storage, hashes, done)
    versions = _record_dataset(storage, info, config, hashes, mine, len(shards), num_inputs)
    return RunPlan(shards, hashes, versions, done, num_inputs)


def _record_dataset(
    storage: Storage, info: dict, config: FactoryConfig, hashes: dict, mine: dict, num_shards: int, num_inputs: int
) -> dict[str, dict]:
    """Write dataset.json, keeping the groups an earlier run added and the versions a group was started with.

    Returns the versions every task of each group must have (the recorded ones)."""
    info.update(
        num_shards=num_shards,
        num_inputs=num_inputs,
        shard_size=config.shard_size,
        seed=config.seed,
        size=config.size,
        scale=config.scale,
        degradation=config.degradation,
        crop=config.crop,
        source=config.source,
    )
    if config.lq_variants != 1:  # datasets with one LQ per picture keep their dataset.json as it was
        info["lq_variants"] = config.lq_variants
    expected = {}
    for group in (BASE_GROUP, *config.codecs):
        previous = info["groups"].get(group, {})
        kept = previous.get("config_hash") == hashes[group] and "packages" in previous
        record = {"config_hash": hashes[group], "packages": previous["packages"] if kept else mine[group]["packages"]}
        expected[group] = {"packages": record["packages"]}
        if group != BASE_GROUP:
            record.update(
                {
                    "encoder_version": mine[group]["encoder"],
                    "preset": config.preset_for(group),
                    **grid_record(group, config.grid_for(group)),
                    "crfs": [float(c) for c in config.crfs],
                    "lq_grid": config.lq_grid,
                    "threads": config.threads,
                }
            )
            expected[group]["encoder"] = record["encoder_version"]
        info["groups"][group] = record
    write_dataset_info(storage, info)
    return expected
