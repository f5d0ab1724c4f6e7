"""plan: listing, splitting by node and worker, blocks, keys and URLs."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from shards.errors import ShardError
from shards.layout import BASE_GROUP, done_path, sample_key, shard_path
from shards.loader.plan import (
    block_owners,
    epoch_blocks,
    list_shards,
    resampled_blocks,
    rng_for,
    shard_index_of_url,
    shard_of_key,
    split_by_node,
    split_by_worker,
)
from shards.storage import Storage

PLAN = {"seed": 3, "shards_per_block": 2, "shuffle": True}


def all_blocks(
    shards: list[int], epoch: int, world_size: int, num_workers: int
) -> dict[tuple[int, int], list[list[int]]]:
    return {
        (rank, worker): epoch_blocks(
            shards, epoch=epoch, rank=rank, world_size=world_size, worker=worker, num_workers=num_workers, **PLAN
        )
        for rank in range(world_size)
        for worker in range(num_workers)
    }


@pytest.mark.parametrize(
    ("num_shards", "world_size", "num_workers"), [(11, 2, 3), (4, 2, 2), (3, 2, 2), (1, 1, 1), (0, 2, 2)]
)
def test_every_shard_goes_to_exactly_one_worker(num_shards: int, world_size: int, num_workers: int) -> None:
    shards = list(range(100, 100 + num_shards))
    dealt = [
        shard
        for blocks in all_blocks(shards, 5, world_size, num_workers).values()
        for block in blocks
        for shard in block
    ]
    assert sorted(dealt) == shards


def test_split_by_node_and_worker_are_strided_and_check_their_ranges() -> None:
    assert split_by_node(list(range(7)), 1, 3) == [1, 4]
    assert split_by_worker([1, 4, 7, 9], 0, 2) == [1, 7]
    with pytest.raises(ValueError, match="rank 2"):
        split_by_node([1], 2, 2)
    with pytest.raises(ValueError, match="worker 3"):
        split_by_worker([1], 3, 3)


def test_epoch_order_is_deterministic_per_seed_and_epoch() -> None:
    shards = list(range(40))
    assert all_blocks(shards, 1, 2, 2) == all_blocks(shards, 1, 2, 2)
    assert all_blocks(shards, 1, 2, 2) != all_blocks(shards, 2, 2, 2)
    in_order = epoch_blocks(
        shards, seed=0, epoch=9, rank=0, world_size=1, worker=0, num_workers=1, shards_per_block=40, shuffle=False
    )
    assert in_order == [shards]


def test_block_owners_match_the_workers_blocks() -> None:
    shards = list(range(13))
    owners = block_owners(shards, epoch=4, rank=1, world_size=2, num_workers=3, **PLAN)
    for worker in range(3):
        blocks = epoch_blocks(shards, epoch=4, rank=1, world_size=2, worker=worker, num_workers=3, **PLAN)
        for block_index, block in enumerate(blocks):
            assert all(owners[shard] == (worker, block_index) for shard in block)
    assert len(owners) == len(split_by_node(list(range(13)), 1, 2))


def test_resampled_blocks_draw_from_the_shards_deterministically() -> None:
    shards = [3, 5, 8]

    def draw(stream: str) -> list:
        return list(
            itertools.islice(resampled_blocks(shards, seed=1, stream=stream, rank=0, worker=1, shards_per_block=4), 20)
        )

    first = draw("0.0")
    assert first == draw("0.0") and first != draw("0.7")
    assert [index for index, _ in first] == list(range(20))
    assert {shard for _, block in first for shard in block} == set(shards)
    assert list(resampled_blocks([], seed=1, stream="0", rank=0, worker=0, shards_per_block=2)) == []


def test_keys_and_urls_parse_back_to_shard_indices() -> None:
    assert shard_of_key(sample_key(123, 45)) == 123
    for bad in ("abc", "12_x", "000001-00002", "1_2"):
        with pytest.raises(ShardError, match="not a vrpsr key"):
            shard_of_key(bad)
    url = f"s3://bucket/data/{shard_path(BASE_GROUP, 17)}"
    assert shard_index_of_url(url) == ("s3://bucket/data", 17)
    with pytest.raises(ShardError, match="not a base shard URL"):
        shard_index_of_url(f"s3://bucket/data/{shard_path('x264', 17)}")


def test_rng_for_depends_on_every_part() -> None:
    assert rng_for(1, 2, "k").integers(1 << 40) == rng_for(1, 2, "k").integers(1 << 40)
    assert rng_for(1, 2, "k").integers(1 << 40) != rng_for(1, 3, "k").integers(1 << 40)


def test_list_shards_needs_a_marker_in_every_group(dataset_copy: Path) -> None:
    (dataset_copy / done_path("x265", 2)).unlink()
    storage = Storage(str(dataset_copy))
    assert list_shards(storage, ("x264", "x265"), 4) == ([0, 1, 3], [2])
    assert list_shards(storage, ("x264",), 4) == ([0, 1, 2, 3], [])
