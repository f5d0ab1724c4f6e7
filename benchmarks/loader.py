"""Loader benchmark: full training items per second per worker and per core, local vs S3, vs PNG storage.

A full item = clean + lq PNGs and two decoded bitstreams (q and q-10), cropped, as float tensors.
The floor is the sum of those four decodes measured alone on the same samples; everything the
loader spends above it is overhead (target: item time <= 1.3x the floor).

The PNG baseline stores the same content as decoded pictures: every QP of the codec as a PNG
beside clean and lq, read with the same stages (tar, PNG decode, crop, tensors).

Make a dataset first (512² crops), then run:
    vrpsr generate inputs.txt /tmp/bench512 --size 512 --qps 20-50/2 --shard-size 8
    python -m benchmarks.loader /tmp/bench512 --s3 --png-baseline --workers 1,2
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import cv2
import torch

from codec_bindings import decode
from shards.codec_meta import parse_codec_meta
from shards.dataset_info import read_dataset_info
from shards.layout import BASE_GROUP, CLEAN_SUFFIX, LQ_SUFFIX, META_SUFFIX, bitstream_suffix, shard_path
from shards.loader import ShardLoader, open_dataset
from shards.loader.condition import ConditionSpec, Selection, sample_condition
from shards.loader.plan import rng_for
from shards.loader.stages import (
    CLEAN,
    CODEC_OUT,
    CODEC_OUT_SLIGHT,
    LQ,
    random_crop,
    read_groups,
    to_tensors,
    zip_groups,
)
from shards.png import decode_png, encode_png
from shards.storage import Storage
from shards.tar_format import build_tar, read_tar
from vrpsr_cli.arguments import int_list

CONDITION = ConditionSpec(qp_range=(30, 50))


def one_core() -> None:
    """What a DataLoader worker process gets: one torch thread (and we give OpenCV one too)."""
    torch.set_num_threads(1)
    cv2.setNumThreads(1)


def num_shards(root: str) -> int:
    return read_dataset_info(Storage(root))["num_shards"]


def selections(root: str, codec: str) -> list[Selection]:
    storage = Storage(root)
    chosen = []
    for index in range(num_shards(root)):
        zipped = zip_groups(read_groups(storage, index, (BASE_GROUP, codec)), str(index))
        weights = CONDITION.resolved((codec,))
        chosen += [sample_condition(key, members, CONDITION, weights, 0, 0, str(index)) for key, members in zipped]
    return chosen


def decode_floor(root: str, codec: str, passes: int = 3) -> dict:
    """ms per item of the four decodes alone: passes over all samples in turn, as the loader meets them;
    the fastest pass counts."""
    samples = selections(root, codec)
    best: dict | None = None
    for _ in range(passes):
        spent = {"clean_png": 0.0, "lq_png": 0.0, "bitstreams": 0.0}
        for selection in samples:
            size = (selection.height, selection.width)
            start = time.perf_counter()
            decode_png(selection.clean_png, "clean")
            clean_done = time.perf_counter()
            decode_png(selection.lq_png, "lq")
            lq_done = time.perf_counter()
            for data, sha in (
                (selection.bitstream, selection.sha256),
                (selection.bitstream_slight, selection.sha256_slight),
            ):
                decode(
                    data,
                    codec,
                    size=size,
                    expected_sha256=sha,
                    matrix=selection.matrix,
                    value_range=selection.value_range,
                )
            done = time.perf_counter()
            for name, seconds in (
                ("clean_png", clean_done - start),
                ("lq_png", lq_done - clean_done),
                ("bitstreams", done - lq_done),
            ):
                spent[name] += seconds * 1000 / len(samples)
        if best is None or sum(spent.values()) < sum(best.values()):
            best = spent
    return {**best, "floor": sum(best.values())}


def steady_dataset(root: str, codec: str, crop: int, storage_options: dict | None = None, picture_dtype=torch.float32):
    """Resampled (endless) so that a small benchmark dataset still measures the steady state, where the
    next block loads while this one decodes; 2 shards per block."""
    return open_dataset(
        root,
        groups=(codec,),
        condition=CONDITION,
        crop=crop,
        storage_options=storage_options,
        resampled=True,
        shuffle_buffer=16,
        picture_dtype=picture_dtype,
    )


def in_process(root: str, codec: str, crop: int, seconds: float, storage_options: dict | None = None) -> dict:
    """Items/s of one process iterating the dataset itself: wall and CPU (the reader threads included)."""
    items = iter(steady_dataset(root, codec, crop, storage_options))
    for _ in range(8):  # warm: imports, first connection, first block
        next(items)
    count, wall, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - wall < seconds:
        next(items)
        count += 1
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {
        "items": count,
        "items_per_s": count / wall,
        "items_per_cpu_s": count / cpu,
        "ms_per_item_cpu": 1000 * cpu / count,
    }


def with_workers(root: str, codec: str, crop: int, workers: int, seconds: float, picture_dtype=torch.float32) -> dict:
    """Items/s through ShardLoader(num_workers=workers, batch_size=8) as the training loop sees them."""
    dataset = steady_dataset(root, codec, crop, picture_dtype=picture_dtype)
    loader = ShardLoader(dataset, batch_size=8, num_workers=workers, prefetch_factor=4)
    batches = iter(loader)
    for _ in range(2 * workers):
        next(batches)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        count += len(next(batches)["key"])
    wall = time.perf_counter() - start
    return {"items": count, "items_per_s": count / wall, "items_per_s_per_worker": count / wall / workers}


def write_png_variant(root: str, codec: str, out: Path) -> int:
    """The same content with every coded picture stored decoded, as PNG; returns the bytes written."""
    storage, total = Storage(root), 0
    for index in range(num_shards(root)):
        samples = []
        for key, members in zip_groups(read_groups(storage, index, (BASE_GROUP, codec)), str(index)):
            meta = parse_codec_meta(members[codec][META_SUFFIX], key)
            stored = {
                CLEAN_SUFFIX: members[BASE_GROUP][CLEAN_SUFFIX],
                LQ_SUFFIX: members[BASE_GROUP][LQ_SUFFIX],
                META_SUFFIX: members[codec][META_SUFFIX],
            }
            for picture in meta.clean_qps().values():
                rgb = decode(
                    members[codec][bitstream_suffix(codec, picture.name)],
                    codec,
                    size=(meta.height, meta.width),
                    matrix=meta.matrix,
                    value_range=meta.value_range,
                )
                stored[f"{picture.name}.png"] = encode_png(rgb, 3)
            samples.append((key, stored))
        data = build_tar(samples)
        (out / f"{index:06d}.tar").write_bytes(data)
        total += len(data)
    return total


def png_items(folder: Path, crop: int, seconds: float) -> dict:
    """Items/s reading the PNG variant with the same stages: tar, condition, 4 PNG decodes, crop, tensors."""
    tars = sorted(folder.glob("*.tar"))
    count, wall, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - wall < seconds:
        for path in tars:
            for key, members in read_tar(path.read_bytes(), str(path)):
                meta = parse_codec_meta(members[META_SUFFIX], key)
                coded = meta.clean_qps()
                qps = CONDITION.eligible_qps(set(coded))
                qp = qps[int(rng_for(0, key).integers(len(qps)))]
                slight = qp - CONDITION.slight_qp_offset
                pictures = {
                    CLEAN: decode_png(members[CLEAN_SUFFIX], key),
                    LQ: decode_png(members[LQ_SUFFIX], key),
                    CODEC_OUT: decode_png(members[f"{coded[qp].name}.png"], key),
                    CODEC_OUT_SLIGHT: decode_png(members[f"{coded[slight].name}.png"], key),
                }
                selection = Selection(
                    key,
                    meta.codec,
                    qp,
                    slight,
                    coded[qp].bpp,
                    coded[slight].bpp,
                    b"",
                    b"",
                    b"",
                    b"",
                    "",
                    "",
                    meta.height,
                    meta.width,
                    meta.matrix,
                    meta.value_range,
                )
                to_tensors(random_crop(pictures, crop, rng_for(0, key, "crop"), key), selection)
                count += 1
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {
        "items": count,
        "items_per_s": count / wall,
        "items_per_cpu_s": count / cpu,
        "ms_per_item_cpu": 1000 * cpu / count,
    }


def upload_to_seaweedfs(root: str, folder: Path):
    import s3fs

    from tests.s3_server import start_seaweedfs

    server = start_seaweedfs(folder)
    s3fs.S3FileSystem(**server.storage_options).put(root, f"{server.bucket}/bench", recursive=True)
    return server, f"s3://{server.bucket}/bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", help="a dataset made by vrpsr generate (local folder)")
    parser.add_argument("--codecs", default="x264,vvenc")
    parser.add_argument("--crop", type=int, default=512)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument(
        "--workers", type=int_list, default=(1, 2), help="DataLoader worker counts to run, e.g. 1,2 (empty: none)"
    )
    parser.add_argument("--s3", action="store_true", help="also read it from a local SeaweedFS (loopback S3)")
    parser.add_argument("--png-baseline", action="store_true")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    one_core()
    results: dict = {}
    server = None
    with tempfile.TemporaryDirectory() as scratch:
        try:
            if args.s3:
                server, s3_url = upload_to_seaweedfs(args.root, Path(scratch) / "seaweedfs")
            for codec in args.codecs.split(","):
                row = results[codec] = {"floor_ms": decode_floor(args.root, codec)}
                row["local"] = in_process(args.root, codec, args.crop, args.seconds)
                for workers in args.workers:
                    row[f"local_{workers}_workers"] = with_workers(args.root, codec, args.crop, workers, args.seconds)
                    row[f"local_{workers}_workers_uint8"] = with_workers(
                        args.root, codec, args.crop, workers, args.seconds, torch.uint8
                    )
                if server is not None:
                    row["s3"] = in_process(s3_url, codec, args.crop, args.seconds, server.storage_options)
                if args.png_baseline:
                    folder = Path(scratch) / f"png-{codec}"
                    folder.mkdir()
                    row["png_bytes"] = write_png_variant(args.root, codec, folder)
                    row["png"] = png_items(folder, args.crop, args.seconds)
                row["bitstream_bytes"] = sum(
                    Path(args.root, shard_path(group, index)).stat().st_size
                    for group in (BASE_GROUP, codec)
                    for index in range(num_shards(args.root))
                )
                print(report(codec, row), flush=True)
        finally:
            if server is not None:
                server.stop()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


def report(codec: str, row: dict) -> str:
    floor = row["floor_ms"]
    local = row["local"]
    lines = [
        f"== {codec}: decode floor {floor['floor']:.2f} ms/item (clean PNG {floor['clean_png']:.2f}, lq PNG {floor['lq_png']:.2f}, "
        f"two bitstreams {floor['bitstreams']:.2f})",
        f"   local, 1 process:   {local['items_per_s']:6.1f} items/s, {local['items_per_cpu_s']:6.1f} items/CPU-s "
        f"({local['ms_per_item_cpu']:.2f} ms/item = {local['ms_per_item_cpu'] / floor['floor']:.2f}x the floor)",
    ]
    for name, value in row.items():
        if name.startswith("local_") and "_workers" in name:
            label = name[6:].replace("_", " ").replace("uint8", "(uint8 pictures)")
            label = label.replace("workers", "workers (float32)" if "uint8" not in name else "workers")
            lines.append(
                f"   local, DataLoader {label}: {value['items_per_s']:6.1f} items/s ({value['items_per_s_per_worker']:.1f} per worker)"
            )
    if "s3" in row:
        s3 = row["s3"]
        lines.append(
            f"   S3 (SeaweedFS), 1 process: {s3['items_per_s']:6.1f} items/s, {s3['items_per_cpu_s']:6.1f} items/CPU-s "
            f"({100 * s3['items_per_s'] / local['items_per_s']:.0f} % of local)"
        )
    if "png" in row:
        png = row["png"]
        lines.append(
            f"   PNG storage, 1 process: {png['items_per_s']:6.1f} items/s, {png['items_per_cpu_s']:6.1f} items/CPU-s; "
            f"{row['png_bytes'] / 1e6:.0f} MB vs {row['bitstream_bytes'] / 1e6:.0f} MB as bitstreams"
        )
    per_core = local["items_per_cpu_s"]
    lines.append(f"   loader cores per GPU: {32 / per_core:.2f} at 32 samples/s, {128 / per_core:.2f} at 128 samples/s")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
