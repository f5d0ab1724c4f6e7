"""Training batches from vrpsr shards: the streaming loader configured for step-based training."""
from __future__ import annotations

from collections.abc import Sequence

from shards.loader import ConditionSpec, ShardLoader, open_dataset


def shard_batches(root: str, batch_size: int, crop: int, seed: int = 0, workers: int = 2, codecs: Sequence[str] | None = None,
                  qp_range: tuple[int, int] = (0, 63), storage_options: dict | None = None, upsample_lq: bool = False,
                  resampled: bool = True, shuffle_buffer: int = 256) -> ShardLoader:  # fmt: skip
    """A DataLoader of item dicts (clean, lq, codec_out, codec_out_slight, codec_onehot, bpp, ...)."""
    dataset = open_dataset(root, groups=codecs, condition=ConditionSpec(qp_range=qp_range), crop=crop, seed=seed,
                           storage_options=storage_options, resampled=resampled, shuffle_buffer=shuffle_buffer,
                           upsample_lq=upsample_lq)  # fmt: skip
    return ShardLoader(dataset, batch_size=batch_size, num_workers=workers, persistent_workers=workers > 0, drop_last=True)


def held_out_batches(root: str, batch_size: int, crop: int, count: int, seed: int = 12345, **options) -> list[dict]:
    """`count` fixed batches (read in order, no shuffling) for the held-out check."""
    loader = shard_batches(root, batch_size, crop, seed=seed, workers=0, resampled=False, shuffle_buffer=0, **options)
    batches = []
    for batch in loader:
        batches.append(batch)
        if len(batches) == count:
            break
    return batches
