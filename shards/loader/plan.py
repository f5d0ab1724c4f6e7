"""Which shards a loader worker reads, in which order: plain functions of (seed, epoch, rank, worker).

    list_shards        the shard indices whose _done marker exists in every asked group
    split_by_node      every world_size-th shard of the epoch's order, starting at rank
    split_by_worker    every num_workers-th shard of a rank's share, starting at the worker id
    epoch_blocks       a worker's shards of one epoch, cut into shuffle blocks
    resampled_blocks   an endless stream of blocks drawn with replacement (step-based training)

A block is the unit of shuffling and of resume: its samples are permuted together, and a saved
position is (block, keys already consumed in it), so a resumed worker reads only its current block
again. Everything is a pure function of its arguments: the main process computes the same plan
as the workers to turn consumed keys into positions.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import posixpath
from collections.abc import Iterator, Sequence

import numpy as np

from shards.errors import ShardError
from shards.layout import BASE_GROUP, done_path, sample_key, shard_path
from shards.storage import Storage


def rng_for(*parts: int | str) -> np.random.Generator:
    """A generator seeded by the parts (seed, epoch, key, stage name...): same parts, same numbers, anywhere."""
    digest = hashlib.sha256(json.dumps(parts, separators=(",", ":")).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "little"))


def list_shards(storage: Storage, groups: Sequence[str], num_shards: int) -> tuple[list[int], list[int]]:
    """(complete, incomplete) shard indices below ``num_shards``: complete = marker present in every group."""
    marker_folder = posixpath.dirname(done_path(BASE_GROUP, 0))
    markers = set(storage.list(marker_folder))
    complete, incomplete = [], []
    for index in range(num_shards):
        done = all(done_path(group, index) in markers for group in (BASE_GROUP, *groups))
        (complete if done else incomplete).append(index)
    return complete, incomplete


def shard_index_of_url(url: str) -> tuple[str, int]:
    """'<root>/base/base-000012.tar' -> ('<root>', 12); the URL must name a base shard."""
    name = url.rstrip("/").rsplit("/", 1)[-1]
    digits = name.rsplit("-", 1)[-1].split(".", 1)[0]
    if digits.isdigit():
        relative = shard_path(BASE_GROUP, int(digits))
        if url.endswith("/" + relative):
            return url[: -len(relative) - 1], int(digits)
    raise ShardError(f"{url}: not a base shard URL (expected <root>/{shard_path(BASE_GROUP, 0)} and the like)")


def shard_of_key(key: str) -> int:
    """The shard index a sample key belongs to (checked by rebuilding the key with layout.sample_key)."""
    head, _, tail = key.partition("_")
    if head.isdigit() and tail.isdigit() and sample_key(int(head), int(tail)) == key:
        return int(head)
    raise ShardError(f"sample key {key!r} is not a vrpsr key like {sample_key(12, 3)!r}")


def split_by_node(shards: Sequence[int], rank: int, world_size: int) -> list[int]:
    if not 0 <= rank < world_size:
        raise ValueError(f"rank {rank} is not in [0, {world_size})")
    return list(shards[rank::world_size])


def split_by_worker(shards: Sequence[int], worker: int, num_workers: int) -> list[int]:
    if not 0 <= worker < num_workers:
        raise ValueError(f"worker {worker} is not in [0, {num_workers})")
    return list(shards[worker::num_workers])


def epoch_order(shards: Sequence[int], seed: int, epoch: int, shuffle: bool) -> list[int]:
    """All shards of one epoch in the order they are dealt to ranks and workers."""
    if not shuffle:
        return list(shards)
    return [shards[i] for i in rng_for(seed, epoch, "shard-order").permutation(len(shards))]


def epoch_blocks(
    shards: Sequence[int],
    *,
    seed: int,
    epoch: int,
    rank: int,
    world_size: int,
    worker: int,
    num_workers: int,
    shards_per_block: int,
    shuffle: bool,
) -> list[list[int]]:
    """One worker's shards of one epoch, in blocks of ``shards_per_block``; no shard is in two workers."""
    ordered = epoch_order(shards, seed, epoch, shuffle)
    mine = split_by_worker(split_by_node(ordered, rank, world_size), worker, num_workers)
    return [mine[start : start + shards_per_block] for start in range(0, len(mine), shards_per_block)]


def block_owners(
    shards: Sequence[int],
    *,
    seed: int,
    epoch: int,
    rank: int,
    world_size: int,
    num_workers: int,
    shards_per_block: int,
    shuffle: bool,
) -> dict[int, tuple[int, int]]:
    """shard index -> (worker, block) for one rank and epoch: how the main process attributes a consumed key."""
    owners = {}
    for worker in range(num_workers):
        blocks = epoch_blocks(
            shards,
            seed=seed,
            epoch=epoch,
            rank=rank,
            world_size=world_size,
            worker=worker,
            num_workers=num_workers,
            shards_per_block=shards_per_block,
            shuffle=shuffle,
        )
        for block_index, block in enumerate(blocks):
            for shard in block:
                owners[shard] = (worker, block_index)
    return owners


def resampled_blocks(
    shards: Sequence[int], *, seed: int, stream: str, rank: int, worker: int, shards_per_block: int
) -> Iterator[tuple[int, list[int]]]:
    """Endless (block index, shards) drawn uniformly with replacement; ``stream`` names the draw (epoch, resume)."""
    if not shards:
        return
    for block_index in itertools.count():
        rng = rng_for(seed, "resampled", stream, rank, worker, block_index)
        yield block_index, [int(shards[i]) for i in rng.integers(0, len(shards), size=shards_per_block)]


def block_permutation(size: int, *parts: int | str) -> np.ndarray:
    return rng_for(*parts, "block-order").permutation(size)


def lq_variant(count: int, seed: int, key: str, epoch: int | str) -> int:
    """Which of a sample's `count` LQ pictures (vrpsr generate --lq-variants) epoch `epoch` reads: epochs
    c*K ... c*K + K-1 walk one permutation of the K variants, drawn from (seed, key, c), so any K consecutive
    epochs from a multiple of K show each variant once. A resampled stream's draw (a str) picks uniformly."""
    if count <= 1:
        return 0
    if isinstance(epoch, str):
        return int(rng_for(seed, epoch, key, "lq-variant").integers(count))
    cycle, position = divmod(epoch, count)
    return int(rng_for(seed, cycle, key, "lq-variants").permutation(count)[position])
