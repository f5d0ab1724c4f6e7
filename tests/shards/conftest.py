"""A tiny real dataset made without Ray (the shard jobs called directly), shared by the shards tests."""

from __future__ import annotations

import io
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline.config import FactoryConfig
from shards.layout import sample_key
from tests.dataset_builder import build_dataset

TINY_IMAGES = 7  # shard size 2 -> shards of 2, 2, 2 and 1 samples
TINY_SHARD_SIZE = 2
TINY_QPS = tuple(range(20, 45, 2))  # 20..44: q - 10 exists for q in 30..44
TINY_SIZE = 128
TINY_CODECS = ("x264", "x265", "vvenc")


@dataclass(frozen=True)
class TinyDataset:
    root: Path
    config: FactoryConfig
    num_shards: int
    keys: tuple[str, ...]


def rewrite_member(tar_path: Path, name: str, change) -> None:
    """Replace one member's bytes by change(old bytes), keeping the tar otherwise as it was."""
    with tarfile.open(tar_path) as archive:
        members = [(info, archive.extractfile(info).read()) for info in archive]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for info, content in members:
            content = change(content) if info.name == name else content
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    tar_path.write_bytes(buffer.getvalue())


@pytest.fixture(scope="session")
def tiny_dataset(jpeg_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> TinyDataset:
    """7 JPEG photos, 128 px, QPs 20-44/2 in x264, x265 and vvenc, 4 shards."""
    images = sorted(jpeg_dir.glob("*.JPEG"))[:TINY_IMAGES]
    root = tmp_path_factory.mktemp("tiny") / "dataset"
    config = build_dataset(root, images, shard_size=TINY_SHARD_SIZE, size=TINY_SIZE, qps=TINY_QPS, codecs=TINY_CODECS)
    num_shards = -(-TINY_IMAGES // TINY_SHARD_SIZE)
    keys = tuple(
        sample_key(index, position)
        for index in range(num_shards)
        for position in range(min(TINY_SHARD_SIZE, TINY_IMAGES - index * TINY_SHARD_SIZE))
    )
    return TinyDataset(root, config, num_shards, keys)


@pytest.fixture
def dataset_copy(tiny_dataset: TinyDataset, tmp_path: Path) -> Path:
    """A private copy of the tiny dataset that a test may damage."""
    copy = tmp_path / "copy"
    shutil.copytree(tiny_dataset.root, copy)
    return copy
