"""Datasets of av1, jpeg and webp beside x264: default grids, verify re-encodes bit-exact, the loader pairs
each picture with its slight partner, and the x264 group's bytes do not change when codecs are added."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from codec_bindings import get_codec
from codec_bindings.slight import slight_partner
from pipeline.config import DEFAULT_CODECS, FactoryConfig
from pipeline.in_process import generate_in_process
from shards.codec_meta import parse_codec_meta
from shards.layout import META_SUFFIX, manifest_path, shard_path
from shards.loader import open_dataset
from shards.tar_format import read_tar
from shards.verify import verify_dataset
from vrpsr_cli.generate_command import grid_override

NEW_CODECS = ("x264", "av1", "jpeg", "webp")


def make(out: Path, images: list[Path], codecs: tuple[str, ...], **options) -> FactoryConfig:
    listing = out.parent / f"{out.name}-inputs.txt"
    listing.write_text("".join(f"{path}\n" for path in images))
    config = FactoryConfig(
        source=str(listing), out=str(out), codecs=codecs, qps=(30, 34, 40, 44), size=64, shard_size=2, **options
    )
    generate_in_process(config)
    return config


@pytest.fixture(scope="module")
def images(jpeg_dir: Path) -> list[Path]:
    return sorted(jpeg_dir.glob("*.JPEG"))[:3]


@pytest.fixture(scope="module")
def mixed(images, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("mixed") / "dataset"
    make(root, images, NEW_CODECS)
    return root


def test_default_grids_verify_and_every_picture_reencodes_bit_exact(mixed: Path):
    report = verify_dataset(str(mixed), reencode=10_000)
    grid_points = 4 + len(get_codec("av1").default_grid) + 19 + 20  # x264 --qps, av1, jpeg 5-95/5, webp 0-95/5
    assert report.problems == []
    assert report.pictures_reencoded == report.pictures_decoded == 3 * grid_points
    groups = json.loads((mixed / "dataset.json").read_text())["groups"]
    assert groups["jpeg"]["qualities"] == list(range(5, 96, 5)) and groups["jpeg"]["rate_parameter"] == "quality"
    assert groups["webp"]["qualities"] == list(range(0, 96, 5)) and "qps" not in groups["webp"]
    assert groups["av1"]["qps"] == list(range(21, 64, 2)) and groups["x264"]["qps"] == [30, 34, 40, 44]
    assert "libjpeg_turbo" in groups["jpeg"]["encoder_version"] and "SVT-AV1" in groups["av1"]["encoder_version"]


def test_quality_pictures_are_named_and_recorded_by_their_quality(mixed: Path):
    samples = read_tar((mixed / shard_path("jpeg", 0)).read_bytes(), "jpeg-0")
    key, members = samples[0]
    assert {"q05.jpg", "q50.jpg", "q95.jpg"} <= set(members)
    meta = parse_codec_meta(members[META_SUFFIX], key)
    assert meta.pictures["q50"].quality == 50 and meta.pictures["q50"].qp is None
    assert sorted(meta.clean_grid()) == list(range(5, 96, 5))
    rows = pq.read_table(mixed / manifest_path("webp", 0)).to_pylist()
    assert {row["mode"] for row in rows} == {"quality"}
    assert all(row["member"] == f"q{row['qp']:02d}.webp" for row in rows)  # qp column: the mode's value


def test_loader_pairs_each_codec_with_its_slight_partner(mixed: Path):
    seen = set()
    for seed in range(12):
        dataset = open_dataset(str(mixed), crop=None, seed=seed, shuffle_buffer=0)
        assert dataset.onehot_codecs == ("x264", "x265", "vvenc", "av1", "jpeg", "webp")
        for item in dataset:
            codec = dataset.onehot_codecs[int(item["codec_onehot"].argmax())]
            seen.add(codec)
            assert item["codec_onehot"].shape == (6,) and get_codec(codec).library in item["prompt"]
            assert float(item["bpp_slight"]) > float(item["bpp"])
            if codec in ("x264", "av1"):
                continue
            shard = read_tar((mixed / shard_path(codec, 0)).read_bytes(), codec)
            members = dict(shard)[item["key"]] if item["key"] in dict(shard) else None
            if members is None:
                continue
            coded = {v: p.bpp for v, p in parse_codec_meta(members[META_SUFFIX], item["key"]).clean_grid().items()}
            partner = slight_partner(codec, int(item["qp"]), coded, 10)
            assert float(item["bpp_slight"]) == pytest.approx(coded[partner])
            assert float(item["bpp_slight"]) >= 1.0 * float(item["bpp"])
    assert seen == set(NEW_CODECS)


def test_adding_codecs_leaves_the_x264_group_bytes_unchanged(mixed: Path, images, tmp_path):
    alone = tmp_path / "alone"
    config = make(alone, images, ("x264",))
    for relative in (shard_path("x264", 0), shard_path("x264", 1), manifest_path("x264", 0), shard_path("base", 0)):
        assert (alone / relative).read_bytes() == (mixed / relative).read_bytes(), relative
    assert "grids" not in config.as_dict() and DEFAULT_CODECS == ("x264", "x265", "vvenc")


def test_slight_partner_rules():
    assert slight_partner("x265", 40, {30: 0.4, 40: 0.2}, 10) == 30
    assert slight_partner("av1", 40, {40: 0.2, 32: 0.4}, 10) is None
    bpps = {10: 0.2, 30: 0.35, 50: 0.5, 70: 0.7, 90: 1.5}
    assert slight_partner("jpeg", 10, bpps, 10) == 30  # 0.35 is nearest to 2 x 0.2
    assert slight_partner("webp", 50, bpps, 10) == 70  # |0.7 - 1.0| < |1.5 - 1.0|
    assert slight_partner("jpeg", 70, bpps, 10) == 90  # 1.5 reaches 1.4
    assert slight_partner("jpeg", 90, bpps, 10) is None  # nothing finer
    assert slight_partner("jpeg", 70, {**bpps, 90: 1.3}, 10) is None  # nothing finer reaches 1.4


def test_grid_overrides_and_their_errors(tmp_path):
    config = FactoryConfig(source="s", out="o", codecs=("x264", "jpeg", "av1"), grids=(("jpeg", (20, 60)),))
    assert config.grid_for("jpeg") == (20, 60) and config.grid_for("x264") == config.qps
    assert config.grid_for("av1") == get_codec("av1").default_grid
    assert config.as_dict()["grids"] == {"jpeg": [20, 60]}
    with pytest.raises(ValueError, match="--grid jpeg=0 outside jpeg's range 1..100: give qualities"):
        FactoryConfig(source="s", out="o", codecs=("jpeg",), grids=(("jpeg", (0, 50)),))
    with pytest.raises(ValueError, match="--grid av1=0 outside av1's range 1..63: give QPs"):
        FactoryConfig(source="s", out="o", codecs=("av1",), grids=(("av1", (0, 30)),))
    with pytest.raises(ValueError, match="--grid webp=...: webp is not in --codecs"):
        FactoryConfig(source="s", out="o", codecs=("jpeg",), grids=(("webp", (50,)),))
    assert grid_override("jpeg=10-30/10") == ("jpeg", (10, 20, 30))
    for bad in ("jpeg", "jpeg=", "jpeg=ten"):
        with pytest.raises(ValueError, match="expected CODEC=LIST"):
            grid_override(bad)


def test_no_partner_wanted_pairs_every_picture_with_itself():
    bpps = {10: 0.2, 90: 1.5}
    assert slight_partner("jpeg", 90, bpps, 0) == 90 and slight_partner("x264", 30, {30: 0.3}, 0) == 30
