"""examples/read_shards.py runs as written (a subprocess, worker processes included) on a tiny dataset."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.pipeline.factory_helpers import REPO
from tests.shards.conftest import TinyDataset

EXAMPLE = REPO / "examples" / "read_shards.py"


def test_read_shards_example_runs_with_worker_processes(tiny_dataset: TinyDataset, tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, str(EXAMPLE), str(tiny_dataset.root), "--steps", "2", "--batch-size", "3", "--workers", "2"],
        cwd=tmp_path,  # as a user runs it: from anywhere, with vrpsr installed
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    steps = re.findall(
        r"^step (\d): clean \(3, 3, 64, 64\), lq \(3, 3, 16, 16\), qp \[([\d., ]+)\]", completed.stdout, re.M
    )
    assert [step for step, _ in steps] == ["0", "1"], completed.stdout
    assert all(30 <= float(qp) <= 44 for _, qps in steps for qp in qps.split(","))
    assert re.search(r"prompt 'A lib(x264|x265|x266) \d\.\d{4} bpp compressed image\.'", completed.stdout)
    assert "read 2 batches" in completed.stdout
    assert "bootstrapping" not in completed.stderr and "Traceback" not in completed.stderr, completed.stderr[-3000:]
