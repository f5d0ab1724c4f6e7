"""`vrpsr generate` and `vrpsr shards stats|verify|show` never import torch, diffusers or transformers: a CPU
worker installed with `./setup.sh --factory` has none of them. Checked on real runs in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.pipeline.factory_helpers import REPO

pytestmark = pytest.mark.slow
TRAINING_STACK = ("torch", "torchvision", "diffusers", "transformers", "peft", "accelerate", "lpips")

SCRIPT = """
import sys
from vrpsr_cli.main import main
out = sys.argv[1]
codes = [
    main(["generate", "sample", out, "--size", "64", "--qps", "40", "--shard-size", "6", "--codecs", "x264", "--workers", "1", "--no-progress"]),
    main(["shards", "stats", out, "--no-plot"]),
    main(["shards", "verify", out, "--reencode", "1"]),
    main(["shards", "show", out, "--out", out + ".html", "--limit", "1"]),
]
loaded = sorted(name for name in sys.modules if name.split(".")[0] in {stack!r})
print("EXIT CODES", codes)
print("TRAINING MODULES", loaded)
"""


def test_generate_and_shards_commands_never_import_the_training_stack(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(stack=set(TRAINING_STACK)), str(tmp_path / "out")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "EXIT CODES [0, 0, 0, 0]" in completed.stdout, completed.stdout[-3000:]
    assert "TRAINING MODULES []" in completed.stdout, completed.stdout[-3000:]
