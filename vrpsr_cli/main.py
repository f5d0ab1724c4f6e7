"""The `vrpsr` command: parses arguments and calls library functions; nothing else lives here."""

from __future__ import annotations

import argparse
import sys

from vrpsr_cli import (
    eval_command,
    eval_simulator_command,
    generate_command,
    import_command,
    shards_command,
    train_command,
)
from vrpsr_cli.errors import (
    DEBUG_ENVIRONMENT,
    DEBUG_FLAG,
    debug_requested,
    expected_errors,
    one_line,
    show_retries_on_terminal,
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
    parser.add_argument(DEBUG_FLAG, action="store_true", help=f"show tracebacks (also {DEBUG_ENVIRONMENT}=1)")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module in COMMANDS.values():
        module.add_parser(subparsers)
    debug, argv = debug_requested(sys.argv[1:] if argv is None else list(argv))
    args = parser.parse_args(spelled_as_subcommands(argv))
    show_retries_on_terminal()
    try:
        return int(args.run(args) or 0)
    except expected_errors() as error:
        if debug:
            raise
        print(one_line(args.command, args, error), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
