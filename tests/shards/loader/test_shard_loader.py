"""open_dataset end to end: epochs, ranks x workers, determinism, resume, corrupt data, S3."""

from __future__ import annotations

import itertools
import json
import logging
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
import s3fs
import torch

from shards.errors import ShardError
from shards.layout import BASE_GROUP, CLEAN_SUFFIX, member_name, shard_path
from shards.loader import ShardLoader, open_dataset
from shards.loader.condition import ConditionSpec
from tests.shards.conftest import TinyDataset, rewrite_member

CONDITION = ConditionSpec(qp_range=(30, 44))


def open_tiny(root: str, **overrides):
    options = {"crop": 64, "seed": 7, "condition": CONDITION, "shuffle_buffer": 2, **overrides}
    return open_dataset(root, **options)


def keys_of(batches) -> list[str]:
    return [key for batch in batches for key in (batch["key"] if isinstance(batch["key"], list) else [batch["key"]])]


def test_one_epoch_in_process_yields_every_key_once(tiny_dataset: TinyDataset) -> None:
    dataset = open_tiny(str(tiny_dataset.root))
    items = list(dataset)
    assert sorted(item["key"] for item in items) == sorted(tiny_dataset.keys)
    assert {item["clean"].shape for item in items} == {torch.Size([3, 64, 64])}
    assert {item["lq"].shape for item in items} == {torch.Size([3, 16, 16])}
    assert dataset.state_dict()["epoch"] == 1 and dataset.skips.shards == dataset.skips.samples == 0


def test_two_ranks_times_two_workers_see_every_key_exactly_once(tiny_dataset: TinyDataset) -> None:
    for epoch in range(2):
        seen = Counter()
        for rank in range(2):
            dataset = open_tiny(str(tiny_dataset.root), rank=rank, world_size=2)
            dataset.set_epoch(epoch)
            seen.update(keys_of(ShardLoader(dataset, batch_size=1, num_workers=2)))
        assert seen == Counter(tiny_dataset.keys), f"epoch {epoch}"


def test_persistent_workers_move_to_the_next_epoch_with_the_loader(tiny_dataset: TinyDataset) -> None:
    loader = ShardLoader(open_tiny(str(tiny_dataset.root)), batch_size=2, num_workers=2, persistent_workers=True)
    epochs = [[(k, p) for batch in loader for k, p in zip(batch["key"], batch["prompt"])] for _ in range(2)]
    assert all(sorted(k for k, _ in epoch) == sorted(tiny_dataset.keys) for epoch in epochs)
    assert epochs[0] != epochs[1] and loader.state_dict()["epoch"] == 2
    in_process = open_tiny(str(tiny_dataset.root))
    in_process.set_epoch(1)
    assert sorted(epochs[1]) == sorted((item["key"], item["prompt"]) for item in in_process)


def test_same_seed_same_items_other_seed_or_epoch_other_items(tiny_dataset: TinyDataset) -> None:
    def run(seed: int, epoch: int = 0) -> list[tuple]:
        dataset = open_tiny(str(tiny_dataset.root), seed=seed)
        dataset.set_epoch(epoch)
        return [(item["key"], item["prompt"], item["clean"]) for item in dataset]

    first, again = run(7), run(7)
    assert [(k, p) for k, p, _ in first] == [(k, p) for k, p, _ in again]
    assert all(torch.equal(a, b) for (_, _, a), (_, _, b) in zip(first, again))
    assert [(k, p) for k, p, _ in run(8)] != [(k, p) for k, p, _ in first]
    assert [(k, p) for k, p, _ in run(7, epoch=1)] != [(k, p) for k, p, _ in first]


def test_conditions_do_not_depend_on_the_number_of_workers(tiny_dataset: TinyDataset) -> None:
    in_process = {item["key"]: item["prompt"] for item in open_tiny(str(tiny_dataset.root))}
    batches = ShardLoader(open_tiny(str(tiny_dataset.root)), batch_size=2, num_workers=2)
    with_workers = {key: prompt for batch in batches for key, prompt in zip(batch["key"], batch["prompt"])}
    assert with_workers == in_process


@pytest.mark.parametrize(("num_workers", "shuffle_buffer"), [(0, 4), (2, 2), (1, 4)])
def test_resume_from_state_dict_repeats_nothing_and_misses_nothing(
    tiny_dataset: TinyDataset, num_workers: int, shuffle_buffer: int
) -> None:
    first = ShardLoader(
        open_tiny(str(tiny_dataset.root), shuffle_buffer=shuffle_buffer), batch_size=1, num_workers=num_workers
    )
    before = keys_of(itertools.islice(first, 3))
    state = json.loads(json.dumps(first.state_dict()))  # survives a checkpoint
    assert state["epoch"] == 0 and state["samples_seen"] == 3
    resumed = ShardLoader(
        open_tiny(str(tiny_dataset.root), shuffle_buffer=shuffle_buffer), batch_size=1, num_workers=num_workers
    )
    resumed.load_state_dict(state)
    after = keys_of(resumed)
    assert not set(before) & set(after)
    assert sorted(before + after) == sorted(tiny_dataset.keys)
    assert resumed.state_dict()["epoch"] == 1 and resumed.state_dict()["positions"] is None
    next_epoch = keys_of(resumed)
    assert sorted(next_epoch) == sorted(tiny_dataset.keys)


