"""Parts of benchmarks.factory_scale: per-image rates of the base stage and each encoder, and the
extrapolation of every measured number to ImageNet-1k."""

from __future__ import annotations

import math
import time

from codec_bindings import encode_many, psnr
from pipeline.config import DEFAULT_CODECS, FactoryConfig
from pipeline.sample import make_base_sample
from pipeline.sources import list_source
from shards.layout import CLEAN_SUFFIX
from shards.png import decode_png

SHARD_SIZE = 64
GROUPS = 1 + len(DEFAULT_CODECS)
LIST_PAGE = 1000  # keys per S3 LIST call
BASE_REQUESTS, CODEC_REQUESTS = 4, 4  # base: tar, manifest, failures, marker PUTs; codec: base tar GET + 3 PUTs


def encoder_rates(size: int, qps: tuple[int, ...], images: int = 3) -> dict[str, float]:
    """Seconds per image (one core) of the base stage and of each codec over the whole QP grid."""
    print(f"[encoders] seconds per image on one core: {images} sample photographs at {size}x{size}, {len(qps)} QPs")
    config = FactoryConfig(source="sample", out="unused", size=size, qps=qps)
    items = list_source("sample")[:images]
    warm = decode_png(
        make_base_sample(items[0], "warm", config, None)[CLEAN_SUFFIX], "warm"
    )  # imports, kernels, encoder libraries
    for codec in DEFAULT_CODECS:
        encode_many([warm], codec, [qps[0]], preset=config.preset_for(codec))
    started = time.perf_counter()
    cleans = [
        decode_png(make_base_sample(item, f"k{n}", config, None)[CLEAN_SUFFIX], item.key_hint)
        for n, item in enumerate(items)
    ]
    rates = {"base": (time.perf_counter() - started) / images}
    for codec in DEFAULT_CODECS:
        started = time.perf_counter()
        grid = encode_many(cleans, codec, list(qps), preset=config.preset_for(codec))
        for image, row in zip(cleans, grid):
            for encoded in row:
                psnr(image, encoded.recon)
        rates[codec] = (time.perf_counter() - started) / images
    print("  " + "  ".join(f"{group} {seconds:.3f} s/img" for group, seconds in rates.items()))
    return rates


def imagenet_extrapolation(
    images: int,
    driver_cpu_per_task: float,
    list_seconds_per_marker: float,
    rates: dict[str, float],
    size: int,
    qps: tuple[int, ...],
) -> None:
    shards = math.ceil(images / SHARD_SIZE)
    tasks = shards * GROUPS
    requests = (
        images + shards * BASE_REQUESTS + shards * len(DEFAULT_CODECS) * CODEC_REQUESTS + math.ceil(tasks / LIST_PAGE)
    )
    print(
        f"[ImageNet] {images:,} images, {SHARD_SIZE} a shard, {size}x{size}, {len(qps)} QPs, codecs {', '.join(DEFAULT_CODECS)}"
    )
    print(f"  tasks: {shards:,} shards x {GROUPS} groups = {tasks:,}")
    print(f"  driver CPU: {driver_cpu_per_task * 1000:.3f} ms/task x {tasks:,} = {driver_cpu_per_task * tasks:.0f} s")
    print(
        f"  resume decision: {math.ceil(tasks / LIST_PAGE)} LIST calls, ~{list_seconds_per_marker * tasks:.1f} s for {tasks:,} markers"
    )
    print(
        f"  object-store requests: {requests:,} ({images:,} input GETs, {math.ceil(tasks / LIST_PAGE)} LISTs, the rest shard PUTs/GETs)"
    )
    total = 0.0
    for group, seconds in rates.items():
        hours = seconds * images / 3600
        total += hours
        print(f"  {group:5}: {seconds:.3f} s/img -> {hours:,.0f} CPU-hours")
    print(
        f"  all groups: {total:,.0f} CPU-hours = {total / 1024:,.1f} h of wall on ray_cluster.yaml's 32 c6i.8xlarge workers (1,024 vCPUs)"
    )
