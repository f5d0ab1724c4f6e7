"""When a test may skip: a pytest plugin (loaded by tests/conftest.py).

- `@pytest.mark.needs_gpu`: skips where no CUDA GPU is visible.
- `@pytest.mark.needs_weights("path", ...)`: skips, naming the file, where a weight file is absent.
- Under `CI=true` every other skip fails the test: CI must run what a user's clone runs, so a test that
  skips for missing data, a missing tool or a `pytest.skip` left in the body is an error there.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ALLOWED_SKIP_MARKERS = ("needs_gpu", "needs_weights")
NO_GPU = "needs a CUDA GPU: none is visible"
NO_WEIGHTS = "needs weight files that are absent: "


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def missing_weights(marker: pytest.Mark) -> list[str]:
    if not marker.args:
        raise pytest.UsageError("@pytest.mark.needs_weights takes the weight files' paths")
    return [str(path) for path in marker.args if not Path(os.path.expandvars(str(path))).expanduser().is_file()]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip marks added at collection, so a skip is reported at the test's own line."""
    gpu_tests = [item for item in items if item.get_closest_marker("needs_gpu") is not None]
    if gpu_tests:
        import torch  # only when a collected test asks for a GPU

        if not torch.cuda.is_available():
            for item in gpu_tests:
                item.add_marker(pytest.mark.skip(reason=NO_GPU))
    for item in items:
        weights = item.get_closest_marker("needs_weights")
        if weights is not None and (missing := missing_weights(weights)):
            item.add_marker(pytest.mark.skip(reason=NO_WEIGHTS + ", ".join(missing)))


def _skip_reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    if isinstance(report.longrepr, tuple):  # (path, line, "Skipped: reason")
        return str(report.longrepr[2])
    return str(report.longrepr)


def _allowed(report: pytest.TestReport) -> bool:
    reason = _skip_reason(report)
    return NO_GPU in reason or NO_WEIGHTS in reason


def _refused(report: pytest.TestReport | pytest.CollectReport) -> str:
    allowed = " / ".join(f"@pytest.mark.{name}" for name in ALLOWED_SKIP_MARKERS)
    return f"skipped under CI=true ({_skip_reason(report)}): in CI only {allowed} tests may skip"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> pytest.TestReport:
    """Under CI=true a skip becomes a failure, unless it is the skip of a needs_gpu / needs_weights mark."""
    report = yield
    if report.skipped and not hasattr(report, "wasxfail") and in_ci() and not _allowed(report):
        report.longrepr = _refused(report)
        report.outcome = "failed"
    return report


REFUSED_MODULE_SKIPS = pytest.StashKey[list]()


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> pytest.CollectReport:
    """A whole module skipped (pytest.importorskip at import): recorded, the run goes on, and fails at the end."""
    report = yield
    if report.skipped and in_ci():
        collector.config.stash.setdefault(REFUSED_MODULE_SKIPS, []).append(f"{report.nodeid}: {_refused(report)}")
    return report


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if session.config.stash.get(REFUSED_MODULE_SKIPS, []) and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    refused = config.stash.get(REFUSED_MODULE_SKIPS, [])
    if refused:
        terminalreporter.section("modules skipped under CI=true (the run fails)", red=True)
        for line in refused:
            terminalreporter.line(f"FAILED {line}")
