"""The factory at ImageNet scale, measured on this machine and extrapolated (prints numbers, asserts nothing).

    python -m benchmarks.factory_scale            # 1k/5k/20k tasks, 1.28 M-line plan, 20,000 markers on SeaweedFS
    python -m benchmarks.factory_scale --small    # the same sections at small sizes (CI)

Sections: [driver loop] old (submit all, one ray.wait per completion) vs new (pipeline.driver_loop) on
trivial tasks: wall and driver CPU per task; [plan] prepare_run over a synthetic listing: time and peak
memory (a fresh process); [resume] the _done listing over N markers on a real SeaweedFS: time and S3
requests, against the old exists+read per marker; [encoders] seconds per image per codec over the grid;
[ImageNet] tasks, driver CPU, object-store requests and encoder CPU-hours for 1.28 M images.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import ray

from benchmarks.factory_scale_parts import encoder_rates, imagenet_extrapolation
from pipeline.driver_loop import BoundedLoop
from pipeline.resume import list_done
from shards.layout import done_path
from shards.storage import Storage
from tests.s3_server import start_seaweedfs

IMAGENET_IMAGES = 1_281_167
FULL = {
    "tasks": (1_000, 5_000, 20_000),
    "listing": IMAGENET_IMAGES,
    "markers": 20_000,
    "old_markers": 2_000,
    "size": 512,
    "qps": tuple(range(20, 51, 2)),
}
SMALL = {"tasks": (200, 1_000), "listing": 20_000, "markers": 2_000, "old_markers": 200, "size": 128, "qps": (30, 40)}


@ray.remote(num_cpus=1)
def _trivial(value: int) -> int:
    return value


def old_loop(count: int) -> None:
    pending = {_trivial.remote(value): value for value in range(count)}
    while pending:
        done, _ = ray.wait(list(pending), num_returns=1)
        pending.pop(done[0])
        ray.get(done[0])


def new_loop(count: int) -> None:
    results = []
    loop = BoundedLoop(lambda info, result, error: results.append(result))
    loop.run(iter(lambda value=value: [(_trivial.remote(value), value)] for value in range(count)))
    assert len(results) == count


def driver_section(sizes: tuple[int, ...]) -> dict:
    print("[driver loop] trivial tasks on a local Ray (2 CPUs): wall s, driver CPU ms per task")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    measured = {}
    try:
        ray.get([_trivial.remote(value) for value in range(200)])  # start the workers
        for count in sizes:
            for name, loop in (("old", old_loop), ("new", new_loop)):
                wall, cpu = time.perf_counter(), time.process_time()
                loop(count)
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                measured[(name, count)] = cpu / count
                print(
                    f"  {name:3} {count:6d} tasks: wall {wall:7.1f} s  driver CPU {cpu:6.1f} s = {1000 * cpu / count:.3f} ms/task"
                )
    finally:
        ray.shutdown()
    return {"new_cpu_per_task": measured[("new", sizes[-1])]}


PLAN_CHILD = """
import json, resource, sys, time
from pipeline.config import FactoryConfig
from pipeline.run_plan import prepare_run
def rss_mb():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20
before = rss_mb()
started = time.perf_counter()
plan = prepare_run(FactoryConfig(source=sys.argv[1], out=sys.argv[2]))
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "shards": len(plan.shards), "inputs": plan.num_inputs, "before_mb": before,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def plan_section(lines: int, work: Path) -> None:
    print(f"[plan] prepare_run over a {lines:,}-line .txt listing (1000 class folders), in a fresh process")
    listing = work / "train.txt"
    per_class = math.ceil(lines / 1000)
    with listing.open("w") as handle:
        for index in range(lines):
            label = f"n{index // per_class:08d}"
            handle.write(f"train/{label}/{label}_{index:07d}.JPEG\n")
    completed = subprocess.run(
        [sys.executable, "-c", PLAN_CHILD, str(listing), str(work / "plan-out")],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    print(
        f"  {result['inputs']:,} inputs -> {result['shards']:,} shards in {result['seconds']:.1f} s; "
        f"peak RSS {result['peak_mb']:.0f} MB (after imports {result['before_mb']:.0f} MB)"
    )


def _count_requests(storage: Storage) -> Counter:
    counts: Counter = Counter()

    def count(event_name: str, **_) -> None:
        counts[event_name.rsplit(".", 1)[-1]] += 1  # before-send.s3.ListObjectsV2 -> ListObjectsV2

    storage.fs.s3.meta.events.register("before-send.s3", count)
    return counts


def resume_section(markers: int, old_markers: int, work: Path) -> dict:
    print(f"[resume] the decision over {markers:,} _done markers on SeaweedFS (loopback)")
    server = start_seaweedfs(work / "seaweedfs")
    try:
        client = server.client()
        names = [
            done_path(group, index) for index in range(markers // 4) for group in ("base", "x264", "x265", "vvenc")
        ]
        with ThreadPoolExecutor(16) as pool:
            list(
                pool.map(
                    lambda name: client.put_object(
                        Bucket=server.bucket, Key=f"scale/{name}", Body=b'{"config_hash":"x"}'
                    ),
                    names,
                )
            )
        storage = Storage(f"s3://{server.bucket}/scale", server.storage_options)
        requests = _count_requests(storage)
        started = time.perf_counter()
        done = list_done(storage)
        seconds = time.perf_counter() - started
        print(
            f"  new (one listing): {len(done):,} markers in {seconds:.2f} s with {sum(requests.values())} requests {dict(requests)}"
        )
        requests.clear()
        started = time.perf_counter()
        for name in names[:old_markers]:
            if storage.exists(name):
                storage.read_bytes(name)
        old_seconds = time.perf_counter() - started
        per_marker = sum(requests.values()) / old_markers
        print(
            f"  old (exists + read per marker, then read again for totals): {old_markers:,} markers in {old_seconds:.2f} s, "
            f"{per_marker:.1f} requests each {dict(requests)} -> {2 * old_seconds / old_markers * markers:.0f} s and "
            f"{2 * per_marker * markers:,.0f} requests for {markers:,}"
        )
        return {"list_seconds": seconds}
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", action="store_true", help="small sizes (CI): seconds instead of minutes")
    args = parser.parse_args(argv)
    sizes = SMALL if args.small else FULL
    with tempfile.TemporaryDirectory(prefix="factory-scale-") as folder:
        work = Path(folder)
        driver = driver_section(sizes["tasks"])
        plan_section(sizes["listing"], work)
        resume = resume_section(sizes["markers"], sizes["old_markers"], work)
        rates = encoder_rates(sizes["size"], sizes["qps"])
    imagenet_extrapolation(
        IMAGENET_IMAGES,
        driver["new_cpu_per_task"],
        resume["list_seconds"] / sizes["markers"],
        rates,
        sizes["size"],
        sizes["qps"],
    )


if __name__ == "__main__":
    main()