def test_resume_refuses_another_seed_or_worker_count(tiny_dataset: TinyDataset) -> None:
    loader = ShardLoader(open_tiny(str(tiny_dataset.root)), batch_size=1, num_workers=2)
    keys_of(itertools.islice(loader, 2))
    state = loader.state_dict()
    with pytest.raises(ShardError, match="seed"):
        open_tiny(str(tiny_dataset.root), seed=8).load_state_dict(state)
    other = ShardLoader(open_tiny(str(tiny_dataset.root)), batch_size=1, num_workers=1)
    other.load_state_dict(state)
    with pytest.raises(Exception, match="2 loader workers"):
        next(iter(other))


def test_resampled_mode_is_endless_and_resumes_with_a_fresh_draw(tiny_dataset: TinyDataset) -> None:
    dataset = open_tiny(str(tiny_dataset.root), resampled=True)
    drawn = [item["key"] for item in itertools.islice(dataset, 20)]
    assert set(drawn) <= set(tiny_dataset.keys) and len(drawn) == 20
    state = dataset.state_dict()
    assert state["samples_seen"] == 20 and state["resampled"]
    again = open_tiny(str(tiny_dataset.root), resampled=True)
    assert [item["key"] for item in itertools.islice(again, 20)] == drawn  # deterministic per seed
    resumed = open_tiny(str(tiny_dataset.root), resampled=True)
    resumed.load_state_dict(state)
    assert [item["key"] for item in itertools.islice(resumed, 20)] != drawn


def test_corrupt_shards_and_members_are_skipped_counted_and_logged(
    tiny_dataset: TinyDataset, dataset_copy: Path, caplog: pytest.LogCaptureFixture
) -> None:
    truncated = dataset_copy / shard_path("x265", 1)
    truncated.write_bytes(truncated.read_bytes()[:3000])  # a shard cut short
    broken_key = tiny_dataset.keys[4]
    rewrite_member(
        dataset_copy / shard_path(BASE_GROUP, 2), member_name(broken_key, CLEAN_SUFFIX), lambda _: b"\x89PNG garbage"
    )
    (dataset_copy / shard_path("x264", 3)).write_bytes(
        (dataset_copy / shard_path("x264", 0)).read_bytes()
    )  # other keys
    dataset = open_tiny(str(dataset_copy))
    with caplog.at_level(logging.WARNING, logger="shards.loader"):
        keys = [item["key"] for item in dataset]
    lost_shards = {key for key in tiny_dataset.keys if key.startswith(("000001_", "000003_"))}
    assert sorted(keys) == sorted(set(tiny_dataset.keys) - lost_shards - {broken_key})
    assert (dataset.skips.shards, dataset.skips.samples) == (2, 1)
    text = caplog.text
    assert "x265-000001.tar: not a readable shard" in text
    assert "does not hold the keys" in text and f"skipped sample {broken_key}" in text


def test_open_dataset_checks_its_arguments(tiny_dataset: TinyDataset, tmp_path: Path) -> None:
    root = str(tiny_dataset.root)
    with pytest.raises(ShardError, match="no dataset.json"):
        open_dataset(str(tmp_path))
    with pytest.raises(ShardError, match="asked for codec groups"):
        open_dataset(root, groups=("x266",))
    with pytest.raises(ShardError, match="has no QP in") as unpaired:
        open_dataset(root, condition=ConditionSpec(qp_range=(20, 28)))
    assert "--qps 20-50/2" in str(unpaired.value) and "--supervision clean" in str(unpaired.value)
    without_partner = open_dataset(root, condition=ConditionSpec(qp_range=(20, 28), slight_qp_offset=0), crop=64)
    item = next(iter(without_partner))
    assert 20 <= int(item["qp"]) <= 28 and torch.equal(item["codec_out"], item["codec_out_slight"])
    with pytest.raises(ValueError, match="multiple of the scale"):
        open_dataset(root, crop=66)
    only_x264 = open_dataset(root, groups=("x264",), condition=CONDITION, crop=64)
    assert {item["prompt"][:10] for item in only_x264} == {"A libx264 "}
    paper = open_dataset(root, groups=("x264",), condition=replace(CONDITION, prompt_format="paper"), crop=64)
    assert {item["prompt"].split("}")[0] for item in paper} == {"A {libx264"}
    assert paper.settings()["prompt_format"] == "paper" and only_x264.settings()["prompt_format"] == "official"


def test_a_list_of_base_shard_urls_reads_those_shards_only(tiny_dataset: TinyDataset) -> None:
    urls = [f"{tiny_dataset.root}/{shard_path(BASE_GROUP, index)}" for index in (0, 2)]
    keys = sorted(item["key"] for item in open_tiny(urls))
    assert keys == [key for key in tiny_dataset.keys if key.startswith(("000000_", "000002_"))]


def test_s3_source_gives_the_same_items_as_the_local_folder(tiny_dataset: TinyDataset, s3_server) -> None:
    fs = s3fs.S3FileSystem(**s3_server.storage_options)
    fs.put(str(tiny_dataset.root), f"{s3_server.bucket}/tiny", recursive=True)
    url = f"s3://{s3_server.bucket}/tiny"
    local = [(item["key"], item["prompt"], item["codec_out"]) for item in open_tiny(str(tiny_dataset.root))]
    remote = [
        (item["key"], item["prompt"], item["codec_out"])
        for item in open_tiny(url, storage_options=s3_server.storage_options)
    ]
    assert [(k, p) for k, p, _ in remote] == [(k, p) for k, p, _ in local]
    assert all(torch.equal(a, b) for (_, _, a), (_, _, b) in zip(local, remote))
    workers = ShardLoader(open_tiny(url, storage_options=s3_server.storage_options), batch_size=2, num_workers=2)
    assert sorted(keys_of(workers)) == sorted(tiny_dataset.keys)
