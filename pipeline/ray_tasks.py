"""The two Ray tasks of the factory, thin wrappers of pipeline.shard_job, and the memory each one declares.

Each task first checks its packages and encoder against what dataset.json records (pipeline.versions),
then makes its shard and returns the marker's stats plus where and how long it ran.
"""

from __future__ import annotations

import time

import ray

from pipeline.config import FactoryConfig
from pipeline.shard_job import make_base_shard, make_codec_shard
from pipeline.sources import SourceItem
from pipeline.versions import check_versions
from shards.layout import BASE_GROUP

TASK_RETRIES = 3
WORKER_OVERHEAD_BYTES = 400 * 2**20  # a Ray worker with av, cv2, numpy and pyarrow imported
RGB_BYTES_PER_PIXEL = 3
DEGRADE_WORKING_COPIES = 8  # float32 copies (4 bytes) of one picture alive while it is degraded


def base_task_memory(config: FactoryConfig) -> int:
    """Bytes a base task holds at its peak: the shard's PNG members plus one picture being degraded."""
    picture = config.size * config.size * RGB_BYTES_PER_PIXEL
    return WORKER_OVERHEAD_BYTES + config.shard_size * picture * 2 + picture * 4 * DEGRADE_WORKING_COPIES


def codec_task_memory(config: FactoryConfig) -> int:
    """Bytes a codec task holds at its peak: every input picture and one decoded picture per grid point."""
    picture = config.size * config.size * RGB_BYTES_PER_PIXEL
    points = max((len(config.grid_for(codec)) for codec in config.codecs), default=0) + len(config.crfs)
    inputs = 2 if config.lq_grid else 1
    return WORKER_OVERHEAD_BYTES + config.shard_size * inputs * picture * (2 + points)


def _ran_here(stats: dict, started: float) -> dict:
    return {**stats, "node_id": ray.get_runtime_context().get_node_id(), "seconds": time.perf_counter() - started}


@ray.remote(max_retries=TASK_RETRIES, retry_exceptions=True)
def base_task(
    config: FactoryConfig,
    index: int,
    items: list[SourceItem],
    config_hash: str,
    storage_options: dict | None,
    expected_versions: dict,
) -> dict:
    started = time.perf_counter()
    check_versions(BASE_GROUP, index, expected_versions)
    return _ran_here(make_base_shard(config, index, items, config_hash, storage_options), started)


@ray.remote(max_retries=TASK_RETRIES, retry_exceptions=True)
def codec_task(
    config: FactoryConfig,
    index: int,
    codec: str,
    config_hash: str,
    storage_options: dict | None,
    expected_versions: dict,
    base_done: object,
) -> dict:
    del base_done  # only orders this task after its base shard (a done base shard passes None)
    started = time.perf_counter()
    check_versions(codec, index, expected_versions)
    return _ran_here(make_codec_shard(config, index, codec, config_hash, storage_options), started)
