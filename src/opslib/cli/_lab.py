"""``opslib lab``: the built-in reference stack (placeholder until the lab lands)."""

from __future__ import annotations

import click

__all__ = ["lab"]


@click.group()
def lab() -> None:
    """Start, stop and break the built-in price-monitoring lab."""
