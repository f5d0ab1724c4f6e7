"""The worker without Ray: one base shard and its codec shards, bad inputs recorded, bytes deterministic."""

from __future__ import annotations

import io
import json
import tarfile

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

from codec_bindings import decode, psnr
from pipeline.config import FactoryConfig
from pipeline.shard_job import make_base_shard, make_codec_shard
from pipeline.sources import list_source
from shards.layout import CLEAN_SUFFIX, LQ_SUFFIX, done_path, failures_path, manifest_path, shard_path
from shards.png import decode_png
from shards.storage import Storage
from shards.tar_format import read_tar


@pytest.fixture(scope="module")
def mixed_folder(jpeg_dir, tmp_path_factory):
    """Good JPEGs plus corrupt, truncated, tiny, CMYK, 16-bit and non-image files."""
    folder = tmp_path_factory.mktemp("mixed")
    good = sorted(jpeg_dir.glob("*.JPEG"))[:3]
    for path in good:
        (folder / path.name).write_bytes(path.read_bytes())
    data = good[0].read_bytes()
    (folder / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8)
    (folder / "truncated.jpg").write_bytes(data[: len(data) // 2])
    Image.fromarray(np.full((20, 30, 3), 90, np.uint8)).save(folder / "tiny.png")
    Image.open(good[1]).convert("CMYK").save(folder / "cmyk.jpg")
    gradient = (np.linspace(0, 65535, 200 * 300).reshape(200, 300)).astype(np.uint16)
    Image.fromarray(gradient).save(folder / "sixteen_bit.png")
    (folder / "fake.png").write_text("this is not an image")
    (folder / "notes.txt").write_text("not listed: no image extension")
    return folder


def test_base_and_codec_shard(mixed_folder, tmp_path):
    config = FactoryConfig(
        source=str(mixed_folder),
        out=str(tmp_path / "out"),
        codecs=("x264", "vvenc"),
        qps=(30, 40),
        size=128,
        shard_size=20,
    )
    items = list_source(config.source)
    assert "notes.txt" not in [item.key_hint for item in items]
    stats = make_base_shard(config, 0, items, "h0")
    assert stats["samples"] == 5 and stats["failed"] == 4  # 3 JPEGs + CMYK + 16-bit decode; the rest fail
    storage = Storage(config.out)
    failures = pq.read_table(io.BytesIO(storage.read_bytes(failures_path(0)))).to_pylist()
    reasons = {row["source"]: row["reason"] for row in failures}
    assert set(reasons) == {"corrupt.jpg", "truncated.jpg", "tiny.png", "fake.png"}
    assert "too small" in reasons["tiny.png"] and "truncated" in reasons["truncated.jpg"]
    base = read_tar(storage.read_bytes(shard_path("base", 0)), "base")
    assert len(base) == 5
    for key, members in base:
        assert decode_png(members[CLEAN_SUFFIX], key).shape == (128, 128, 3)
        assert decode_png(members[LQ_SUFFIX], key).shape == (32, 32, 3)
        meta = json.loads(members["meta.json"])
        assert meta["key"] == key and meta["degradation"]["preset"] == "s3diff"
    for codec in ("x264", "vvenc"):
        make_codec_shard(config, 0, codec, "h1")
        coded = read_tar(storage.read_bytes(shard_path(codec, 0)), codec)
        assert [key for key, _ in coded] == [key for key, _ in base]
        rows = pq.read_table(io.BytesIO(storage.read_bytes(manifest_path(codec, 0)))).to_pylist()
        assert len(rows) == 5 * 2
        for (key, members), (_, base_members) in zip(coded, base):
            meta = json.loads(members["meta.json"])
            clean = decode_png(base_members[CLEAN_SUFFIX], key)
            for name, picture in meta["pictures"].items():
                recon = decode(
                    members[f"{name}.{'h264' if codec == 'x264' else 'h266'}"], codec, expected_sha256=picture["sha256"]
                )
                assert picture["bpp"] == picture["bits"] / (128 * 128)
                assert abs(psnr(clean, recon) - picture["psnr"]) < 1e-4
            assert meta["pictures"]["qp30"]["bpp"] > meta["pictures"]["qp40"]["bpp"]
        marker = json.loads(storage.read_bytes(done_path(codec, 0)))
        assert marker["samples"] == 5 and marker["config_hash"] == "h1"


def test_shards_are_byte_deterministic_and_tar_metadata_fixed(mixed_folder, tmp_path):
    outputs = []
    for name in ("a", "b"):
        config = FactoryConfig(
            source=str(mixed_folder), out=str(tmp_path / name), codecs=("x265",), qps=(35,), size=64, shard_size=20
        )
        items = list_source(config.source)
        make_base_shard(config, 0, items, "h")
        make_codec_shard(config, 0, "x265", "h")
        storage = Storage(config.out)
        outputs.append([storage.read_bytes(shard_path(group, 0)) for group in ("base", "x265")])
    assert outputs[0] == outputs[1]
    with tarfile.open(fileobj=io.BytesIO(outputs[0][0])) as archive:
        members = archive.getmembers()
        assert all(m.mtime == 0 and m.uid == 0 and m.uname == "" and m.mode == 0o644 for m in members)
