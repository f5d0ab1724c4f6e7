"""Training batches from vrpsr shards: the streaming loader configured for step-based training.

Each rank streams its own part of every epoch (the loader splits shards by rank, then by worker), so
the ranks' keys are disjoint and together cover the dataset once per epoch. Pictures leave the
workers as uint8 (a quarter of the bytes of float32 through shared memory and to the GPU); the
training loop scales them to [0, 1] floats on the device (``training.loop.to_device``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from shards.loader import ConditionSpec, ShardLoader, open_dataset
from shards.qp_pairs import SLIGHT_QP_OFFSET
from shards.storage import RETRY_SECONDS

PICTURE_DTYPES = {"uint8": torch.uint8, "float32": torch.float32}


@dataclass(frozen=True)
class DataConfig:
    """The data settings of a training run (the loader's own settings record is what resume checks)."""

    root: str
    batch_size: int
    crop: int
    seed: int = 0
    workers: int = 2
    codecs: tuple[str, ...] | None = None
    qp_range: tuple[int, int] = (0, 63)
    slight_qp_offset: int = SLIGHT_QP_OFFSET  # 0 when nothing reads codec_out_slight (supervision "clean")
    upsample_lq: bool = False
    shuffle_buffer: int = 256
    picture_dtype: str = "uint8"  # or "float32" (scaled in the workers)
    retry_seconds: float = RETRY_SECONDS  # how long an object-store outage is waited out


def shard_batches(config: DataConfig, rank: int, world_size: int, storage_options: dict | None = None) -> ShardLoader:
    """This rank's loader: epochs of its shards, re-iterated by the training loop (each pass = next epoch).
    Every worker's last short batch of an epoch is kept, so an epoch covers all of the rank's items."""
    if config.picture_dtype not in PICTURE_DTYPES:
        raise ValueError(f"picture_dtype must be one of {', '.join(PICTURE_DTYPES)}, got {config.picture_dtype!r}")
    dataset = open_dataset(
        config.root,
        groups=config.codecs,
        condition=ConditionSpec(qp_range=config.qp_range, slight_qp_offset=config.slight_qp_offset),
        crop=config.crop,
        seed=config.seed,
        storage_options=storage_options,
        rank=rank,
        world_size=world_size,
        shuffle_buffer=config.shuffle_buffer,
        upsample_lq=config.upsample_lq,
        picture_dtype=PICTURE_DTYPES[config.picture_dtype],
        retry_seconds=config.retry_seconds,
    )
    return ShardLoader(
        dataset,
        batch_size=config.batch_size,
        num_workers=config.workers,
        persistent_workers=config.workers > 0,
        drop_last=False,
    )


def held_out_batches(
    config: DataConfig, count: int, storage_options: dict | None = None, seed: int = 12345
) -> list[dict]:
    """`count` fixed batches (read in order, no shuffling, in this process) for the held-out check; every
    rank reads the same ones."""
    dataset = open_dataset(
        config.root,
        groups=config.codecs,
        condition=ConditionSpec(qp_range=config.qp_range, slight_qp_offset=config.slight_qp_offset),
        crop=config.crop,
        seed=seed,
        storage_options=storage_options,
        rank=0,
        world_size=1,
        shuffle_buffer=0,
        upsample_lq=config.upsample_lq,
        retry_seconds=config.retry_seconds,
    )
    batches = []
    for batch in ShardLoader(dataset, batch_size=config.batch_size, num_workers=0):
        batches.append(batch)
        if len(batches) == count:
            break
    return batches
