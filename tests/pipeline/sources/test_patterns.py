"""Brace patterns, the rules that tell source kinds apart, and the listing benchmark's small mode."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.errors import SourceError
from pipeline.sources import iter_source, list_source
from pipeline.sources.patterns import expand_braces
from tests.pipeline.factory_helpers import REPO
from tests.pipeline.sources.archives import (
    class_tars,
    tiny_images,
    wds_shards,
    write_folder,
    write_nested_tar,
    write_parquet,
)


def test_brace_expansion() -> None:
    assert expand_braces("s3://b/imagenet-train-{0000..0003}.tar") == [
        f"s3://b/imagenet-train-{i:04d}.tar" for i in range(4)
    ]
    assert expand_braces("x{8..11}") == ["x8", "x9", "x10", "x11"]
    assert expand_braces("x{08..10}") == ["x08", "x09", "x10"]
    assert expand_braces("{0..10..5}-{b,a}") == ["0-b", "0-a", "5-b", "5-a", "10-b", "10-a"]
    assert expand_braces("{3..1}{a,{b,c}d}") == ["3a", "3bd", "3cd", "2a", "2bd", "2cd", "1a", "1bd", "1cd"]
    assert expand_braces("plain.tar") == ["plain.tar"]
    with pytest.raises(SourceError, match="unbalanced"):
        expand_braces("a{0..3.tar")
    with pytest.raises(SourceError, match="neither a range"):
        expand_braces("a{0}.tar")


def test_source_kind_rules(tmp_path: Path) -> None:
    images = tiny_images()
    write_folder(tmp_path / "tree", images)
    (tmp_path / "tree" / "extra.tar").write_bytes(b"")  # beside class folders a tar is just not an image
    assert [item.key_hint for item in list_source(str(tmp_path / "tree"))] == sorted(images)
    (tmp_path / "shards").mkdir()
    for index, data in enumerate(wds_shards(images, per_shard=3)):
        (tmp_path / "shards" / f"s-{index}.tar").write_bytes(data)
    (tmp_path / "shards" / "notes.parquet").write_bytes(b"")  # tars first: a folder with tars is shards
    assert all(item.fields for item in list_source(str(tmp_path / "shards")))
    write_nested_tar(tmp_path / "nested.tar", class_tars(images))
    assert {item.label for item in list_source(str(tmp_path / "nested.tar"))} == {"n02123045", "n03063599"}
    write_parquet(tmp_path / "a.parquet", images)
    (tmp_path / "mixed.txt").write_text(f"{tmp_path / 'a.parquet'}\n{tmp_path / 'nested.tar'}\n")
    mixed = list_source(str(tmp_path / "mixed.txt"))  # neither all tars nor all parquet: lines taken as image paths
    assert [item.key_hint for item in mixed] == sorted([str(tmp_path / "a.parquet"), str(tmp_path / "nested.tar")])
    with pytest.raises(SourceError, match=r"names only .tar shards or only .parquet files, not a mix"):
        list_source(str(tmp_path / "{a.parquet,nested.tar}"))
    with pytest.raises(SourceError, match=r"names only .tar shards or only .parquet files, not .*mixed.txt"):
        list_source(str(tmp_path / "*.txt"))
    with pytest.raises(SourceError, match="the pattern matches no files"):
        list_source(str(tmp_path / "none-*.tar"))
    streamed = iter_source(str(tmp_path / "tree"))
    assert next(streamed).key_hint == min(images)  # streaming: the first item comes before the rest is listed


def test_listing_benchmark_small_mode() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.source_listing", "--small"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    rows = [
        line.replace("nested tar", "nested-tar").split()
        for line in completed.stdout.splitlines()
        if line.startswith(("nested tar ", "parquet "))
    ]
    assert [(row[0], row[1], row[2]) for row in rows] == [
        ("nested-tar", "list", "1,000"),
        ("nested-tar", "stream", "1,000"),
        ("parquet", "list", "1,000"),
        ("parquet", "stream", "1,000"),
    ]
    assert all(float(row[3]) > 0 and float(row[6]) > 0 for row in rows)  # seconds listed, seconds to read 1000
