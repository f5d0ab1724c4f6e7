"""The official ImageNet layout, a tar of class tars: listed from headers, read by byte range, local and
on S3; damaged class tars become failure rows; shards identical to the same images in class folders."""

from __future__ import annotations

import io
import json
import logging
import re
import tarfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import s3fs

from benchmarks.source_listing import make_nested_tar
from pipeline.errors import SourceError
from pipeline.sources import iter_source, list_source, read_bytes
from tests.pipeline.sources.archives import (
    class_tars,
    run_factory_shards,
    tar_bytes,
    tiny_images,
    write_folder,
    write_nested_tar,
)

IMAGES = tiny_images()
SORTED_KEYS = sorted(IMAGES)


def _damaged(inner: bytes) -> bytes:
    """The class tar with its second header overwritten: tarfile alone would stop there quietly."""
    with tarfile.open(fileobj=io.BytesIO(inner)) as archive:
        second = archive.getmembers()[1].offset
    return inner[:second] + b"\x01" * 512 + inner[second + 512 :]


def test_nested_tar_lists_members_sorted_and_reads_byte_ranges(tmp_path: Path) -> None:
    archive = write_nested_tar(tmp_path / "ILSVRC2012_img_train.tar", class_tars(IMAGES))
    items = list_source(str(archive))
    assert [item.key_hint for item in items] == SORTED_KEYS  # class tars and members were stored reversed
    assert [item.label for item in items] == [key.split("/")[0] for key in SORTED_KEYS]
    assert items[0].uri == str(archive) and items[0].member == "n02123045.tar/chelsea_0.JPEG"
    for item in items:
        assert read_bytes(item) == IMAGES[item.key_hint]
    assert list(iter_source(str(archive))) == items
    assert type(items[0]).__slots__ and not hasattr(items[0], "__dict__")  # compact: 1.28 M of them


def test_damaged_class_tar_is_a_failure_row_and_the_rest_is_made(tmp_path: Path) -> None:
    inner = class_tars(IMAGES)
    inner["n03063599.tar"] = _damaged(inner["n03063599.tar"])
    corrupt_jpeg = dict(IMAGES, **{"n02123045/chelsea_1.JPEG": IMAGES["n02123045/chelsea_1.JPEG"][:300]})
    inner["n02123045.tar"] = class_tars({k: v for k, v in corrupt_jpeg.items() if k.startswith("n02")})["n02123045.tar"]
    archive = write_nested_tar(tmp_path / "train.tar", inner)
    items = list_source(str(archive))
    keys = [item.key_hint for item in items]
    # coffee_2 is the first member stored (reverse order); its header is fine, the next one is not
    assert keys == [*SORTED_KEYS[:3], "n03063599/", "n03063599/coffee_2.png"]
    with pytest.raises(SourceError, match=r"train.tar \[n03063599.tar\]: invalid tar header at byte 8192"):
        read_bytes(items[3])

    run_factory_shards(items, tmp_path / "out", shard_size=10)
    failures = {
        row["source"]: row["reason"]
        for row in pq.read_table(tmp_path / "out" / "failures" / "base-000000.parquet").to_pylist()
    }
    assert set(failures) == {"n03063599/ [n03063599.tar]", "n02123045/chelsea_1.JPEG"}  # the source names the member
    assert "train.tar [n03063599.tar]: invalid tar header" in failures["n03063599/ [n03063599.tar]"]
    assert "train.tar [n02123045.tar/chelsea_1.JPEG]" in failures["n02123045/chelsea_1.JPEG"]  # decode error names both
    made = pq.read_table(tmp_path / "out" / "manifest" / "base-000000.parquet").to_pylist()
    assert [row["source"] for row in made] == [SORTED_KEYS[0], SORTED_KEYS[2], "n03063599/coffee_2.png"]


def test_truncated_and_unreadable_archives(tmp_path: Path) -> None:
    inner = class_tars(IMAGES)
    whole = tar_bytes(list(inner.items()))
    with tarfile.open(fileobj=io.BytesIO(whole)) as archive:
        last = archive.getmembers()[-1].offset_data
    (tmp_path / "cut.tar").write_bytes(whole[: last + 3000])  # an unfinished download: fail, naming it
    with pytest.raises(SourceError, match=r"cut.tar: member n03063599.tar is truncated .*must be readable"):
        list_source(str(tmp_path / "cut.tar"))
    with tarfile.open(fileobj=io.BytesIO(whole)) as archive:
        second = archive.getmembers()[1].offset
    (tmp_path / "bad-outer.tar").write_bytes(whole[:second] + b"x" * 512 + whole[second + 512 :])
    with pytest.raises(SourceError, match=f"bad-outer.tar: invalid tar header at byte {second}"):
        list_source(str(tmp_path / "bad-outer.tar"))
    first_header = tar_bytes([("n02123045.tar", inner["n02123045.tar"])])
    (tmp_path / "bad-inner.tar").write_bytes(first_header[:512] + b"x" * 512 + first_header[1024:])
    items = list_source(str(tmp_path / "bad-inner.tar"))  # the class tar's first header: nothing of it is readable
    assert [(item.key_hint, item.label) for item in items] == [("n02123045/", "n02123045")]
    with pytest.raises(SourceError, match=r"bad-inner.tar \[n02123045.tar\]: not a readable tar"):
        read_bytes(items[0])


