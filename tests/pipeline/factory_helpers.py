"""Helpers for the factory tests: a small input list, the CLI as a subprocess, shard hashes."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def write_list(folder: Path, images: list[Path]) -> Path:
    listing = folder / "inputs.txt"
    listing.write_text("".join(f"{path}\n" for path in images))
    return listing


def generate_command(source: str, out: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "vrpsr_cli.main",
        "generate",
        source,
        out,
        "--size",
        "128",
        "--qps",
        "30,40",
        "--shard-size",
        "3",
        "--no-progress",
        *extra,
    ]


def run_generate(
    source: str, out: str, *extra: str, env: dict | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    completed = subprocess.run(
        generate_command(source, out, *extra),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    assert completed.returncode == 0, f"vrpsr generate failed:\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}"
    return completed


def file_hashes(
    root: Path, folders: tuple[str, ...] = ("base", "x264", "x265", "vvenc", "manifest", "failures")
) -> dict[str, str]:
    """sha256 of every shard, manifest and failures file under root (relative path -> digest)."""
    digests = {}
    for folder in folders:
        for path in sorted((root / folder).glob("*")):
            if not path.name.startswith("."):
                digests[f"{folder}/{path.name}"] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests
