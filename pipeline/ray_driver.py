"""Schedule shard jobs on Ray (local or a cluster): one task per (shard, column group), retried,
skipped when its _done marker carries the same config hash; progress bar and a final summary."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import ray
from tqdm import tqdm

from codec_bindings.api import get_codec
from pipeline.config import FactoryConfig, base_config_hash, codec_config_hash, listing_digest
from pipeline.shard_job import make_base_shard, make_codec_shard
from pipeline.sources import SourceItem, list_source
from shards.dataset_info import read_dataset_info, write_dataset_info
from shards.errors import ShardError
from shards.layout import BASE_GROUP, SCHEMA_VERSION, done_path
from shards.storage import Storage

TASK_RETRIES = 3


@dataclass
class FactorySummary:
    shards: int = 0
    images_done: int = 0
    images_failed: int = 0
    bytes_written: int = 0
    skipped_tasks: int = 0
    ran_tasks: int = 0
    failed_tasks: list[str] = field(default_factory=list)
    encode_seconds: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    def render(self) -> str:
        per_codec = ", ".join(f"{codec} {seconds:.1f} s" for codec, seconds in self.encode_seconds.items()) or "none"
        lines = [
            f"shards: {self.shards}  tasks run: {self.ran_tasks}  skipped (already done): {self.skipped_tasks}",
            f"images done: {self.images_done}  failed: {self.images_failed} (see failures/*.parquet)",
            f"bytes written: {self.bytes_written / 1e6:.1f} MB  wall: {self.seconds:.1f} s",
            f"encode seconds per codec: {per_codec}",
        ]
        if self.failed_tasks:
            lines.append(f"FAILED tasks (rerun to resume): {', '.join(self.failed_tasks)}")
        return "\n".join(lines)


@ray.remote(max_retries=TASK_RETRIES, retry_exceptions=True)
def _base_task(config, index, items, config_hash, storage_options):
    return make_base_shard(config, index, items, config_hash, storage_options)


@ray.remote(max_retries=TASK_RETRIES, retry_exceptions=True)
def _codec_task(config, index, codec, config_hash, storage_options, base_done):
    del base_done  # only orders this task after its base shard
    return make_codec_shard(config, index, codec, config_hash, storage_options)


@dataclass(frozen=True)
class RunPlan:
    """What a factory run will make: the inputs of each shard and the config hash of each group."""

    shards: list[list[SourceItem]]
    hashes: dict[str, str]


def prepare_run(config: FactoryConfig, storage_options: dict | None = None) -> RunPlan:
    """List the source, plan the shards, hash each group's config and record dataset.json."""
    storage = Storage(config.out, storage_options)
    items = list_source(config.source, storage_options)
    shards = plan_shards(items, config.shard_size)
    base_hash = base_config_hash(config, listing_digest([item.key_hint for item in items]))
    versions = {codec: _encoder_version(codec) for codec in config.codecs}
    hashes = {BASE_GROUP: base_hash, **{codec: codec_config_hash(config, base_hash, codec, versions[codec]) for codec in config.codecs}}
    _record_dataset(storage, config, hashes, versions, len(shards), len(items))
    return RunPlan(shards, hashes)


def plan_shards(items: list[SourceItem], shard_size: int) -> list[list[SourceItem]]:
    return [items[start : start + shard_size] for start in range(0, len(items), shard_size)]


