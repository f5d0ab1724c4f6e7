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
from pipeline.sources import SAMPLE_IMAGES, SourceItem, list_source, read_bytes, tar_member_uri

TENCH = "n01440764_tench.JPEG"
ROBIN = "n01558993_robin.JPEG"
SOCCER_BALL = "n04254680_soccer_ball.JPEG"  # grayscale


@pytest.fixture
def image_tree(tmp_path: Path, imagenet_dir: Path) -> Path:
    """An ImageNet-style tree with decoys: other extensions, hidden files, a corrupt '.png'."""
    root = tmp_path / "train"
    for relative, name in [("n01440764/a.JPEG", TENCH), ("n01558993/b.jpg", ROBIN),
                           ("n04254680/deep/c.Jpeg", SOCCER_BALL), ("n01558993/.hidden.jpg", ROBIN),
                           (".cache/d.jpg", ROBIN)]:
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(imagenet_dir / name, root / relative)
    (root / "n01440764" / "notes.txt").write_text("not an image")
    (root / "n01440764" / "labels.json").write_text("{}")
    (root / "broken.png").write_bytes(b"definitely not a png")
    return root


def test_folder_tree_lists_image_extensions_sorted(image_tree: Path, imagenet_dir: Path) -> None:
    items = list_source(str(image_tree))
    assert [item.key_hint for item in items] == [
        "broken.png", "n01440764/a.JPEG", "n01558993/b.jpg", "n04254680/deep/c.Jpeg"]
    assert all(Path(item.uri).is_absolute() and Path(item.uri).is_file() for item in items)
    assert read_bytes(items[1]) == (imagenet_dir / TENCH).read_bytes()
    assert list_source(str(image_tree) + "/") == items
    with pytest.raises(SourceError, match="broken.png"):
        decode_image(read_bytes(items[0]), items[0].key_hint)


def test_imagenet_sample_folder(imagenet_dir: Path) -> None:
    items = list_source(str(imagenet_dir))
    expected = sorted(path.name for path in imagenet_dir.glob("*.JPEG"))
    assert len(expected) == 200
    assert [item.key_hint for item in items] == expected  # README.md and SHA256SUMS left out


def test_single_image_file(imagenet_dir: Path) -> None:
    assert list_source(str(imagenet_dir / TENCH)) == [SourceItem(TENCH, str(imagenet_dir / TENCH))]


def test_text_list(tmp_path: Path, image_tree: Path, imagenet_dir: Path) -> None:
    lists = tmp_path / "lists"
    lists.mkdir()
    absolute = imagenet_dir / ROBIN
    (lists / "inputs.txt").write_text(
        "# inputs\n\n../train/n01440764/a.JPEG\n  ../train/broken.png  \n"
        f"{absolute}\n../train/n01440764/a.JPEG\n../train/missing.jpg\n")
    items = list_source(str(lists / "inputs.txt"))
    assert [item.key_hint for item in items] == sorted([
        "../train/n01440764/a.JPEG", "../train/broken.png", str(absolute), "../train/missing.jpg"])
    by_key = {item.key_hint: item for item in items}
    assert by_key["../train/n01440764/a.JPEG"].uri == str(image_tree / "n01440764" / "a.JPEG")
    assert read_bytes(by_key[str(absolute)]) == absolute.read_bytes()
    with pytest.raises(SourceError, match="missing.jpg"):
        read_bytes(by_key["../train/missing.jpg"])


def _make_tar(path: Path, image_tree: Path) -> None:
    with tarfile.open(path, "w") as archive:
        archive.add(image_tree / "n01558993" / "b.jpg", arcname="n01558993/b.jpg")
        archive.add(image_tree / "n01440764" / "a.JPEG", arcname="./n01440764/a.JPEG")
        archive.add(image_tree / "n01440764" / "notes.txt", arcname="n01440764/notes.txt")
        archive.add(image_tree / "n01558993" / ".hidden.jpg", arcname="n01558993/.hidden.jpg")
        archive.add(image_tree / "n04254680", arcname="n04254680")  # a folder, recursively


def test_tar_archive(tmp_path: Path, image_tree: Path) -> None:
    archive = tmp_path / "shard.tar"
    _make_tar(archive, image_tree)
    items = list_source(str(archive))
    assert [item.key_hint for item in items] == [
        "./n01440764/a.JPEG", "n01558993/b.jpg", "n04254680/deep/c.Jpeg"]
    assert items[1].uri == f"tar://n01558993/b.jpg::{archive}"
    for item, original in zip(items, ["n01440764/a.JPEG", "n01558993/b.jpg", "n04254680/deep/c.Jpeg"]):
        expected = (image_tree / original).read_bytes()
        assert read_bytes(item) == expected
        with fsspec.open(item.uri, "rb") as handle:  # the URI is fsspec's own chained tar URL
            assert handle.read() == expected
    with pytest.raises(SourceError, match="no member 'nope.jpg'"):
        read_bytes(SourceItem("nope.jpg", tar_member_uri("nope.jpg", str(archive))))


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
    with pytest.raises(SourceError, match="fake.tar: cannot list"):
        list_source(str(tmp_path / "fake.tar"))
    with pytest.raises(SourceError, match="cannot read"):
        read_bytes(SourceItem("x.jpg", str(tmp_path / "x.jpg")))


def test_s3_folder_text_and_tar(s3_server, tmp_path: Path, image_tree: Path) -> None:
    options = s3_server.storage_options
    fs = s3fs.S3FileSystem(**options)
    prefix = f"{s3_server.bucket}/sources"
    fs.put(str(image_tree) + "/", f"{prefix}/train/", recursive=True)
    fs.pipe(f"{prefix}/lists/inputs.txt",
            b"# on s3\n../train/n01558993/b.jpg\n../train/missing.jpg\n")
    _make_tar(tmp_path / "shard.tar", image_tree)
    fs.put_file(str(tmp_path / "shard.tar"), f"{prefix}/shards/shard.tar")

    folder = list_source(f"s3://{prefix}/train", storage_options=options)
    assert [item.key_hint for item in folder] == [
        "broken.png", "n01440764/a.JPEG", "n01558993/b.jpg", "n04254680/deep/c.Jpeg"]
    assert folder[2].uri == f"s3://{prefix}/train/n01558993/b.jpg"
    for item in folder:
        assert read_bytes(item, options) == (image_tree / item.key_hint).read_bytes()

    listed = list_source(f"s3://{prefix}/lists/inputs.txt", storage_options=options)
    assert [(item.key_hint, item.uri) for item in listed] == [
        ("../train/missing.jpg", f"s3://{prefix}/train/missing.jpg"),
        ("../train/n01558993/b.jpg", f"s3://{prefix}/train/n01558993/b.jpg")]
    assert read_bytes(listed[1], options) == (image_tree / "n01558993" / "b.jpg").read_bytes()
    with pytest.raises(SourceError, match="missing.jpg") as missing:
        read_bytes(listed[0], options)
    assert s3_server.secret_key not in str(missing.value)

    members = list_source(f"s3://{prefix}/shards/shard.tar", storage_options=options)
    assert members[1].uri == f"tar://n01558993/b.jpg::s3://{prefix}/shards/shard.tar"
    assert read_bytes(members[1], options) == (image_tree / "n01558993" / "b.jpg").read_bytes()
    assert all(s3_server.secret_key not in item.uri for item in folder + listed + members)
    with pytest.raises(SourceError, match="no such file or folder"):
        list_source(f"s3://{prefix}/absent/", storage_options=options)
