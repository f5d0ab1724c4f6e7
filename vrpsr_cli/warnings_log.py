"""Library warnings (matplotlib, torchvision, ...) go to a file in the run's output folder, not the terminal.

Python warnings (warnings.warn) and the records of the loggers in LIBRARY_LOGGERS are written to
OUT/warnings.log for the duration of the command; the terminal gets one line at the end when there were
any. Our own messages (print, the `vrpsr` errors) are untouched.
"""

from __future__ import annotations

import argparse
import functools
import logging
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

WARNINGS_FILE = "warnings.log"
LIBRARY_LOGGERS = ("py.warnings", "matplotlib")  # py.warnings: where logging.captureWarnings sends warnings


class _Counter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


def warnings_logged_in(folder_argument: str, run: Callable[[argparse.Namespace], int]) -> Callable:
    """``run`` with library warnings written to ``<args.<folder_argument>>/warnings.log``."""

    @functools.wraps(run)
    def logged(args: argparse.Namespace) -> int:
        folder = Path(getattr(args, folder_argument))
        folder.mkdir(parents=True, exist_ok=True)
        file_handler = logging.FileHandler(folder / WARNINGS_FILE, encoding="utf-8")
        file_handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        counter = _Counter()
        loggers = [logging.getLogger(name) for name in LIBRARY_LOGGERS]
        saved = [(logger.propagate, logger.level) for logger in loggers]
        for logger in loggers:
            logger.addHandler(file_handler)
            logger.addHandler(counter)
            logger.propagate = False
            logger.setLevel(logging.WARNING)
        logging.captureWarnings(True)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("default")  # each distinct warning once per place
                return run(args)
        finally:
            logging.captureWarnings(False)
            for logger, (propagate, level) in zip(loggers, saved, strict=True):
                logger.removeHandler(file_handler)
                logger.removeHandler(counter)
                logger.propagate, logger.level = propagate, level
            file_handler.close()
            if counter.count:
                print(f"{counter.count} library warning(s) in {folder / WARNINGS_FILE}", file=sys.stderr)

    return logged
