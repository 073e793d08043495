"""The `shieldrec` command. Subcommands load lazily so the headless paths stay light
(no textual, no torch) until a command actually needs them."""

from __future__ import annotations

import importlib
import warnings
from typing import Any

import click

from shieldrec import __version__

# name -> "module:attribute"; each module owns one noun (or verb) of the CLI.
COMMANDS: dict[str, str] = {
    "paths": "shieldrec.cli.misc:paths",
    "profile": "shieldrec.cli.profile:profile",
    "rerank": "shieldrec.cli.rerank:rerank",
    "serve": "shieldrec.cli.serve:serve",
    "eval": "shieldrec.cli.evaluate:evaluate",
    "platform": "shieldrec.cli.platform:platform",
    "audit": "shieldrec.cli.platform:audit",
    "conversations": "shieldrec.cli.conversations:conversations",
    "later": "shieldrec.cli.later:later",
    "demo-platform": "shieldrec.cli.platform:demo_platform",
    "models": "shieldrec.cli.models:models",
    "tui": "shieldrec.cli.misc:tui",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        try:
            return getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise click.ClickException(f"command {name!r} is not available: {exc}") from exc

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # One broken optional part must not take `--help` down with it.
        rows = []
        for name in self.list_commands(ctx):
            try:
                cmd = self.get_command(ctx, name)
            except click.ClickException as exc:
                rows.append((name, f"(unavailable: {exc.message})"))
                continue
            if cmd is not None and not cmd.hidden:
                rows.append((name, cmd.get_short_help_str(formatter.width - 6 - len(name))))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, invoke_without_command=True)
@click.version_option(__version__, prog_name="shieldrec")
@click.option("--profile", "-p", "profile_name", default=None, help="Profile to open in the terminal app.")
@click.pass_context
def cli(ctx: click.Context, profile_name: str | None) -> None:
    """ShieldRec: recommendations re-ranked on your side, with a private local profile.

    With no command, opens the terminal app.
    """
    # numpy reports a NaN in a matrix product from the CPU's "invalid" flag, which OpenBLAS's kernels can
    # leave set from scratch memory the result never uses (numpy issues 13173, 24067): seen in this project's
    # ranking only under load, with finite results. Not worth a line on the user's terminal; scores that are
    # not numbers are caught where they arise (ranking/features.py, ranking/fusion.py, learning/personal.py).
    warnings.filterwarnings("ignore", message="invalid value encountered in matmul", category=RuntimeWarning)
    if ctx.invoked_subcommand is None:
        from shieldrec.cli.misc import run_tui

        run_tui(profile_name)


def main(argv: list[str] | None = None) -> Any:
    return cli.main(args=argv, prog_name="shieldrec")
