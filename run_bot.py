#!/usr/bin/env python3
"""Orientation 94: the one entry point (see README.md for the subcommands)."""

import sys

from bot.cli import main

if __name__ == "__main__":
    sys.exit(main())
