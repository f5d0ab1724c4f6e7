"""A local factory run starts Ray without its token-auth banner on the terminal, and with token auth on."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from pipeline.ray_banner import BANNER_START
from tests.pipeline.factory_helpers import REPO

pytestmark = pytest.mark.slow

SCRIPT = """
import os, sys
import ray
from pipeline.ray_banner import quiet_local_token_banner
with quiet_local_token_banner(local=sys.argv[1] == "local"):
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False, configure_logging=False)
print("AUTH MODE", os.environ.get("RAY_AUTH_MODE"))
ray.shutdown()
"""


def start_ray(mode: str) -> subprocess.CompletedProcess:
    environment = {name: value for name, value in os.environ.items() if name != "RAY_AUTH_MODE"}
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, mode],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_local_start_keeps_token_auth_and_drops_only_the_banner() -> None:
    quiet, loud = start_ray("local"), start_ray("unfiltered")
    for completed in (quiet, loud):
        assert completed.returncode == 0, completed.stderr[-3000:]
        assert "AUTH MODE token" in completed.stdout  # Ray's default for a new local cluster is unchanged
    assert BANNER_START in loud.stderr  # what Ray prints without the filter: the test can see the banner
    assert BANNER_START not in quiet.stderr, quiet.stderr[-3000:]
