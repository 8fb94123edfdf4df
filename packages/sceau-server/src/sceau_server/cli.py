# SPDX-License-Identifier: Apache-2.0
"""The ``sceau`` command: the server, its administration and the demo."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``sceau``."""
    parser = argparse.ArgumentParser(
        prog="sceau", description="Sceau strong customer authentication"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="run the demo")
    arguments = parser.parse_args(argv)
    if arguments.command == "demo":
        from sceau_server.walkthrough import main as walkthrough

        return walkthrough()
    return 2


if __name__ == "__main__":
    sys.exit(main())
