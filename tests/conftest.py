"""Shared fixtures: the test pictures (made by tests/images.py) and a real S3 server (SeaweedFS) on loopback.

The pictures are made once per session from scikit-image's bundled photographs, so a bare clone and CI
test the same thing; ../shared/data is only for benchmarks. tests/skip_policy.py says when a test may skip.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.images import write_jpegs, write_photos
from tests.s3_server import S3Server, start_seaweedfs

pytest_plugins = ("tests.skip_policy",)


@pytest.fixture(scope="session")
def photo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8 colour photographs as PNG: 5 landscape 768x512, 3 portrait 512x768 (tests.images.PHOTOS)."""
    return write_photos(tmp_path_factory.mktemp("photos"))


@pytest.fixture(scope="session")
def jpeg_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """24 JPEGs as found in the wild: mixed sizes, 3 grayscale, ICC, progressive (tests.images.JPEGS),
    with a README.md and SHA256SUMS beside them."""
    return write_jpegs(tmp_path_factory.mktemp("jpegs"))


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A SeaweedFS S3 endpoint with one bucket (`.bucket`) and credentials (`.storage_options`)."""
    server = start_seaweedfs(tmp_path_factory.mktemp("seaweedfs"))
    try:
        yield server
    finally:
        server.stop()
