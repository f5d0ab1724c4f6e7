"""list_source / read_bytes over folders, text lists, tar archives, the sample set and s3."""

from __future__ import annotations

import shutil
import tarfile
from pathlib import Path

import fsspec
import pytest
import s3fs

from pipeline.decode_image import decode_image
from pipeline.errors import SourceError
from pipeline.sources import SAMPLE_IMAGES, SourceItem, list_source, read_bytes
from tests.images import JPEGS

CUP = "coffee_500x333.JPEG"
CAT = "chelsea_451x300_icc.JPEG"
COINS = "coins_gray_384x303.JPEG"  # grayscale


@pytest.fixture
def image_tree(tmp_path: Path, jpeg_dir: Path) -> Path:
    """An ImageNet-style tree (a folder per class) with decoys: other extensions, hidden files, a corrupt '.png'."""
    root = tmp_path / "train"
    for relative, name in [
        ("cups/a.JPEG", CUP),
        ("kittens/b.jpg", CAT),
        ("money/deep/c.Jpeg", COINS),
        ("kittens/.hidden.jpg", CAT),
        (".cache/d.jpg", CAT),
    ]:
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(jpeg_dir / name, root / relative)
    (root / "cups" / "notes.txt").write_text("not an image")
    (root / "cups" / "labels.json").write_text("{}")
    (root / "broken.png").write_bytes(b"definitely not a png")
    return root


def test_folder_tree_lists_image_extensions_sorted(image_tree: Path, jpeg_dir: Path) -> None:
    items = list_source(str(image_tree))
    assert [item.key_hint for item in items] == ["broken.png", "cups/a.JPEG", "kittens/b.jpg", "money/deep/c.Jpeg"]
    assert all(Path(item.uri).is_absolute() and Path(item.uri).is_file() for item in items)
    assert read_bytes(items[1]) == (jpeg_dir / CUP).read_bytes()
    assert list_source(str(image_tree) + "/") == items
    with pytest.raises(SourceError, match="broken.png"):
        decode_image(read_bytes(items[0]), items[0].key_hint)


def test_folder_of_jpegs(jpeg_dir: Path) -> None:
    items = list_source(str(jpeg_dir))
    expected = sorted(path.name for path in jpeg_dir.glob("*.JPEG"))
    assert len(expected) == len(JPEGS) == 24
    assert (jpeg_dir / "README.md").is_file() and (jpeg_dir / "SHA256SUMS").is_file()
    assert [item.key_hint for item in items] == expected  # README.md and SHA256SUMS left out


def test_single_image_file(jpeg_dir: Path) -> None:
    assert list_source(str(jpeg_dir / CUP)) == [SourceItem(CUP, str(jpeg_dir / CUP))]


def test_text_list(tmp_path: Path, image_tree: Path, jpeg_dir: Path) -> None:
    lists = tmp_path / "lists"
    lists.mkdir()
    absolute = jpeg_dir / CAT
    (lists / "inputs.txt").write_text(
        "# inputs\n\n../train/cups/a.JPEG\n  ../train/broken.png  \n"
        f"{absolute}\n../train/cups/a.JPEG\n../train/missing.jpg\n"
    )
    items = list_source(str(lists / "inputs.txt"))
    assert [item.key_hint for item in items] == sorted(
        ["../train/cups/a.JPEG", "../train/broken.png", str(absolute), "../train/missing.jpg"]
    )
    by_key = {item.key_hint: item for item in items}
    assert by_key["../train/cups/a.JPEG"].uri == str(image_tree / "cups" / "a.JPEG")
    assert read_bytes(by_key[str(absolute)]) == absolute.read_bytes()
    with pytest.raises(SourceError, match="missing.jpg"):
        read_bytes(by_key["../train/missing.jpg"])


def _make_tar(path: Path, image_tree: Path) -> None:
    with tarfile.open(path, "w") as archive:
        archive.add(image_tree / "kittens" / "b.jpg", arcname="kittens/b.jpg")
        archive.add(image_tree / "cups" / "a.JPEG", arcname="./cups/a.JPEG")
        archive.add(image_tree / "cups" / "notes.txt", arcname="cups/notes.txt")
        archive.add(image_tree / "kittens" / ".hidden.jpg", arcname="kittens/.hidden.jpg")
        archive.add(image_tree / "money", arcname="money")  # a folder, recursively


