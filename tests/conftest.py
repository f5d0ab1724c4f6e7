"""Shared fixtures: real images from ../shared/data and a real S3 server (SeaweedFS) on loopback."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.s3_server import S3Server, start_seaweedfs

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _shared_data_dir(name: str) -> Path:
    folder = SHARED_DATA / name
    if not folder.is_dir():
        pytest.skip(f"shared test data {folder} is absent")
    return folder


@pytest.fixture(scope="session")
def kodak_dir() -> Path:
    """The 24 Kodak PNGs (18 are 768x512, 6 are 512x768)."""
    return _shared_data_dir("kodak")


@pytest.fixture(scope="session")
def imagenet_dir() -> Path:
    """200 ImageNet JPEGs (one per 5th class): mixed sizes, 3 grayscale, 50 with ICC profiles."""
    return _shared_data_dir("imagenet-sample")


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A SeaweedFS S3 endpoint with one bucket (`.bucket`) and credentials (`.storage_options`)."""
    server = start_seaweedfs(tmp_path_factory.mktemp("seaweedfs"))
    try:
        yield server
    finally:
        server.stop()
