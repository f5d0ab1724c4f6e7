"""Parquet sources: Hugging Face's {bytes, path} struct and plain binary columns, detected or named,
several files by glob, on S3; a row without bytes is a failure row; shards identical to class folders."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import s3fs

from pipeline.errors import SourceError
from pipeline.sources import list_source, read_bytes
from tests.pipeline.sources.archives import run_factory_shards, tiny_images, write_folder, write_parquet

IMAGES = tiny_images()
SORTED_KEYS = sorted(IMAGES)


def test_hugging_face_struct_column_by_row_group(tmp_path: Path) -> None:
    write_parquet(tmp_path / "train-00000.parquet", dict(list(IMAGES.items())[:3]), row_group_size=2, label_type="int")
    write_parquet(tmp_path / "train-00001.parquet", dict(list(IMAGES.items())[3:]), row_group_size=2, label_type="int")
    items = list_source(str(tmp_path / "train-*.parquet"))
    assert [item.key_hint for item in items] == SORTED_KEYS
    assert [(item.row_group, item.row) for item in items] == [(0, 0), (0, 1), (1, 0)] * 2
    assert [item.label for item in items] == ["0", "0", "0", "0", "0", "0"]  # each file's classes index from 0
    assert {item.member for item in items} == {"image"}
    assert [read_bytes(item) for item in items] == [IMAGES[key] for key in SORTED_KEYS]
    assert "train-00001.parquet [column image, row group 1, row 0]" in items[5].name
    assert list_source(str(tmp_path)) == items  # a folder holding only parquet files


def test_binary_column_named_or_detected_and_bad_rows(tmp_path: Path) -> None:
    rows = [IMAGES[key] for key in SORTED_KEYS] + [None]
    table = pa.table(
        {
            "caption": ["x"] * 7,
            "jpg": pa.array(rows, pa.binary()),
            "png": pa.array(rows, pa.binary()),
            "cls": list(range(7)),
            "synset": [key.split("/")[0] for key in SORTED_KEYS] + ["none"],
        }
    )
    pq.write_table(table, tmp_path / "plain.parquet", row_group_size=4)
    detected = list_source(str(tmp_path / "plain.parquet"))
    assert [item.key_hint for item in detected] == [f"plain.parquet/{row:09d}" for row in range(7)]
    assert [(item.member, item.label) for item in detected[:2]] == [("jpg", "0"), ("jpg", "1")]
    named = list_source(str(tmp_path / "plain.parquet"), image_column="png", label_column="synset")
    assert [(item.member, item.label) for item in named[:1]] == [("png", "n02123045")]
    assert read_bytes(named[5]) == IMAGES[SORTED_KEYS[5]]
    with pytest.raises(SourceError, match=r"plain.parquet \[column png, row group 1, row 2\]: no image bytes"):
        read_bytes(named[6])
    with pytest.raises(
        SourceError, match=r"plain.parquet: no column 'image' \(columns: caption, jpg, png, cls, synset\)"
    ):
        list_source(str(tmp_path / "plain.parquet"), image_column="image")
    with pytest.raises(SourceError, match="plain.parquet: column 'caption' is string, not image bytes"):
        list_source(str(tmp_path / "plain.parquet"), image_column="caption")
    pq.write_table(pa.table({"caption": ["x"]}), tmp_path / "text.parquet")
    with pytest.raises(SourceError, match="text.parquet: no image-bytes column .* --image-column"):
        list_source(str(tmp_path / "text.parquet"))

    (tmp_path / "broken.parquet").write_bytes(b"PAR1 this is not parquet PAR1")
    broken = list_source(str(tmp_path / "broken.parquet"))
    assert [item.key_hint for item in broken] == ["broken.parquet"]
    run_factory_shards(broken + named[5:], tmp_path / "out", shard_size=10)
    failures = {
        row["source"]: row["reason"]
        for row in pq.read_table(tmp_path / "out" / "failures" / "base-000000.parquet").to_pylist()
    }
    assert set(failures) == {"broken.parquet", "plain.parquet/000000006"}
    assert "broken.parquet: not a readable parquet file" in failures["broken.parquet"]
    assert "row group 1, row 2]: no image bytes" in failures["plain.parquet/000000006"]


def test_parquet_on_s3(s3_server, tmp_path: Path) -> None:
    path = write_parquet(tmp_path / "train.parquet", IMAGES, row_group_size=4)
    fs = s3fs.S3FileSystem(**s3_server.storage_options)
    fs.put_file(str(path), f"{s3_server.bucket}/hf/data/train-00000-of-00001.parquet")
    items = list_source(f"s3://{s3_server.bucket}/hf/data/train-*.parquet", storage_options=s3_server.storage_options)
    assert [item.key_hint for item in items] == SORTED_KEYS
    assert [read_bytes(item, s3_server.storage_options) for item in items] == [IMAGES[key] for key in SORTED_KEYS]


def test_parquet_makes_the_same_shards_as_class_folders(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "train", IMAGES)
    parquet = write_parquet(tmp_path / "train.parquet", IMAGES, row_group_size=4)
    from_folder = run_factory_shards(list_source(str(folder)), tmp_path / "out-folder")
    from_parquet = run_factory_shards(list_source(str(parquet)), tmp_path / "out-parquet")
    assert len(from_folder) == 10 and from_parquet == from_folder
