"""Build a small real dataset in-process (the shard jobs called directly, no Ray), for tests."""

from __future__ import annotations

from pathlib import Path

from pipeline.config import FactoryConfig
from pipeline.in_process import generate_in_process


def build_dataset(
    out: Path, images: list[Path], *, shard_size: int, size: int, qps: tuple[int, ...], codecs: tuple[str, ...]
) -> FactoryConfig:
    """What `vrpsr generate` writes: dataset.json, base and codec shards, markers."""
    listing = out.parent / f"{out.name}-inputs.txt"
    listing.write_text("".join(f"{path}\n" for path in images))
    config = FactoryConfig(source=str(listing), out=str(out), codecs=codecs, qps=qps, size=size, shard_size=shard_size)
    generate_in_process(config)
    return config
