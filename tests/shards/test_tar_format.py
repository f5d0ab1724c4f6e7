"""Shard tars: our writer's bytes are webdataset's TarWriter's (fixed metadata) and a plain deterministic
USTAR tar's, and a plain webdataset.WebDataset pipeline (what a user of another trainer writes) reads one
column group."""

from __future__ import annotations

import io
import json
import tarfile

import numpy as np
import webdataset as wds

from codec_bindings import decode
from shards.tar_format import build_tar, read_tar
from tests.shards.conftest import TinyDataset


def _webdataset_tar(samples) -> bytes:
    """What webdataset's own writer makes of the samples with the contract's fixed metadata."""
    buffer = io.BytesIO()
    with wds.TarWriter(buffer, encoder=False, mtime=0, user="", group="", mode=0o644) as writer:
        for key, members in samples:
            writer.write({"__key__": key, **members})
    return buffer.getvalue()


def _plain_ustar(samples) -> bytes:
    """Python's tarfile with the same fixed metadata, suffixes sorted per key."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for key, members in samples:
            for suffix in sorted(members):
                info = tarfile.TarInfo(f"{key}.{suffix}")
                info.size, info.mtime, info.mode, info.uid, info.gid, info.uname, info.gname = (
                    len(members[suffix]),
                    0,
                    0o644,
                    0,
                    0,
                    "",
                    "",
                )
                archive.addfile(info, io.BytesIO(members[suffix]))
    return buffer.getvalue()


def test_writer_bytes_equal_a_plain_deterministic_tar() -> None:
    rng = np.random.default_rng(0)
    samples = [
        (
            f"000003_{i:05d}",
            {"qp32.h264": rng.bytes(700 + 131 * i), "meta.json": b'{"bpp": 0.5}', "clean.png": rng.bytes(3000)},
        )
        for i in range(6)
    ]
    data = build_tar(samples)
    assert data == _webdataset_tar(samples) == _plain_ustar(samples)
    assert read_tar(data, "x.tar") == [(key, dict(members)) for key, members in samples]


def test_a_plain_webdataset_pipeline_reads_one_column_group(tiny_dataset: TinyDataset) -> None:
    last = tiny_dataset.num_shards - 1
    urls = str(tiny_dataset.root / f"x264/x264-{{000000..{last:06d}}}.tar")
    pipeline = wds.WebDataset(urls, shardshuffle=False).to_tuple("__key__", "meta.json", "qp32.h264")
    rows = list(pipeline)
    assert [key for key, _, _ in rows] == list(tiny_dataset.keys)
    for _, meta, bitstream in rows:
        picture = decode(bitstream, "x264")
        assert picture.shape[2] == 3 and picture.dtype == np.uint8
        assert json.loads(meta)
