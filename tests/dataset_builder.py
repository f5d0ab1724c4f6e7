"""Build a small real dataset in-process (the shard jobs called directly, no Ray), for tests."""
from __future__ import annotations

from pathlib import Path

from pipeline.config import FactoryConfig
from pipeline.ray_driver import prepare_run
from pipeline.shard_job import make_base_shard, make_codec_shard
from shards.layout import BASE_GROUP


def build_dataset(out: Path, images: list[Path], *, shard_size: int, size: int, qps: tuple[int, ...],
                  codecs: tuple[str, ...]) -> FactoryConfig:
    """What `vrpsr generate` writes: dataset.json, base and codec shards, markers."""
    listing = out.parent / f"{out.name}-inputs.txt"
    listing.write_text("".join(f"{path}\n" for path in images))
    config = FactoryConfig(source=str(listing), out=str(out), codecs=codecs, qps=qps, size=size, shard_size=shard_size)
    plan = prepare_run(config)
    for index, shard_items in enumerate(plan.shards):
        make_base_shard(config, index, shard_items, plan.hashes[BASE_GROUP])
        for codec in codecs:
            make_codec_shard(config, index, codec, plan.hashes[codec])
    return config
