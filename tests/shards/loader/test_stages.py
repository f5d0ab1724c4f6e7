"""The loader's stages one by one: zip_groups, sample_condition, decode_pictures, random_crop, to_tensors."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch

import shards.loader.stages as stages
from codec_bindings import CODEC_NAMES as ALL_CODECS
from codec_bindings import PAPER_CODECS, CodecError, decode
from shards.codec_meta import parse_codec_meta
from shards.errors import ShardError
from shards.layout import BASE_GROUP, META_SUFFIX, shard_path
from shards.loader.condition import ConditionSpec, codec_onehot, onehot_codecs, sample_condition
from shards.loader.plan import rng_for
from shards.loader.stages import ITEM_FIELDS, decode_pictures, random_crop, read_groups, to_tensors, zip_groups
from shards.prompts import condition_prompt
from shards.storage import Storage
from tests.shards.conftest import TINY_SIZE, TinyDataset

GROUPS = (BASE_GROUP, *PAPER_CODECS)
SPEC = ConditionSpec(qp_range=(30, 44))
UNIFORM = SPEC.resolved(PAPER_CODECS)


@pytest.fixture(scope="module")
def zipped(tiny_dataset: TinyDataset) -> list:
    storage = Storage(str(tiny_dataset.root))
    return zip_groups(read_groups(storage, 0, GROUPS), "shard 0")


def test_zip_groups_joins_every_group_by_key(zipped: list, tiny_dataset: TinyDataset) -> None:
    assert [key for key, _ in zipped] == list(tiny_dataset.keys[:2])
    assert all(set(members) == set(GROUPS) for _, members in zipped)


def test_zip_groups_names_the_shard_on_a_key_mismatch(tiny_dataset: TinyDataset) -> None:
    storage = Storage(str(tiny_dataset.root))
    tables = read_groups(storage, 0, GROUPS)
    tables["x265"] = read_groups(storage, 1, ("x265",))["x265"]
    name = storage.url(shard_path(BASE_GROUP, 0))
    with pytest.raises(ShardError, match=f"{name}: group x265 does not hold the keys"):
        zip_groups(tables, name)
    tables["x265"] = tables["x265"][:1]
    with pytest.raises(ShardError, match="1 vs 2 samples"):
        zip_groups(tables, name)


def test_sample_condition_is_deterministic_and_keeps_a_slight_pair(zipped: list) -> None:
    key, members = zipped[0]
    picks = {
        (s.codec, s.qp) for s in (sample_condition(key, members, SPEC, UNIFORM, seed, 0, "s") for seed in range(40))
    }
    assert len({codec for codec, _ in picks}) == 3 and len(picks) > 6
    for seed in range(10):
        selection = sample_condition(key, members, SPEC, UNIFORM, seed, 0, "s")
        assert selection == sample_condition(key, members, SPEC, UNIFORM, seed, 0, "s")
        assert 30 <= selection.qp <= 44 and selection.slight_qp == selection.qp - 10
        coded = parse_codec_meta(members[selection.codec][META_SUFFIX], key).clean_qps()
        assert (selection.bpp, selection.bpp_slight) == (coded[selection.qp].bpp, coded[selection.slight_qp].bpp)
        assert hashlib.sha256(selection.bitstream).hexdigest() == selection.sha256
        assert selection.bpp < selection.bpp_slight


def test_sample_condition_follows_weights_and_range(zipped: list) -> None:
    key, members = zipped[1]
    spec = ConditionSpec(codec_weights={"x265": 1.0}, qp_range=(40, 40))
    weights = spec.resolved(PAPER_CODECS)
    assert weights == (("x265", 1.0),)
    for seed in range(5):
        selection = sample_condition(key, members, spec, weights, seed, 3, "s")
        assert (selection.codec, selection.qp, selection.slight_qp) == ("x265", 40, 30)
    with pytest.raises(ShardError, match="no QP in"):
        sample_condition(key, members, ConditionSpec(qp_range=(20, 28)), UNIFORM, 0, 0, "s")
    with pytest.raises(ValueError, match="reads only"):
        ConditionSpec(codec_weights={"vvenc": 1.0}).resolved(("x264",))


def test_decode_pictures_decodes_only_the_two_bitstreams(zipped: list, monkeypatch: pytest.MonkeyPatch) -> None:
    key, members = zipped[0]
    selection = sample_condition(key, members, SPEC, UNIFORM, 0, 0, "s")
    calls = []
    monkeypatch.setattr(
        stages,
        "decode",
        lambda bitstream, codec, **kw: calls.append(kw["expected_sha256"]) or decode(bitstream, codec, **kw),
    )
    pictures = decode_pictures(selection)
    assert calls == [selection.sha256, selection.sha256_slight]
    assert pictures["clean"].shape == pictures["codec_out"].shape == (TINY_SIZE, TINY_SIZE, 3)
    assert pictures["lq"].shape == (TINY_SIZE // 4, TINY_SIZE // 4, 3)
    error = float(np.abs(pictures["clean"].astype(float) - pictures["codec_out"]).mean())
    assert 0 < error < 20  # a real decode of this picture, not another one


def test_decode_pictures_refuses_a_corrupt_bitstream(zipped: list) -> None:
    key, members = zipped[0]
    selection = sample_condition(key, members, SPEC, UNIFORM, 0, 0, "s")
    damaged = bytearray(selection.bitstream)
    damaged[len(damaged) // 2] ^= 0xFF
    with pytest.raises(CodecError, match="sha256"):
        decode_pictures(type(selection)(**{**selection.__dict__, "bitstream": bytes(damaged)}))


def test_random_crop_is_aligned_between_clean_codec_outputs_and_lq() -> None:
    rng = np.random.default_rng(0)
    lq = rng.integers(0, 255, (24, 20, 3), dtype=np.uint8)
    clean = np.repeat(np.repeat(lq, 4, axis=0), 4, axis=1)  # clean pixel (y, x) comes from lq (y // 4, x // 4)
    pictures = {"clean": clean, "lq": lq, "codec_out": clean + 1, "codec_out_slight": clean + 2}
    for seed in range(20):
        cropped = random_crop(pictures, 32, rng_for(seed), "k")
        assert cropped["clean"].shape == (32, 32, 3) and cropped["lq"].shape == (8, 8, 3)
        assert np.array_equal(np.repeat(np.repeat(cropped["lq"], 4, axis=0), 4, axis=1), cropped["clean"])
        assert np.array_equal(cropped["codec_out"], cropped["clean"] + 1) and np.array_equal(
            cropped["codec_out_slight"], cropped["clean"] + 2
        )
    tops = {
        int(np.argwhere((clean == random_crop(pictures, 32, rng_for(s), "k")["clean"][0, 0]).all(-1))[0][0])
        for s in range(30)
    }
    assert len(tops) > 1
    assert random_crop(pictures, None, rng_for(0), "k")["clean"] is clean
    with pytest.raises(ShardError, match="cannot take a 30"):
        random_crop(pictures, 30, rng_for(0), "k")


def test_to_tensors_gives_the_item_of_issue_4(zipped: list) -> None:
    key, members = zipped[0]
    selection = sample_condition(key, members, SPEC, UNIFORM, 0, 0, "s")
    pictures = random_crop(decode_pictures(selection), 64, rng_for(0), key)
    item = to_tensors(pictures, selection)
    assert tuple(item) == ITEM_FIELDS
    for name in ("clean", "codec_out", "codec_out_slight"):
        assert item[name].shape == (3, 64, 64) and item[name].dtype == torch.float32 and item[name].is_contiguous()
        assert 0.0 <= float(item[name].min()) and float(item[name].max()) <= 1.0
    assert item["lq"].shape == (3, 16, 16)
    assert torch.equal(item["clean"], torch.from_numpy(pictures["clean"]).permute(2, 0, 1).float() / 255)
    assert item["codec_onehot"].tolist() == codec_onehot(selection.codec) and sum(item["codec_onehot"].tolist()) == 1
    assert float(item["bpp"]) == pytest.approx(selection.bpp) and float(item["bpp_slight"]) == pytest.approx(
        selection.bpp_slight
    )
    assert item["prompt"] == condition_prompt(selection.codec, selection.bpp) and item["key"] == key
    assert (
        item["prompt"] == f"A lib{selection.codec.replace('vvenc', 'x266')} {selection.bpp:.4f} bpp compressed image."
    )
    assert to_tensors(pictures, selection, upsample_lq=True)["lq"].shape == (3, 64, 64)
    as_bytes = to_tensors(pictures, selection, picture_dtype=torch.uint8)
    for name in ("clean", "lq", "codec_out", "codec_out_slight"):
        assert as_bytes[name].dtype == torch.uint8 and torch.equal(as_bytes[name].float() / 255, item[name])


def test_prompt_and_onehot_match_the_training_condition() -> None:
    from training import condition  # the trainer's side of the contract

    assert tuple(condition.CODEC_NAMES) == PAPER_CODECS
    every = onehot_codecs(ALL_CODECS)
    assert every[:3] == PAPER_CODECS and condition.onehot_layout(ALL_CODECS) == every
    for codec in ALL_CODECS:
        if codec in PAPER_CODECS:
            assert codec_onehot(codec) == condition.codec_onehot(codec).tolist()
        assert codec_onehot(codec, every) == condition.codec_onehot(codec, every).tolist()
        for bpp in (0.3, 0.123456, 1.0, 0.005):
            for prompt_format in ("official", "paper"):
                assert condition_prompt(codec, bpp, prompt_format) == condition.condition_prompt(
                    codec, bpp, prompt_format
                )
    assert condition_prompt("x264", 0.3) == "A libx264 0.3000 bpp compressed image."
    assert condition_prompt("jpeg", 0.3) == "A libjpeg 0.3000 bpp compressed image."
    assert condition_prompt("av1", 0.25, "paper") == "A {libsvtav1} {0.25} bpp compressed image."
