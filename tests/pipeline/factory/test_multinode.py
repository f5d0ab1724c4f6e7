"""The factory on a real two-node Ray cluster on loopback (ray.cluster_utils.Cluster: a head and a worker
node, each its own raylet and object store), reading its inputs from and writing OUT to a real SeaweedFS:
tasks run on both nodes, the bytes equal a one-node run's, and killing the worker node mid-job still
completes the job (Ray retries the lost tasks) with every sample exactly once.

The cluster's address file goes to a private RAY_TMPDIR, so that no other `ray.init()` on this machine
connects to it, and the one-node run gets an environment without it.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pyarrow.parquet as pq
import pytest
import ray
import s3fs
from PIL import Image
from ray.cluster_utils import Cluster

from pipeline.config import FactoryConfig
from pipeline.ray_driver import run_factory
from tests.pipeline.factory_helpers import REPO

pytestmark = pytest.mark.slow
IMAGES, SHARD_SIZE, CODECS, QPS, SIZE = 12, 1, ("x264", "x265"), (30, 40), 64
GROUPS = ("base", *CODECS)
TASKS = IMAGES // SHARD_SIZE * len(GROUPS)


def _synthetic_png(index: int) -> bytes:
    """A small smooth picture with some texture (gradients plus seeded noise), 96x80."""
    rng = np.random.default_rng(index)
    y, x = np.mgrid[0:80, 0:96].astype(np.float32)
    base = np.stack([x * (1 + index % 3), y * 2, (x + y) * (index % 5 + 1) / 2], axis=-1) % 256
    picture = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def s3(s3_server):
    fs = s3fs.S3FileSystem(**s3_server.storage_options)
    for index in range(IMAGES):
        fs.pipe_file(f"{s3_server.bucket}/multinode/inputs/picture{index:02d}.png", _synthetic_png(index))
    return s3_server, fs


def _config(s3_server, prefix: str) -> FactoryConfig:
    return FactoryConfig(
        source=f"s3://{s3_server.bucket}/multinode/inputs",
        out=f"s3://{s3_server.bucket}/multinode/{prefix}",
        codecs=CODECS,
        qps=QPS,
        size=SIZE,
        shard_size=SHARD_SIZE,
    )


def _hashes(fs, root: str) -> dict[str, str]:
    return {
        path[len(root) + 1 :]: hashlib.sha256(fs.cat_file(path)).hexdigest()
        for path in sorted(fs.find(root))
        if not path[len(root) + 1 :].startswith(("_done/", "dataset.json"))
    }


@pytest.fixture(scope="module")
def one_node_reference(s3):
    """The same job by `vrpsr generate` on a one-node local Ray (1 worker): the bytes to reproduce."""
    server, fs = s3
    env = {key: value for key, value in os.environ.items() if key not in ("RAY_TMPDIR", "RAY_ADDRESS")}
    env.update(
        AWS_ACCESS_KEY_ID=server.access_key, AWS_SECRET_ACCESS_KEY=server.secret_key, AWS_DEFAULT_REGION="us-east-1"
    )
    config = _config(server, "one-node")
    command = [
        sys.executable,
        "-m",
        "vrpsr_cli.main",
        "generate",
        config.source,
        config.out,
        "--size",
        str(SIZE),
        "--qps",
        "30,40",
        "--shard-size",
        str(SHARD_SIZE),
        "--codecs",
        ",".join(CODECS),
        "--workers",
        "1",
        "--no-progress",
        "--s3-endpoint",
        server.endpoint_url,
    ]
    completed = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-3000:]
    hashes = _hashes(fs, f"{server.bucket}/multinode/one-node")
    assert len(hashes) == IMAGES // SHARD_SIZE * (
        2 * len(GROUPS) + 1
    )  # tars + manifests per group, base failure tables
    return hashes


@pytest.fixture(scope="module")
def cluster(one_node_reference, tmp_path_factory):
    """A head (1 CPU) and a worker node (1 CPU) on loopback, the driver (this process) connected to the head."""
    del one_node_reference  # made first, on its own local Ray
    previous = os.environ.get("RAY_TMPDIR")
    os.environ["RAY_TMPDIR"] = str(tmp_path_factory.mktemp("ray"))
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    try:
        worker = cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, include_dashboard=False, log_to_driver=False, configure_logging=False)
        yield cluster, worker
    finally:
        ray.shutdown()
        cluster.shutdown()
        if previous is None:
            os.environ.pop("RAY_TMPDIR", None)
        else:
            os.environ["RAY_TMPDIR"] = previous


def test_two_nodes_share_the_work_and_write_the_one_node_bytes(s3, one_node_reference, cluster):
    server, fs = s3
    assert len([node for node in ray.nodes() if node["Alive"]]) == 2
    summary = run_factory(_config(server, "two-nodes"), server.storage_options, progress=False)
    assert summary.ran_tasks == TASKS and not summary.failed_tasks
    assert len(summary.nodes) == 2, f"tasks per node: {dict(summary.nodes)}"
    assert _hashes(fs, f"{server.bucket}/multinode/two-nodes") == one_node_reference


def test_a_node_killed_mid_job_still_completes_every_sample_once(s3, one_node_reference, cluster):
    server, fs = s3
    head_cluster, worker = cluster
    root = f"{server.bucket}/multinode/killed-node"
    markers_at_kill: list[int] = []

    def kill_worker_node_after_some_markers() -> None:
        deadline = time.monotonic() + 120
        watcher = s3fs.S3FileSystem(**server.storage_options)
        while time.monotonic() < deadline:
            watcher.invalidate_cache()
            done = len(watcher.ls(f"{root}/_done")) if watcher.exists(f"{root}/_done") else 0
            if done >= 4:
                head_cluster.remove_node(
                    worker, allow_graceful=False
                )  # kills its raylet and workers, checks none is left
                markers_at_kill.append(done)
                return
            time.sleep(0.1)

    killer = threading.Thread(target=kill_worker_node_after_some_markers)
    killer.start()
    summary = run_factory(_config(server, "killed-node"), server.storage_options, progress=False)
    killer.join()
    assert markers_at_kill and markers_at_kill[0] < TASKS, "the worker node should have died mid-job"
    assert summary.ran_tasks == TASKS and not summary.failed_tasks, summary.render()
    assert _hashes(fs, root) == one_node_reference
    keys = [
        key
        for index in range(IMAGES // SHARD_SIZE)
        for key in pq.read_table(io.BytesIO(fs.cat_file(f"{root}/manifest/base-{index:06d}.parquet")))
        .column("key")
        .to_pylist()
    ]
    assert len(keys) == len(set(keys)) == IMAGES
    assert len(fs.ls(f"{root}/_done")) == TASKS
