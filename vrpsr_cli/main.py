"""The `vrpsr` command: parses arguments and calls library functions; nothing else lives here."""

from __future__ import annotations

import argparse
import sys

from codec_bindings import CodecError
from pipeline.errors import SourceError
from shards.errors import ShardError
from vrpsr_cli import (
    eval_command,
    eval_simulator_command,
    generate_command,
    import_command,
    shards_command,
    train_command,
)

COMMANDS = {
    "generate": generate_command,
    "shards": shards_command,
    "train": train_command,
    "eval": eval_command,
    "eval-simulator": eval_simulator_command,
    "import-checkpoint": import_command,
}


def spelled_as_subcommands(argv: list[str]) -> list[str]:
    """`vrpsr eval simulator ...` is the command eval-simulator (`vrpsr eval` itself takes no subcommand)."""
    return ["eval-simulator", *argv[2:]] if argv[:2] == ["eval", "simulator"] else list(argv)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vrpsr", description="Dataset factory and trainer for recompression-aware SR")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module in COMMANDS.values():
        module.add_parser(subparsers)
    args = parser.parse_args(spelled_as_subcommands(sys.argv[1:] if argv is None else argv))
    try:
        return int(args.run(args) or 0)
    except (CodecError, ShardError, SourceError, ValueError, FileNotFoundError) as error:
        print(f"vrpsr {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