def test_tar_archive(tmp_path: Path, image_tree: Path) -> None:
    archive = tmp_path / "shard.tar"
    _make_tar(archive, image_tree)
    items = list_source(str(archive))
    assert [item.key_hint for item in items] == ["./cups/a.JPEG", "kittens/b.jpg", "money/deep/c.Jpeg"]
    assert (items[1].uri, items[1].member, items[1].label) == (str(archive), "kittens/b.jpg", "kittens")
    for item, original in zip(items, ["cups/a.JPEG", "kittens/b.jpg", "money/deep/c.Jpeg"]):
        expected = (image_tree / original).read_bytes()
        assert read_bytes(item) == expected
        with fsspec.open(f"tar://{item.member}::{item.uri}", "rb") as handle:  # the byte range is the member's
            assert handle.read() == expected
    beyond = SourceItem("nope.jpg", str(archive), member="nope.jpg", offset=archive.stat().st_size - 10, size=100)
    with pytest.raises(SourceError, match=r"shard.tar \[nope.jpg\]: the archive ends after 10 of"):
        read_bytes(beyond)


def test_sample_source_is_natural_photographs() -> None:
    items = list_source("sample")
    assert len(items) >= 10 and {item.key_hint for item in items} <= set(SAMPLE_IMAGES)
    assert [item.key_hint for item in items] == sorted(item.key_hint for item in items)
    for item in items:
        image = decode_image(read_bytes(item), item.key_hint)
        assert image.ndim == 3 and image.shape[2] == 3 and min(image.shape[:2]) >= 300


def test_bad_sources(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(SourceError, match=f"{missing}: no such file or folder"):
        list_source(str(missing))
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match="no images found"):
        list_source(str(tmp_path / "empty"))
    (tmp_path / "images.zip").write_bytes(b"PK")
    with pytest.raises(SourceError, match="unsupported source type"):
        list_source(str(tmp_path / "images.zip"))
    (tmp_path / "fake.tar").write_bytes(b"not a tar" * 100)
    with pytest.raises(SourceError, match="fake.tar: not a readable tar"):
        list_source(str(tmp_path / "fake.tar"))
    with pytest.raises(SourceError, match="cannot read"):
        read_bytes(SourceItem("x.jpg", str(tmp_path / "x.jpg")))


def test_s3_folder_text_and_tar(s3_server, tmp_path: Path, image_tree: Path) -> None:
    options = s3_server.storage_options
    fs = s3fs.S3FileSystem(**options)
    prefix = f"{s3_server.bucket}/sources"
    fs.put(str(image_tree) + "/", f"{prefix}/train/", recursive=True)
    fs.pipe(f"{prefix}/lists/inputs.txt", b"# on s3\n../train/kittens/b.jpg\n../train/missing.jpg\n")
    _make_tar(tmp_path / "shard.tar", image_tree)
    fs.put_file(str(tmp_path / "shard.tar"), f"{prefix}/shards/shard.tar")

    folder = list_source(f"s3://{prefix}/train", storage_options=options)
    assert [item.key_hint for item in folder] == ["broken.png", "cups/a.JPEG", "kittens/b.jpg", "money/deep/c.Jpeg"]
    assert folder[2].uri == f"s3://{prefix}/train/kittens/b.jpg"
    for item in folder:
        assert read_bytes(item, options) == (image_tree / item.key_hint).read_bytes()

    listed = list_source(f"s3://{prefix}/lists/inputs.txt", storage_options=options)
    assert [(item.key_hint, item.uri) for item in listed] == [
        ("../train/kittens/b.jpg", f"s3://{prefix}/train/kittens/b.jpg"),
        ("../train/missing.jpg", f"s3://{prefix}/train/missing.jpg"),
    ]
    assert read_bytes(listed[0], options) == (image_tree / "kittens" / "b.jpg").read_bytes()
    with pytest.raises(SourceError, match="missing.jpg") as missing:
        read_bytes(listed[1], options)
    assert s3_server.secret_key not in str(missing.value)

    members = list_source(f"s3://{prefix}/shards/shard.tar", storage_options=options)
    assert (members[1].uri, members[1].member) == (f"s3://{prefix}/shards/shard.tar", "kittens/b.jpg")
    assert read_bytes(members[1], options) == (image_tree / "kittens" / "b.jpg").read_bytes()
    assert all(s3_server.secret_key not in item.uri for item in folder + listed + members)
    with pytest.raises(SourceError, match="no such file or folder"):
        list_source(f"s3://{prefix}/absent/", storage_options=options)
