"""`shieldrec serve`: the shield as a local HTTP service; `serve token`, `serve calls`."""

from __future__ import annotations

import sys

import click

from shieldrec.cli.common import errors_as_click, format_option, open_store, resolve_profile, write_rows
from shieldrec.settings import Settings
from shieldrec.store import Profile, Store


def _profile_or_none(store: Store, name: str | None) -> Profile | None:
    """The named profile, else the default or only one; none at all is allowed (ranking without one)."""
    if name is None and not store.profiles():
        return None
    return resolve_profile(store, name)


@click.group(invoke_without_command=True)
@click.option("--port", type=click.IntRange(0, 65535), default=None,
              help="Port on the loopback interface (default: [serve] port in config.toml, 8731; 0: any free one).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="127.0.0.1, ::1 or localhost; any other address is refused.")
@click.option("--profile", "-p", "profile_name", default=None,
              help="The profile whose preferences, blocks and history apply, and that feedback writes to.")
@click.option("--with-llm", is_flag=True, help="Add the local language model to the ranking (slow on a CPU).")
@click.pass_context
def serve(ctx: click.Context, port: int | None, host: str, profile_name: str | None, with_llm: bool) -> None:
    """Serve the ranking to programs on this machine: POST /v1/rerank, POST /rank (the Prosocial
    Ranking Challenge contract), POST /v1/feedback, GET /v1/health, GET /openapi.json.

    Every route but health needs `Authorization: Bearer <token>`: `shieldrec serve token` prints
    it. Stop with Ctrl-C or SIGTERM: calls in progress finish first.
    """
    if ctx.invoked_subcommand is not None:
        return
    from shieldrec.serve import Service, bind_loopback, serve as run, service_token

    with errors_as_click():
        settings = Settings.load()
        token = service_token()
        sock = bind_loopback(host, settings.serve.port if port is None else port)
    store = open_store()
    profile = _profile_or_none(store, profile_name)
    service = Service(store, profile, settings, with_llm=with_llm)

    def ready(bound: int) -> None:
        shown = f"[{host.strip('[]')}]" if ":" in host else host
        who = f"profile {profile.name}" if profile else "no profile"
        click.echo(f"ShieldRec serving on http://{shown}:{bound} ({who}); token: `shieldrec serve token`",
                   err=True)

    try:
        run(service, sock, token, on_ready=ready)
    finally:
        store.close()
        sock.close()


@serve.command("token")
def token() -> None:
    """Print the service's token (made and kept in the keyring on first use), for a client's
    `Authorization: Bearer` header."""
    from shieldrec.serve import service_token

    with errors_as_click():
        click.echo(service_token())


@serve.command("calls")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@format_option
def calls(limit: int, fmt: str) -> None:
    """The latest calls to the service: caller, route, status, sizes (never a token, never a body)."""
    from shieldrec.serve.calls import recent_calls

    store = open_store()
    try:
        write_rows(recent_calls(store, limit), fmt, sys.stdout)
    finally:
        store.close()
