"""benchmarks/factory_scale.py --small runs end to end (real Ray, real SeaweedFS, real encoders) and prints
every section; its numbers are for people, so no timing is asserted here."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.pipeline.factory_helpers import REPO

pytestmark = pytest.mark.slow


def test_small_scale_benchmark_prints_every_section():
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.factory_scale", "--small"],
        cwd=REPO,
        capture_output=True,
        check=False,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    out = completed.stdout
    for section in ("[driver loop]", "[plan]", "[resume]", "[encoders]", "[ImageNet]"):
        assert section in out
    for loop in ("old", "new"):
        assert re.search(rf"{loop} +1000 tasks: wall +[\d.]+ s +driver CPU +[\d.]+ s = [\d.]+ ms/task", out)
    assert "20,000 inputs -> 313 shards" in out
    assert re.search(r"new \(one listing\): 2,000 markers in [\d.]+ s with 2 requests \{'ListObjectsV2': 2\}", out)
    assert "tasks: 20,019 shards x 4 groups = 80,076" in out and "81 LIST calls" in out
    assert re.search(r"vvenc: [\d.]+ s/img -> [\d,]+ CPU-hours", out)
