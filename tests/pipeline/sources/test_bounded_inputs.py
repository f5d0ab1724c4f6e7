"""Inputs are bounded: never read past --max-input-mb, never open a device or FIFO; each such input is a
failure row naming it, and the rest of the shard is made."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipeline.config import FactoryConfig
from pipeline.errors import SourceError
from pipeline.shard_job import make_base_shard
from pipeline.sources import SourceItem, list_source, read_bytes
from shards.layout import failures_path

CAP = 4096
DEADLINE_S = 60.0


def _read_within_deadline(item: SourceItem, max_bytes: int = CAP) -> BaseException | bytes:
    """read_bytes in a thread: a read that blocks (a FIFO) or never ends fails the test instead of hanging it."""
    outcome: list = []

    def target() -> None:
        try:
            outcome.append(read_bytes(item, max_bytes=max_bytes))
        except BaseException as error:  # noqa: BLE001 - handed back to the test
            outcome.append(error)

    reader = threading.Thread(target=target, daemon=True)
    reader.start()
    reader.join(DEADLINE_S)
    assert not reader.is_alive(), f"reading {item.uri} did not end within {DEADLINE_S} s"
    return outcome[0]


def test_a_file_larger_than_the_limit_is_refused_after_reading_at_most_the_limit(tmp_path: Path) -> None:
    big = tmp_path / "big.jpg"
    big.write_bytes(bytes(CAP + 1))
    outcome = _read_within_deadline(SourceItem("big.jpg", str(big)))
    assert isinstance(outcome, SourceError) and "larger than the input limit" in str(outcome)
    assert "--max-input-mb" in str(outcome)
    assert _read_within_deadline(SourceItem("big.jpg", str(big)), max_bytes=CAP + 1) == bytes(CAP + 1)


def test_an_endless_device_and_a_fifo_are_refused_unopened(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    for path in ("/dev/zero", str(fifo)):
        outcome = _read_within_deadline(SourceItem(path, path), max_bytes=2**30)
        assert isinstance(outcome, SourceError) and f"{path}: not a regular file" in str(outcome)


def test_an_archive_member_larger_than_the_limit_is_refused_unread(tmp_path: Path) -> None:
    archive = tmp_path / "a.tar"
    archive.write_bytes(bytes(1024))  # shorter than the member claims: reading it would fail otherwise
    outcome = _read_within_deadline(SourceItem("a.tar/x.jpg", str(archive), "x.jpg", 512, CAP + 1))
    assert isinstance(outcome, SourceError) and "a.tar [x.jpg]: larger than the input limit" in str(outcome)


def test_a_list_naming_dev_zero_a_fifo_and_a_huge_file_makes_failure_rows(tmp_path: Path, jpeg_dir: Path) -> None:
    """Issue 23: a .txt naming /dev/zero grew one task to 18.75 GB and Ray retried it forever."""
    fifo, huge = tmp_path / "pipe.jpg", tmp_path / "huge.jpg"
    os.mkfifo(fifo)
    huge.write_bytes(bytes(2 * 2**20))
    photo = sorted(jpeg_dir.glob("*.JPEG"))[0]
    listing = tmp_path / "inputs.txt"
    listing.write_text("\n".join(["/dev/zero", str(fifo), str(huge), str(photo)]) + "\n")
    config = FactoryConfig(
        source=str(listing), out=str(tmp_path / "out"), codecs=("x264",), qps=(40,), size=64, max_input_bytes=2**20
    )
    items = list_source(str(listing))
    result = [None]
    worker = threading.Thread(target=lambda: result.__setitem__(0, make_base_shard(config, 0, items, "hash")))
    worker.start()
    worker.join(DEADLINE_S)
    assert not worker.is_alive(), "the shard job did not end"
    rows = {row["source"]: row["reason"] for row in pq.read_table(tmp_path / "out" / failures_path(0)).to_pylist()}
    assert set(rows) == {"/dev/zero", str(fifo), str(huge)}
    assert "not a regular file" in rows["/dev/zero"] and "not a regular file" in rows[str(fifo)]
    assert "larger than the input limit of 1 MB" in rows[str(huge)]


def test_the_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="--max-input-mb must be > 0"):
        FactoryConfig(source="sample", out="unused", max_input_bytes=0)
