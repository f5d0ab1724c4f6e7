"""WebDataset shards as a source: a brace pattern on SeaweedFS, a folder of shards, a .txt of shard URLs;
cls/json carried; a damaged shard is a failure item; shards match the same images as a flat folder."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import s3fs

from pipeline.errors import SourceError
from pipeline.sources import list_source, read_bytes
from tests.pipeline.sources.archives import run_factory_shards, tar_bytes, tiny_images, wds_shards, write_folder

IMAGES = tiny_images()
BY_NAME = {relative.rsplit("/", 1)[-1]: data for relative, data in IMAGES.items()}
NAMES = sorted(BY_NAME)  # chelsea_0.JPEG ... coffee_2.png: the shards hold them in this order
SYNSETS = sorted({relative.split("/")[0] for relative in IMAGES})
CLASS_INDEX = {
    relative.rsplit("/", 1)[-1]: str(SYNSETS.index(relative.split("/")[0])) for relative in IMAGES
}  # the cls members


def _write_shards(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, data in enumerate(wds_shards(IMAGES, per_shard=2)):
        paths.append(folder / f"imagenet-train-{index:04d}.tar")
        paths[-1].write_bytes(data)
    return paths


def _check_items(items, uris: list[str]) -> None:
    assert [item.key_hint for item in items] == NAMES
    assert [item.uri for item in items] == [uri for uri in uris for _ in range(2)]
    assert [item.label for item in items] == [CLASS_INDEX[name] for name in NAMES]
    fields = json.loads(items[3].fields)
    assert fields == {"key": "coffee_0", "cls": "1", "json": '{"synset": "n03063599"}'}


def test_brace_pattern_of_shards_on_s3(s3_server, tmp_path: Path) -> None:
    options = s3_server.storage_options
    fs = s3fs.S3FileSystem(**options)
    for path in _write_shards(tmp_path / "shards"):
        fs.put_file(str(path), f"{s3_server.bucket}/wds/{path.name}")
    fs.pipe(f"{s3_server.bucket}/wds/imagenet-train-0009.tar", b"")  # outside the pattern: not read
    pattern = f"s3://{s3_server.bucket}/wds/imagenet-train-{{0000..0002}}.tar"
    items = list_source(pattern, storage_options=options)
    _check_items(items, [f"s3://{s3_server.bucket}/wds/imagenet-train-{index:04d}.tar" for index in range(3)])
    assert [read_bytes(item, options) for item in items] == [BY_NAME[name] for name in NAMES]
    with pytest.raises(SourceError, match="imagenet-train-0003.tar"):  # a missing shard is named
        list_source(f"s3://{s3_server.bucket}/wds/imagenet-train-{{0000..0003}}.tar", storage_options=options)


def test_folder_text_list_and_glob_of_shards(tmp_path: Path) -> None:
    paths = _write_shards(tmp_path / "shards")
    uris = [str(path) for path in paths]
    _check_items(list_source(str(tmp_path / "shards")), uris)
    _check_items(list_source(str(tmp_path / "shards" / "imagenet-train-*.tar")), uris)
    (tmp_path / "shards.txt").write_text("# shards\n" + "".join(f"shards/{path.name}\n" for path in paths))
    _check_items(list_source(str(tmp_path / "shards.txt")), uris)
    single = list_source(str(paths[0]))  # one .tar alone is a tar of images: its image members
    assert [(item.key_hint, item.label, item.fields) for item in single] == [
        (NAMES[0], None, None),
        (NAMES[1], None, None),
    ]
    (tmp_path / "shards" / "cover.jpg").write_bytes(BY_NAME[NAMES[0]])  # an image in the folder: an image tree
    assert [item.key_hint for item in list_source(str(tmp_path / "shards"))] == ["cover.jpg"]


def test_samples_without_image_skipped_and_damaged_shard_is_a_failure(tmp_path: Path) -> None:
    good = tar_bytes(
        [
            ("a.cls", b"0"),
            ("a.jpg", BY_NAME[NAMES[0]]),
            ("b.txt", b"caption only"),
            ("c.txt", b"a caption"),
            ("c.webp.json", b"{}"),
            ("c.png", BY_NAME[NAMES[2]]),
        ]
    )
    damaged = tar_bytes([("d.jpg", BY_NAME[NAMES[1]]), ("e.jpg", BY_NAME[NAMES[3]]), ("f.jpg", BY_NAME[NAMES[4]])])
    second_header = 512 + (len(BY_NAME[NAMES[1]]) + 511) // 512 * 512
    (tmp_path / "s-0.tar").write_bytes(good)
    (tmp_path / "s-1.tar").write_bytes(damaged[:second_header] + b"\x07" * 512 + damaged[second_header + 512 :])
    items = list_source(str(tmp_path / "s-{0..1}.tar"))
    # d.jpg's sample is cut by the damage (its cls could have followed): it goes with the shard's failure
    assert [item.key_hint for item in items] == ["a.jpg", "c.png", "s-1.tar"]
    assert json.loads(items[1].fields) == {"key": "c", "txt": "a caption"} and items[1].label is None
    with pytest.raises(SourceError, match=f"s-1.tar: invalid tar header at byte {second_header}"):
        read_bytes(items[2])
    run_factory_shards(items, tmp_path / "out", shard_size=10)
    failures = pq.read_table(tmp_path / "out" / "failures" / "base-000000.parquet").to_pylist()
    assert [row["source"] for row in failures] == ["s-1.tar"] and "invalid tar header" in failures[0]["reason"]


def test_shards_match_the_same_images_as_a_folder(tmp_path: Path) -> None:
    """Same key_hints in the same order: identical clean/lq pictures and codec shards; the base
    meta.json and manifest add only what the shards carry (label from cls, source_fields)."""
    _write_shards(tmp_path / "shards")
    folder = write_folder(tmp_path / "flat", IMAGES, flat=True)
    from_folder = run_factory_shards(list_source(str(folder)), tmp_path / "out-folder")
    from_shards = run_factory_shards(list_source(str(tmp_path / "shards")), tmp_path / "out-shards")
    assert {
        name: digest for name, digest in from_shards.items() if name.startswith(("x264/", "manifest/x264", "failures/"))
    } == {
        name: digest for name, digest in from_folder.items() if name.startswith(("x264/", "manifest/x264", "failures/"))
    }
    for index in range(2):
        with (
            tarfile.open(tmp_path / "out-folder" / "base" / f"base-{index:06d}.tar") as plain,
            tarfile.open(tmp_path / "out-shards" / "base" / f"base-{index:06d}.tar") as carried,
        ):
            assert plain.getnames() == carried.getnames()
            for name in plain.getnames():
                expected, actual = plain.extractfile(name).read(), carried.extractfile(name).read()
                if name.endswith(".meta.json"):
                    expected, actual = json.loads(expected), json.loads(actual)
                    assert actual.pop("label") == CLASS_INDEX[actual["source"]]
                    assert actual.pop("source_fields")["key"] == actual["source"].split(".")[0]
                assert actual == expected, name
    rows = pq.read_table(tmp_path / "out-shards" / "manifest" / "base-000001.parquet").to_pylist()
    assert [(row["source"], row["label"]) for row in rows] == [(name, CLASS_INDEX[name]) for name in NAMES[4:]]
    assert json.loads(rows[0]["source_fields"])["json"] == '{"synset": "n03063599"}'
