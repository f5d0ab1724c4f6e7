"""Run an external program: no shell, stderr captured, killed and reaped on timeout."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

from codec_bindings.errors import CodecError

STDERR_TAIL_CHARS = 2000


def run(command: Sequence[str], input_bytes: bytes | None = None, timeout: float = 600.0) -> tuple[bytes, bytes]:
    """Run ``command`` with ``input_bytes`` on stdin; return (stdout, stderr) or raise CodecError (command + stderr tail)."""
    try:
        process = subprocess.Popen(
            list(command),
            stdin=subprocess.PIPE if input_bytes is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as error:
        raise CodecError(f"cannot start {command[0]!r}: {error}") from error
    try:
        stdout, stderr = process.communicate(input_bytes, timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        _, stderr = process.communicate()
        raise CodecError(f"timed out after {timeout:.0f} s: {_render(command)}\n{_tail(stderr)}") from None
    except BaseException:
        process.kill()
        process.communicate()
        raise
    if process.returncode != 0:
        raise CodecError(f"exit status {process.returncode}: {_render(command)}\n{_tail(stderr)}")
    return stdout, stderr


def _render(command: Sequence[str]) -> str:
    return " ".join(str(part) for part in command)


def _tail(stderr: bytes) -> str:
    return stderr.decode("utf-8", "replace")[-STDERR_TAIL_CHARS:]
