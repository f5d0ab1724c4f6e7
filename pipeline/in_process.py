"""The factory without Ray: every shard job of a run in this process, in order.

For tests, benchmarks and tiny datasets; the bytes are those of `vrpsr generate` (the same plan, hashes
and shard jobs; only the scheduling differs).
"""

from __future__ import annotations

from pipeline.config import FactoryConfig, run_config_hash
from pipeline.run_plan import RunPlan, prepare_run
from pipeline.shard_job import make_base_shard, make_codec_shard
from shards.layout import BASE_GROUP
from shards.storage import Storage
from shards.writer_lease import WriterLease


def generate_in_process(config: FactoryConfig, storage_options: dict | None = None) -> RunPlan:
    """Make every shard of every group of `config` here (dataset.json, shards, manifests, markers)."""
    with WriterLease(Storage(config.out, storage_options), run_config_hash(config)):
        plan = prepare_run(config, storage_options)
        for index, items in enumerate(plan.shards):
            make_base_shard(config, index, items, plan.hashes[BASE_GROUP], storage_options)
            for codec in config.codecs:
                make_codec_shard(config, index, codec, plan.hashes[codec], storage_options)
    return plan
