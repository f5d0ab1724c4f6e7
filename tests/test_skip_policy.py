"""The skip policy (tests/skip_policy.py) on a tiny test file run by a real pytest, with and without CI=true."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TINY_TESTS = """
import pytest

pytestmark = pytest.mark.filterwarnings("error")


def test_passes():
    pass


def test_skips_in_its_body():
    pytest.skip("the folder of pictures is absent")


@pytest.mark.skip(reason="marked to skip")
def test_marked_skip():
    pass


@pytest.fixture
def absent_data():
    pytest.skip("fixture found no data")


def test_fixture_skips(absent_data):
    pass


@pytest.mark.needs_weights("/nowhere/generator.safetensors")
def test_with_weights():
    pass


@pytest.mark.needs_gpu
def test_on_gpu():
    import torch
    assert torch.cuda.is_available()


@pytest.mark.needs_gpu
def test_on_gpu_without_its_data():
    pytest.skip("no pictures")  # marked, but skipped for another reason


@pytest.mark.xfail(reason="a known bug", strict=True)
def test_known_bug():
    assert False
"""
MODULE_SKIPPED = 'import pytest\n\npytest.importorskip("a_module_that_is_not_installed")\n'


def _run_pytest(folder: Path, ci: str | None) -> subprocess.CompletedProcess:
    """pytest with the project's configuration (markers) and only the skip policy plugin."""
    env = {key: value for key, value in os.environ.items() if key != "CI"}
    if ci is not None:
        env["CI"] = ci
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-c",
        str(REPO / "pyproject.toml"),
        "--rootdir",
        str(folder),
        "-p",
        "tests.skip_policy",
        "-p",
        "no:cacheprovider",
        "-q",
        "-rA",
        "--strict-markers",
        str(folder),
    ]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def tiny_suite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tiny-suite")
    (folder / "test_tiny.py").write_text(TINY_TESTS)
    (folder / "test_needs_a_module.py").write_text(MODULE_SKIPPED)
    return folder


def test_outside_ci_skips_are_reported_and_the_run_passes(tiny_suite: Path) -> None:
    completed = _run_pytest(tiny_suite, ci=None)
    assert completed.returncode == 0, completed.stdout[-3000:]
    assert "1 passed, 7 skipped, 1 xfailed" in completed.stdout
    assert "needs weight files that are absent: /nowhere/generator.safetensors" in completed.stdout


def test_under_ci_a_skip_fails_the_run_unless_gpu_or_weights(tiny_suite: Path) -> None:
    completed = _run_pytest(tiny_suite, ci="true")
    output = completed.stdout
    assert completed.returncode == 1, output[-3000:]
    has_gpu = "needs a CUDA GPU" not in output  # the device machine has one: the GPU tests run there
    refused = [line.split()[1] for line in output.splitlines() if line.startswith(("FAILED ", "ERROR "))]
    expected = [
        "test_needs_a_module.py",
        "test_tiny.py::test_fixture_skips",
        "test_tiny.py::test_marked_skip",
        "test_tiny.py::test_skips_in_its_body",
    ]
    if has_gpu:  # runs, then skips for another reason than its mark: refused too
        expected.insert(3, "test_tiny.py::test_on_gpu_without_its_data")
    assert sorted(name.split("/")[-1].rstrip(":") for name in refused) == expected
    assert "skipped under CI=true (Skipped: the folder of pictures is absent)" in output
    assert "a_module_that_is_not_installed" in output
    counts = "2 failed, 2 passed, 2 skipped" if has_gpu else "1 failed, 1 passed, 4 skipped"
    assert f"{counts}, 1 xfailed, 2 errors" in output  # the skipped module counts as skipped, and fails the run
    assert "needs weight files that are absent: /nowhere/generator.safetensors" in output
