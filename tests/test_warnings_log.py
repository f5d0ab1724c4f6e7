"""Library warnings of a command go to OUT/warnings.log; the terminal gets one line pointing there."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from vrpsr_cli.warnings_log import WARNINGS_FILE, warnings_logged_in


def plot_without_labels(args: argparse.Namespace) -> int:
    """A real matplotlib warning ("No artists with labels found to put in legend") and a font lookup log."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager, pyplot

    figure, axes = pyplot.subplots()
    axes.plot([0, 1], [0, 1])
    axes.legend()
    font_manager.findfont("a font family that does not exist")
    pyplot.close(figure)
    print("our own output")
    return 0


def test_matplotlib_warnings_land_in_the_file_not_the_terminal(tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    assert warnings_logged_in("out", plot_without_labels)(argparse.Namespace(out=str(out))) == 0
    captured = capsys.readouterr()
    logged = (out / WARNINGS_FILE).read_text()
    assert "No artists with labels found to put in legend" in logged and "findfont" in logged
    assert captured.out == "our own output\n"
    assert captured.err == f"2 library warning(s) in {out / WARNINGS_FILE}\n"
    matplotlib_logger = logging.getLogger("matplotlib")  # put back as it was
    assert matplotlib_logger.propagate and not any(
        isinstance(h, logging.FileHandler) for h in matplotlib_logger.handlers
    )
