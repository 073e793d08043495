"""Small top-level commands: `paths`, `tui`."""

from __future__ import annotations

import json

import click

from shieldrec.cli.common import show_format_option, wants_json
from shieldrec.paths import get_paths


@click.command()
@show_format_option
def paths(fmt: str, as_json: bool) -> None:
    """Show where ShieldRec keeps its data, settings and cache."""
    values = get_paths().as_dict()
    if wants_json(fmt, as_json):
        click.echo(json.dumps(values, indent=2))
        return
    width = max(map(len, values))
    for key, value in values.items():
        click.echo(f"{key.ljust(width)}  {value}")


def run_tui(profile_name: str | None) -> None:
    """Open the terminal app; a profile named on the command line must exist (checked before
    anything is drawn, so a typo is an error message and a non-zero exit, not an empty app)."""
    if profile_name:
        from shieldrec.store.peek import profile_names

        known = profile_names(get_paths().database)
        if profile_name not in known:
            raise click.ClickException(
                f"no profile named {profile_name!r} (profiles: {', '.join(known) or 'none yet'})")
    # Imported here so every other command runs without loading textual.
    from shieldrec.tui.app import run

    run(profile_name)


@click.command()
@click.option("--profile", "-p", "profile_name", default=None, help="Profile to open.")
def tui(profile_name: str | None) -> None:
    """Open the terminal app (the same as running `shieldrec` alone)."""
    run_tui(profile_name)
