"""The driver's parts on their own: the bounded batched loop on a real local Ray, the streaming plan,
the one-listing resume decision and the per-task memory requests."""

from __future__ import annotations

import json
import time

import pytest
import ray

from pipeline.config import FactoryConfig, listing_digest
from pipeline.driver_loop import BoundedLoop
from pipeline.ray_tasks import WORKER_OVERHEAD_BYTES, base_task_memory, codec_task_memory
from pipeline.resume import list_done, refuse_changed_groups, refuse_stale_markers
from pipeline.run_plan import stream_plan
from pipeline.sources import SourceItem
from shards.errors import ShardError
from shards.layout import done_path
from shards.markers import DoneMarker, write_marker
from shards.storage import Storage


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


@ray.remote(num_cpus=0.01)
def _echo(value: int) -> int:
    time.sleep(0.002)
    if value % 97 == 13:
        raise ValueError(f"task {value} fails on purpose")
    return value * 2


def test_bounded_loop_delivers_every_result_once_and_never_exceeds_the_bound(local_ray):
    finished: list[tuple[int, object, str | None]] = []
    loop = BoundedLoop(
        lambda info, result, error: finished.append((info, result, None if error is None else str(error))),
        max_in_flight=10,
    )
    submissions = (lambda value=value: [(_echo.options(max_retries=0).remote(value), value)] for value in range(300))
    loop.run(iter(submissions))
    assert sorted(info for info, _, _ in finished) == list(range(300))
    for info, result, error in finished:
        if info % 97 == 13:
            assert result is None and f"task {info} fails on purpose" in error
        else:
            assert (result, error) == (2 * info, None)
    assert loop.peak_in_flight == 10
    assert loop.wait_calls < 300  # batched: fewer waits than tasks


def test_bounded_loop_keeps_a_submission_together(local_ray):
    """A submission (a shard's base task and its codec tasks) may overshoot the bound, never split it."""
    finished = []
    loop = BoundedLoop(lambda info, result, error: finished.append(result), max_in_flight=3)
    loop.run(iter([lambda s=s: [(_echo.remote(20 * s + k), (s, k)) for k in range(4)] for s in range(5)]))
    assert sorted(finished) == sorted(2 * (20 * s + k) for s in range(5) for k in range(4))
    assert 4 <= loop.peak_in_flight <= 3 + 4 - 1  # below the bound, one more whole submission goes in


def test_stream_plan_matches_the_listing_digest_and_shard_sizes():
    items = [SourceItem(f"class{i % 7}/image{i:05d}.JPEG", f"s3://bucket/train/{i}") for i in range(1003)]
    shards, digest, count = stream_plan(iter(items), 64)
    assert count == 1003 and digest == listing_digest([item.key_hint for item in items])
    assert [len(shard) for shard in shards] == [64] * 15 + [43]
    assert [item for shard in shards for item in shard] == items


def test_one_listing_decides_what_is_done(tmp_path):
    storage = Storage(str(tmp_path))
    for group, index in (("base", 0), ("base", 1), ("x264", 0), ("vvenc", 12345)):
        storage.write_bytes(done_path(group, index), b"{}")
    storage.write_bytes("_done/notes.txt", b"not a marker")
    done = list_done(storage)
    assert done == {("base", 0), ("base", 1), ("x264", 0), ("vvenc", 12345)}
    assert list_done(Storage(str(tmp_path / "empty"))) == frozenset()


def test_a_group_with_markers_cannot_change_its_config(tmp_path):
    storage = Storage(str(tmp_path))
    recorded = {"base": {"config_hash": "b1"}, "x264": {"config_hash": "h1"}, "x265": {"config_hash": "old"}}
    done = frozenset({("base", 0), ("x264", 0)})
    refuse_changed_groups(
        storage, recorded, {"base": "b1", "x264": "h1", "x265": "new"}, done
    )  # x265 has no markers yet
    with pytest.raises(ShardError, match="group x264 was made with config h1, this run's is h2"):
        refuse_changed_groups(storage, recorded, {"base": "b1", "x264": "h2"}, done)


def test_memory_requests_grow_with_picture_size_and_grid(tmp_path):
    small = FactoryConfig(source="sample", out=str(tmp_path), qps=(30, 40), size=128, shard_size=4)
    large = FactoryConfig(source="sample", out=str(tmp_path), size=512, shard_size=64)  # 16 QPs
    assert WORKER_OVERHEAD_BYTES < codec_task_memory(small) < WORKER_OVERHEAD_BYTES + 2**20
    assert codec_task_memory(large) - WORKER_OVERHEAD_BYTES == 64 * 512 * 512 * 3 * (2 + 16)  # ~0.9 GiB of pictures
    assert base_task_memory(small) < base_task_memory(large)
    with_lq = FactoryConfig(source="sample", out=str(tmp_path), size=512, shard_size=64, lq_grid=True)
    assert codec_task_memory(with_lq) - WORKER_OVERHEAD_BYTES == 2 * (codec_task_memory(large) - WORKER_OVERHEAD_BYTES)
    json.dumps({"memory": codec_task_memory(large)})  # an int Ray accepts


def test_a_marker_made_under_another_config_is_refused(tmp_path):
    storage = Storage(str(tmp_path))
    for index in (3, 7):
        write_marker(storage, DoneMarker.for_tar("x264", index, "h1", b"the tar", samples=1))
    done = list_done(storage)
    refuse_stale_markers(storage, {"base": "b", "x264": "h1"}, done)  # base has no markers: nothing to read
    with pytest.raises(ShardError, match=r"x264-000003.json was made with config h1, this run's is h2"):
        refuse_stale_markers(storage, {"x264": "h2"}, done)
