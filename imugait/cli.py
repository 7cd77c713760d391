"""Command-line interface (placeholder until subcommands land in this same change set)."""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    return 0
