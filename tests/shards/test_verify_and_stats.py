"""vrpsr shards verify / stats on the tiny dataset, intact and damaged; the CLI around them."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from codec_bindings import PAPER_CODECS
from shards.layout import (
    BASE_GROUP,
    META_SUFFIX,
    bitstream_suffix,
    done_path,
    manifest_path,
    member_name,
    shard_path,
)
from shards.stats import dataset_stats, rd_plot_png
from shards.verify import verify_dataset
from tests.shards.conftest import TINY_IMAGES, TINY_QPS, TinyDataset, rewrite_member
from vrpsr_cli.main import main


def test_an_intact_dataset_verifies_with_bit_exact_reencodes(tiny_dataset: TinyDataset) -> None:
    report = verify_dataset(str(tiny_dataset.root), reencode=6, seed=1, workers=2)
    assert report.ok, report.render()
    groups = 1 + len(PAPER_CODECS)
    assert (report.shards, report.samples) == (groups * tiny_dataset.num_shards, TINY_IMAGES)
    assert report.pictures_decoded == TINY_IMAGES * len(TINY_QPS) * len(PAPER_CODECS)
    assert report.pictures_reencoded == 6


def test_verify_names_every_damaged_thing(tiny_dataset: TinyDataset, dataset_copy: Path) -> None:
    key = tiny_dataset.keys[0]
    flipped = bitstream_suffix("x264", "qp30")
    rewrite_member(dataset_copy / shard_path("x264", 0), member_name(key, flipped), lambda data: data[:-8] + bytes(8))
    meta_key = tiny_dataset.keys[2]  # shard 1: the recorded preset no longer reproduces the bits
    rewrite_member(
        dataset_copy / shard_path("x264", 1),
        member_name(meta_key, META_SUFFIX),
        lambda data: data.replace(b'"preset":"medium"', b'"preset":"ultrafast"'),
    )
    manifest = dataset_copy / manifest_path("x265", 2)
    table = pq.read_table(manifest).to_pylist()
    table[0]["bpp"] *= 2
    pq.write_table(pq.read_table(manifest).from_pylist(table, schema=pq.read_table(manifest).schema), manifest)
    (dataset_copy / done_path("vvenc", 3)).unlink()

    report = verify_dataset(str(dataset_copy), reencode=0)
    reencoded = verify_dataset(str(dataset_copy), groups=("x264",), reencode=10_000)  # every x264 clean picture
    text = report.render() + reencoded.render()
    assert not report.ok and reencoded.pictures_reencoded == TINY_IMAGES * len(TINY_QPS) - 1
    assert f"x264-000000.tar: {key} {flipped}: sha256" in text
    assert f"x264-000000.tar: {key} {flipped}: does not decode" in text
    assert "x264-000000.tar: tar has" in text  # its marker no longer matches
    assert f"x264-000001.tar: {meta_key} " in text and "re-encode is not bit-exact" in reencoded.render()
    assert "not bit-exact" not in report.render()
    assert f"x265-000002.tar: {tiny_dataset.keys[4]}" in text and "disagrees with the member" in text
    assert "vvenc-000003.tar: no readable _done marker" in text
    assert sum("x265-000000" in problem.where for problem in report.problems) == 0


def test_stats_summarise_the_manifests(tiny_dataset: TinyDataset) -> None:
    stats = dataset_stats(str(tiny_dataset.root))
    assert (stats.samples, stats.failures) == (TINY_IMAGES, 0)
    assert len(stats.points) == len(PAPER_CODECS) * len(TINY_QPS)
    for codec in PAPER_CODECS:
        curve = [point for point in stats.points if point.codec == codec]
        assert [point.value for point in curve] == [float(qp) for qp in TINY_QPS]
        assert all(point.count == TINY_IMAGES for point in curve)
        assert all(a.bpp_mean > b.bpp_mean and a.psnr_mean > b.psnr_mean for a, b in zip(curve, curve[1:]))
        assert all(p.bpp_percentiles[0] <= p.bpp_percentiles[1] <= p.bpp_percentiles[2] for p in curve)
    assert rd_plot_png(stats).startswith(b"\x89PNG")


def test_cli_verify_and_stats(
    tiny_dataset: TinyDataset, dataset_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["shards", "verify", str(tiny_dataset.root), "--groups", "x264", "--reencode", "2"]) == 0
    assert "OK: every check passed" in capsys.readouterr().out
    (dataset_copy / shard_path("x265", 1)).write_bytes(b"not a tar")
    assert main(["shards", "verify", str(dataset_copy), "--groups", "x265", "--reencode", "0"]) == 1
    assert "x265-000001.tar: not a readable shard" in capsys.readouterr().out
    plot, summary = tmp_path / "rd.png", tmp_path / "stats.json"
    assert main(["shards", "stats", str(tiny_dataset.root), "--plot", str(plot), "--json", str(summary)]) == 0
    assert "x264   clean       qp30" in capsys.readouterr().out
    assert plot.read_bytes().startswith(b"\x89PNG")
    assert json.loads(summary.read_text())["samples"] == TINY_IMAGES
    assert main(["shards", "stats", str(tmp_path / "nothing"), "--no-plot"]) == 2


def _rewrite_manifest(path: Path, change) -> None:
    table = pq.read_table(path)
    pq.write_table(table.from_pylist(change(table.to_pylist()), schema=table.schema), path)


def test_verify_checks_the_manifests_as_multisets(tiny_dataset: TinyDataset, dataset_copy: Path) -> None:
    """A duplicated row, a missing row and an extra row are each named (a dict keyed by row used to hide a duplicate)."""
    _rewrite_manifest(dataset_copy / manifest_path("x264", 0), lambda rows: rows + rows[:1])
    _rewrite_manifest(dataset_copy / manifest_path("x265", 1), lambda rows: rows[1:])
    _rewrite_manifest(
        dataset_copy / manifest_path(BASE_GROUP, 2), lambda rows: rows + [{**rows[0], "key": "000002_extra"}] + rows[:1]
    )
    _rewrite_manifest(dataset_copy / manifest_path(BASE_GROUP, 3), lambda rows: [])

    report = verify_dataset(str(dataset_copy), reencode=0)
    text = report.render()
    first = pq.read_table(dataset_copy / manifest_path("x264", 0)).to_pylist()[0]
    assert f"x264-000000.tar: {first['key']}: manifest row for {first['member']} appears 2 times" in text
    missing = pq.read_table(tiny_dataset.root / manifest_path("x265", 1)).to_pylist()[0]
    assert f"x265-000001.tar: {missing['key']} {missing['member']}: no manifest row" in text
    assert f"base-000002.tar: {tiny_dataset.keys[4]}: base manifest row appears 2 times" in text
    assert "base-000002.tar: 000002_extra: base manifest row has no sample in the tar" in text
    assert f"base-000003.tar: {tiny_dataset.keys[6]}: base manifest row missing" in text
