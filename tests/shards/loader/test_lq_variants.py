"""Fresh degradations: `vrpsr generate --lq-variants K` writes K seeded LQ pictures per sample, and the loader
shows each once in K epochs (a per-key permutation of (seed, key, epoch)), the same after a resume."""

from __future__ import annotations

import dataclasses
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import torch

from pipeline.config import FactoryConfig
from pipeline.in_process import generate_in_process
from shards.dataset_info import require_dataset_info
from shards.layout import BASE_GROUP, META_SUFFIX, base_suffixes, lq_suffix, shard_path
from shards.loader import ShardLoader, open_dataset
from shards.loader.condition import ConditionSpec
from shards.loader.plan import lq_variant
from shards.png import decode_png
from shards.storage import Storage
from shards.tar_format import read_tar
from shards.verify import verify_dataset

VARIANTS = 4


def _config(jpeg_dir: Path, out: Path, lq_variants: int) -> FactoryConfig:
    listing = out.parent / f"{out.name}-inputs.txt"
    listing.write_text("".join(f"{path}\n" for path in sorted(jpeg_dir.glob("*.JPEG"))[:4]))
    return FactoryConfig(
        source=str(listing),
        out=str(out),
        codecs=("x264",),
        qps=(20, 30),
        size=64,
        shard_size=2,
        lq_variants=lq_variants,
    )


@pytest.fixture(scope="module")
def datasets(jpeg_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """The same 4 photos made with one LQ per picture and with 4."""
    made = {}
    for count in (1, VARIANTS):
        out = tmp_path_factory.mktemp(f"variants{count}") / "dataset"
        generate_in_process(_config(jpeg_dir, out, count))
        made[count] = out
    return made


def _base(root: Path, index: int) -> list:
    return read_tar((root / shard_path(BASE_GROUP, index)).read_bytes(), "base")


def test_the_factory_writes_k_seeded_degradations_and_shares_the_rest(datasets: dict[int, Path]) -> None:
    one, four = datasets[1], datasets[VARIANTS]
    for index in range(2):
        for (key, single), (same_key, members) in zip(_base(one, index), _base(four, index), strict=True):
            assert key == same_key and set(members) == base_suffixes(VARIANTS)
            assert members[lq_suffix(0)] == single[lq_suffix(0)]  # variant 0 is the K = 1 picture
            assert len({members[lq_suffix(v)] for v in range(VARIANTS)}) == VARIANTS  # independently seeded
            meta, old_meta = json.loads(members[META_SUFFIX]), json.loads(single[META_SUFFIX])
            assert meta["degradation"] == old_meta["degradation"] and "lq_variants" not in old_meta
            assert sorted(meta["lq_variants"]) == sorted(lq_suffix(v) for v in range(1, VARIANTS))
        assert (one / shard_path("x264", index)).read_bytes() == (four / shard_path("x264", index)).read_bytes()
    info, old_info = (require_dataset_info(Storage(str(root))) for root in (four, one))
    assert info["lq_variants"] == VARIANTS and "lq_variants" not in old_info
    assert info["groups"]["base"]["config_hash"] != old_info["groups"]["base"]["config_hash"]
    assert verify_dataset(str(four), reencode=0).ok


def test_k_epochs_show_every_key_its_k_lq_pictures(datasets: dict[int, Path]) -> None:
    root = datasets[VARIANTS]
    members = {key: sample for index in range(2) for key, sample in _base(root, index)}
    seen = defaultdict(list)
    dataset = open_dataset(str(root), condition=ConditionSpec(qp_range=(30, 30)), seed=3, picture_dtype=torch.uint8)
    for _ in range(VARIANTS):
        for item in dataset:  # each iteration is the next epoch
            seen[item["key"]].append(item["lq"].permute(1, 2, 0).numpy())
    assert sorted(seen) == sorted(members)
    for key, pictures in seen.items():
        stored = [decode_png(members[key][lq_suffix(v)], key) for v in range(VARIANTS)]
        shown = [next(v for v, picture in enumerate(stored) if np.array_equal(picture, lq)) for lq in pictures]
        assert sorted(shown) == list(range(VARIANTS)), key  # each variant once in K epochs


def test_the_choice_is_a_permutation_per_key_and_cycle() -> None:
    for key in ("000000_00000", "000001_00001"):
        assert sorted(lq_variant(VARIANTS, 0, key, epoch) for epoch in range(4, 8)) == [0, 1, 2, 3]
    orders = {tuple(lq_variant(VARIANTS, 0, f"k{n}", epoch) for epoch in range(4)) for n in range(20)}
    assert len(orders) > 1  # keys walk their own order
    assert lq_variant(1, 0, "k", 5) == 0 and 0 <= lq_variant(VARIANTS, 0, "k", "3.0.1.2") < VARIANTS


def test_an_interrupted_run_sees_the_same_variants_as_an_uninterrupted_one(datasets: dict[int, Path]) -> None:
    root = str(datasets[VARIANTS])
    options = dict(condition=ConditionSpec(qp_range=(30, 30)), seed=5, shuffle_buffer=2, picture_dtype=torch.uint8)

    def items(loader, count: int) -> list[tuple[str, bytes]]:
        out = []
        while len(out) < count:
            for batch in loader:
                out.append((batch["key"][0], batch["lq"].numpy().tobytes()))
                if len(out) == count:
                    break
        return out

    whole = items(ShardLoader(open_dataset(root, **options), batch_size=1, num_workers=0), 3 * 4)
    first = ShardLoader(open_dataset(root, **options), batch_size=1, num_workers=0)
    before = items(first, 4 + 2)  # one epoch and half of the next
    state = json.loads(json.dumps(first.state_dict()))
    assert state["epoch"] == 1 and state["samples_seen"] == 2
    resumed = ShardLoader(open_dataset(root, **options), batch_size=1, num_workers=0)
    resumed.load_state_dict(state)
    assert before + items(resumed, 3 * 4 - 6) == whole


def test_lq_variants_must_be_positive(jpeg_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="lq_variants must be >= 1"):
        dataclasses.replace(_config(jpeg_dir, tmp_path / "d", 1), lq_variants=0)
