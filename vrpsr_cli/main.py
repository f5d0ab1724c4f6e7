"""The `vrpsr` command: parses arguments and calls library functions; nothing else lives here."""
from __future__ import annotations

import argparse
import sys

from vrpsr_cli import generate_command

COMMANDS = {"generate": generate_command}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vrpsr", description="Dataset factory and trainer for recompression-aware SR")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name, module in COMMANDS.items():
        module.add_parser(subparsers)
    args = parser.parse_args(argv)
    return int(args.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
