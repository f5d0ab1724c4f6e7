"""Source listing benchmark: listing time and memory at ImageNet scale (1.28 M inputs).

Makes, in a temporary folder, a synthetic nested tar in the official layout (1000 class tars of 1280
tiny members: 1.28 M entries, ~1.3 GB) and Hugging Face-style parquet files of the same entries
(image struct {bytes, path} + label, row groups of 100 rows as `datasets` writes image data), then
lists each in a fresh process, twice: `list_source` (the whole listing held, as a driver that plans
every shard up front) and `iter_source` (streamed and counted, nothing held). Prints entries, seconds,
entries per second, and the process's peak RSS above its baseline after imports; then the time to
read the first 1000 items (byte ranges / parquet row groups).

    python -m benchmarks.source_listing            # 1.28 M entries (a few minutes, ~1.4 GB of disk)
    python -m benchmarks.source_listing --small    # 10 x 100 entries, seconds
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

PAYLOAD = b"\xff\xd8\xff\xe0tiny-jpeg\xff\xd9"  # names say JPEG; the listing never decodes
READ_ITEMS = 1000


def make_nested_tar(path: Path, classes: int, per_class: int) -> None:
    with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as outer:
        for index in range(classes):
            synset = f"n{index:08d}"
            buffer = io.BytesIO()
            with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as inner:
                for member in range(per_class):
                    info = tarfile.TarInfo(f"{synset}_{member}.JPEG")
                    info.size = len(PAYLOAD)
                    inner.addfile(info, io.BytesIO(PAYLOAD))
            info = tarfile.TarInfo(f"{synset}.tar")
            info.size = buffer.tell()
            buffer.seek(0)
            outer.addfile(info, buffer)


def make_parquet(folder: Path, classes: int, per_class: int, files: int, row_group_size: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir()
    total = classes * per_class
    image_type = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    per_file = -(-total // files)
    for file_index, start in enumerate(range(0, total, per_file)):
        rows = range(start, min(total, start + per_file))
        images = pa.array(
            [{"bytes": PAYLOAD, "path": f"n{row // per_class:08d}_{row % per_class}.JPEG"} for row in rows], image_type
        )
        table = pa.table({"image": images, "label": pa.array([row // per_class for row in rows], pa.int64())})
        pq.write_table(table, folder / f"train-{file_index:05d}-of-{files:05d}.parquet", row_group_size=row_group_size)


def measure(source: str, mode: str) -> dict:
    """In this (fresh) process: list `source` with list_source or iter_source; time, peak RSS, reads."""
    from pipeline.sources import iter_source, list_source, read_bytes

    baseline_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    if mode == "list":
        items = list_source(source)
        entries = len(items)
    else:
        entries, items = 0, []
        for item in iter_source(source):
            entries += 1
            if len(items) < READ_ITEMS:
                items.append(item)
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    read = sum(len(read_bytes(item)) for item in items[:READ_ITEMS])
    read_seconds = time.perf_counter() - started
    return {
        "entries": entries,
        "seconds": seconds,
        "peak_mib_above_baseline": (peak_kib - baseline_kib) / 1024,
        "baseline_mib": baseline_kib / 1024,
        "read_items": min(READ_ITEMS, len(items)),
        "read_seconds": read_seconds,
        "read_bytes": read,
    }


def run_measure(source: str, mode: str) -> dict:
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.source_listing", "--measure", source, "--mode", mode],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode:
        raise RuntimeError(f"measuring {source} ({mode}) failed:\n{completed.stderr[-2000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", action="store_true", help="10 classes x 100 entries (a smoke run)")
    parser.add_argument("--classes", type=int, default=1000)
    parser.add_argument("--per-class", type=int, default=1280)
    parser.add_argument("--parquet-files", type=int, default=128)
    parser.add_argument("--row-group-size", type=int, default=100)
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=("list", "stream"), default="list", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.mode)))
        return
    if args.small:
        args.classes, args.per_class, args.parquet_files = 10, 100, 4
    folder = Path(tempfile.mkdtemp(prefix="vrpsr-source-listing-"))
    try:
        total = args.classes * args.per_class
        started = time.perf_counter()
        make_nested_tar(folder / "train.tar", args.classes, args.per_class)
        print(
            f"made nested tar: {args.classes} class tars x {args.per_class} = {total:,} entries, "
            f"{os.path.getsize(folder / 'train.tar') / 2**20:.0f} MiB in {time.perf_counter() - started:.1f} s"
        )
        started = time.perf_counter()
        make_parquet(folder / "parquet", args.classes, args.per_class, args.parquet_files, args.row_group_size)
        size = sum(path.stat().st_size for path in (folder / "parquet").iterdir())
        print(
            f"made parquet: {args.parquet_files} files, row groups of {args.row_group_size}, {size / 2**20:.0f} MiB "
            f"in {time.perf_counter() - started:.1f} s"
        )
        print(
            f"{'source':<12}{'mode':<8}{'entries':>11}{'seconds':>9}{'entries/s':>11}{'peak MiB':>10}"
            f"{'read 1000 s':>13}"
        )
        for kind, source in (("nested tar", str(folder / "train.tar")), ("parquet", str(folder / "parquet"))):
            for mode in ("list", "stream"):
                result = run_measure(source, mode)
                if result["entries"] != total:
                    raise RuntimeError(f"{kind}: listed {result['entries']} entries, made {total}")
                print(
                    f"{kind:<12}{mode:<8}{result['entries']:>11,}{result['seconds']:>9.2f}"
                    f"{result['entries'] / result['seconds']:>11,.0f}{result['peak_mib_above_baseline']:>10.0f}"
                    f"{result['read_seconds']:>13.3f}"
                )
        print("peak MiB: the listing process's peak RSS above its RSS after imports")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
