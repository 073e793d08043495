"""Small top-level commands: `paths`, `tui`."""

from __future__ import annotations

import json

import click

from shieldrec.paths import get_paths


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print as a JSON object.")
def paths(as_json: bool) -> None:
    """Show where ShieldRec keeps its data, settings and cache."""
    values = get_paths().as_dict()
    if as_json:
        click.echo(json.dumps(values, indent=2))
        return
    width = max(map(len, values))
    for key, value in values.items():
        click.echo(f"{key.ljust(width)}  {value}")


def run_tui(profile_name: str | None) -> None:
    # Imported here so every other command runs without loading textual.
    from shieldrec.tui.app import run

    run(profile_name)


@click.command()
@click.option("--profile", "-p", "profile_name", default=None, help="Profile to open.")
def tui(profile_name: str | None) -> None:
    """Open the terminal app (the same as running `shieldrec` alone)."""
    run_tui(profile_name)
