"""What the vrpsr command does with an error it expects (bad input, storage, permission, config, a damaged
checkpoint): one line naming the thing and the fix, rc 2. Anything else keeps its traceback, and so does
every error under --debug or VRPSR_DEBUG=1."""

from __future__ import annotations

import argparse
import logging
import os
import pickle
import sys
import time

from codec_bindings import CodecError
from pipeline.errors import SourceError
from shards.errors import ShardError, StorageUnavailableError

DEBUG_FLAG = "--debug"
DEBUG_ENVIRONMENT = "VRPSR_DEBUG"
CHECKPOINT_ARGUMENTS = ("simulator", "init_from", "init_weights", "resume", "checkpoint", "model")
RETRY_LINES_EVERY_S = 10.0


def debug_requested(argv: list[str]) -> tuple[bool, list[str]]:
    """(--debug anywhere in argv or VRPSR_DEBUG=1, argv without --debug)."""
    wanted = DEBUG_FLAG in argv or os.environ.get(DEBUG_ENVIRONMENT, "") not in ("", "0")
    return wanted, [argument for argument in argv if argument != DEBUG_FLAG]


# Error types of packages the command may not have imported (the factory never imports the training stack):
# an error of one can only be raised once its module is loaded, so only loaded modules are looked in.
LAZY_ERRORS = (
    ("evaluation.errors", "EvaluationError"),
    ("safetensors", "SafetensorError"),
    ("botocore.exceptions", "BotoCoreError"),
)


def expected_errors() -> tuple[type[BaseException], ...]:
    kinds: list[type[BaseException]] = [
        CodecError,
        ShardError,
        SourceError,
        StorageUnavailableError,
        ValueError,
        OSError,
        pickle.UnpicklingError,
    ]
    for module, name in LAZY_ERRORS:
        if module in sys.modules and hasattr(sys.modules[module], name):
            kinds.append(getattr(sys.modules[module], name))
    return tuple(kinds)


def one_line(command: str, args: argparse.Namespace, error: BaseException) -> str:
    """The error as one line: what failed, its own message, and the fix."""
    text = " ".join(str(error).split()) or type(error).__name__
    return f"vrpsr {command}: error: {text}{_fix(args, error)}"


def _fix(args: argparse.Namespace, error: BaseException) -> str:
    kind = type(error).__name__
    if kind in ("SafetensorError", "UnpicklingError") or isinstance(error, (pickle.UnpicklingError, EOFError)):
        given = [f"{name}={getattr(args, name)}" for name in CHECKPOINT_ARGUMENTS if getattr(args, name, None)]
        return f" ({kind}): a checkpoint is damaged or not one of ours ({', '.join(given) or 'see the arguments'}): give an intact checkpoint folder"
    if kind in ("NoCredentialsError", "PartialCredentialsError"):
        return ": set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) in the environment"
    if kind in ("EndpointConnectionError", "ConnectTimeoutError", "ConnectionClosedError"):
        return ": the object store cannot be reached: check --s3-endpoint / AWS_ENDPOINT_URL and that it runs"
    if isinstance(error, PermissionError):
        return (
            f": permission denied on {error.filename or 'a path'}: choose a path you may write, or fix its permissions"
        )
    if isinstance(error, FileNotFoundError) and error.filename and str(error.filename) not in str(error):
        return f": {error.filename} does not exist"
    if isinstance(error, StorageUnavailableError):
        return ": rerun once the store answers again (the run resumes where it stopped)"
    quiet = (CodecError, ShardError, SourceError, ValueError)
    return "" if isinstance(error, quiet) or kind == "EvaluationError" else f" ({kind})"


class _EveryFewSeconds(logging.Filter):
    """Lets one record through per ``every_s`` seconds per logger (retries come in bursts)."""

    def __init__(self, every_s: float) -> None:
        super().__init__()
        self.every_s, self.last = every_s, {}

    def filter(self, record: logging.LogRecord) -> bool:
        now = time.monotonic()
        if now - self.last.get(record.name, -float("inf")) < self.every_s:
            return False
        self.last[record.name] = now
        return True


def show_retries_on_terminal(every_s: float = RETRY_LINES_EVERY_S) -> None:
    """Object-store retries and waits (shards.storage warnings) as one stderr line each, rate-limited."""
    logger = logging.getLogger("shards.storage")
    if any(getattr(handler, "vrpsr_retries", False) for handler in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.vrpsr_retries = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter("retrying: %(message)s"))
    handler.addFilter(_EveryFewSeconds(every_s))
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