def run_factory(config: FactoryConfig, storage_options: dict | None = None, address: str | None = None,
                num_cpus: int | None = None, progress: bool = True) -> FactorySummary:
    started = time.perf_counter()
    storage = Storage(config.out, storage_options)
    plan = prepare_run(config, storage_options)
    shards, hashes, base_hash = plan.shards, plan.hashes, plan.hashes[BASE_GROUP]

    if not ray.is_initialized():
        ray.init(address=address, num_cpus=None if address else num_cpus, include_dashboard=False,
                 log_to_driver=False, configure_logging=False)  # fmt: skip
    summary = FactorySummary(shards=len(shards))
    pending: dict[ray.ObjectRef, tuple[str, int, int]] = {}
    for index, shard_items in enumerate(shards):
        base_ref = None
        if _is_done(storage, BASE_GROUP, index, base_hash):
            summary.skipped_tasks += 1
        else:
            base_ref = _base_task.remote(config, index, shard_items, base_hash, storage_options)
            pending[base_ref] = (BASE_GROUP, index, len(shard_items))
        for codec in config.codecs:
            if _is_done(storage, codec, index, hashes[codec]):
                summary.skipped_tasks += 1
                continue
            ref = _codec_task.options(num_cpus=config.threads).remote(config, index, codec, hashes[codec], storage_options, base_ref)
            pending[ref] = (codec, index, len(shard_items))

    images_total = sum(count for _, _, count in pending.values())
    with tqdm(total=images_total, unit="img", desc="vrpsr generate", disable=not progress, smoothing=0.1) as bar:
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            group, index, count = pending.pop(done[0])
            try:
                ray.get(done[0])
                summary.ran_tasks += 1
            except Exception as error:  # recorded; the rest of the job goes on; a rerun resumes
                summary.failed_tasks.append(f"{group}-{index:06d} ({type(error).__name__})")
                tqdm.write(f"task {group}-{index:06d} failed after {TASK_RETRIES} retries: {str(error)[-500:]}")
            bar.update(count)
    _fill_totals(storage, config, len(shards), summary)
    summary.seconds = time.perf_counter() - started
    return summary


def _encoder_version(codec: str) -> str:
    spec = get_codec(codec)
    if codec == "vvenc":
        from codec_bindings.vvenc import vvenc_version

        return vvenc_version()
    from codec_bindings.x26x import library_version

    return library_version(spec.library)  # type: ignore[attr-defined]


def _is_done(storage: Storage, group: str, index: int, config_hash: str) -> bool:
    marker = done_path(group, index)
    if not storage.exists(marker):
        return False
    recorded = json.loads(storage.read_bytes(marker)).get("config_hash")
    if recorded != config_hash:
        raise ShardError(
            f"{storage.url(marker)} was made with config {recorded}, this run's is {config_hash}: "
            "write to a new OUT (a dataset's base config cannot change under it)"
        )
    return True


def _record_dataset(storage: Storage, config: FactoryConfig, hashes: dict, versions: dict, num_shards: int, num_inputs: int) -> None:
    """Write dataset.json, keeping the groups an earlier run added (a codec group can be added later)."""
    info = read_dataset_info(storage) or {"schema_version": SCHEMA_VERSION, "groups": {}}
    previous_base = info["groups"].get(BASE_GROUP, {}).get("config_hash")
    if previous_base not in (None, hashes[BASE_GROUP]):
        raise ShardError(
            f"{storage.url('dataset.json')}: the base group was made with config {previous_base}, this run's is "
            f"{hashes[BASE_GROUP]} (seed, size, crop, degradation or the input listing changed): write to a new OUT"
        )
    info.update(num_shards=num_shards, num_inputs=num_inputs, shard_size=config.shard_size, seed=config.seed, size=config.size,
                scale=config.scale, degradation=config.degradation, crop=config.crop, source=config.source)  # fmt: skip
    info["groups"][BASE_GROUP] = {"config_hash": hashes[BASE_GROUP]}
    for codec in config.codecs:
        info["groups"][codec] = {
            "config_hash": hashes[codec], "encoder_version": versions[codec], "preset": config.preset_for(codec),
            "qps": list(config.qps), "crfs": [float(c) for c in config.crfs], "lq_grid": config.lq_grid, "threads": config.threads,
        }  # fmt: skip
    write_dataset_info(storage, info)


def _fill_totals(storage: Storage, config: FactoryConfig, num_shards: int, summary: FactorySummary) -> None:
    for index in range(num_shards):
        for group in (BASE_GROUP, *config.codecs):
            marker = done_path(group, index)
            if not storage.exists(marker):
                continue
            stats = json.loads(storage.read_bytes(marker))
            summary.bytes_written += stats["bytes"]
            if group == BASE_GROUP:
                summary.images_done += stats["samples"]
                summary.images_failed += stats["failed"]
            else:
                summary.encode_seconds[group] = summary.encode_seconds.get(group, 0.0) + stats["encode_seconds"]