def test_nested_tar_on_s3(s3_server, tmp_path: Path) -> None:
    archive = write_nested_tar(tmp_path / "train.tar", class_tars(IMAGES))
    fs = s3fs.S3FileSystem(**s3_server.storage_options)
    fs.put_file(str(archive), f"{s3_server.bucket}/nested/ILSVRC2012_img_train.tar")
    uri = f"s3://{s3_server.bucket}/nested/ILSVRC2012_img_train.tar"
    items = list_source(uri, storage_options=s3_server.storage_options)
    assert [item.key_hint for item in items] == SORTED_KEYS and {item.uri for item in items} == {uri}
    assert [read_bytes(item, s3_server.storage_options) for item in items] == [IMAGES[key] for key in SORTED_KEYS]


def test_listing_on_s3_reads_blocks_not_images(s3_server, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """4000 members in 40 class tars (~4 MiB): listed in a few 1 MiB block reads, not one request per image."""
    make_nested_tar(tmp_path / "big.tar", classes=40, per_class=100)
    fs = s3fs.S3FileSystem(**s3_server.storage_options)
    fs.put_file(str(tmp_path / "big.tar"), f"{s3_server.bucket}/nested/big.tar")
    options = {**s3_server.storage_options, "default_block_size": 2**20}
    with caplog.at_level(logging.DEBUG, logger="s3fs"):
        count = sum(1 for _ in iter_source(f"s3://{s3_server.bucket}/nested/big.tar", options))
    fetches = [record for record in caplog.records if record.getMessage().startswith("Fetch:")]
    blocks = -(-(tmp_path / "big.tar").stat().st_size // 2**20)
    assert count == 4000 and 0 < len(fetches) <= 4 * blocks, (len(fetches), blocks)  # measured: 11 reads, 5 blocks


def test_nested_tar_makes_the_same_shards_as_class_folders(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "train", IMAGES)
    archive = write_nested_tar(tmp_path / "train.tar", class_tars(IMAGES))
    from_folder = run_factory_shards(list_source(str(folder)), tmp_path / "out-folder")
    from_tar = run_factory_shards(list_source(str(archive)), tmp_path / "out-tar")
    assert len(from_folder) == 2 * 5 and from_tar == from_folder  # base, x264, two manifests, failures; 2 shards
    rows = pq.read_table(tmp_path / "out-tar" / "manifest" / "base-000000.parquet").to_pylist()
    assert [(row["source"], row["label"]) for row in rows] == [(key, key.split("/")[0]) for key in SORTED_KEYS[:4]]
    with tarfile.open(tmp_path / "out-tar" / "base" / "base-000000.tar") as shard:
        meta = json.loads(shard.extractfile("000000_00000.meta.json").read())
    assert meta["source"] == SORTED_KEYS[0] and meta["label"] == "n02123045"


def _link_info(name: str, target: str, kind: bytes) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


@pytest.mark.parametrize("nested", [False, True])
def test_link_members_are_failure_rows_naming_the_member(tmp_path: Path, nested: bool) -> None:
    """They used to vanish from the listing without a trace."""
    image = IMAGES["n02123045/chelsea_0.JPEG"]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        real = tarfile.TarInfo("real.JPEG")
        real.size = len(image)
        archive.addfile(real, io.BytesIO(image))
        archive.addfile(_link_info("soft.JPEG", "/etc/passwd", tarfile.SYMTYPE))
        archive.addfile(_link_info("hard.JPEG", "real.JPEG", tarfile.LNKTYPE))
    if nested:
        path = write_nested_tar(tmp_path / "train.tar", {"n01.tar": buffer.getvalue()})
        prefix, where = "n01/", "train.tar [n01.tar]"
    else:
        path, prefix, where = tmp_path / "plain.tar", "", "plain.tar"
        path.write_bytes(buffer.getvalue())
    items = {item.key_hint: item for item in list_source(str(path))}
    assert set(items) == {f"{prefix}hard.JPEG", f"{prefix}real.JPEG", f"{prefix}soft.JPEG"}
    assert read_bytes(items[f"{prefix}real.JPEG"]) == image
    with pytest.raises(SourceError, match=rf"{re.escape(where)} \[soft.JPEG\]: a symbolic link to /etc/passwd"):
        read_bytes(items[f"{prefix}soft.JPEG"])
    with pytest.raises(
        SourceError, match=r"\[hard.JPEG\]: a hard link to real.JPEG: links in archives are not followed"
    ):
        read_bytes(items[f"{prefix}hard.JPEG"])
