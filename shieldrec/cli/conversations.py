"""`shieldrec conversations ...`: the saved chats, listed, searched, shown, renamed, deleted."""

from __future__ import annotations

import datetime
from typing import Any

import click

from shieldrec.cli.common import (
    atomic_output,
    emit,
    errors_as_click,
    list_format_option,
    open_store,
    profile_option,
    resolve_profile,
)
from shieldrec.store import Profile, Store

def _rows(store: Store, profile: Profile, found: list[Any]) -> list[dict[str, Any]]:
    rows = []
    for conv in found:
        asked = sum(1 for m in store.conversations.messages(conv.id) if m.role == "user")
        rows.append({
            "id": conv.id, "title": conv.title,
            "updated": datetime.datetime.fromtimestamp(conv.updated_at).strftime("%Y-%m-%d %H:%M"),
            "requests": asked,
        })
    return rows


@click.group()
def conversations() -> None:
    """Saved conversations (what you asked and what came back). They never leave this machine."""


@conversations.command("list")
@profile_option
@list_format_option
def list_(profile_name: str | None, fmt: str) -> None:
    """Every saved conversation, newest first."""
    store = open_store()
    prof = resolve_profile(store, profile_name)
    emit(_rows(store, prof, store.conversations.list(prof.id)), fmt, ["id", "updated", "requests", "title"],
         "no saved conversation yet")


@conversations.command("search")
@click.argument("text")
@profile_option
@list_format_option
def search(text: str, profile_name: str | None, fmt: str) -> None:
    """Conversations whose title, requests or picks contain every word of TEXT."""
    store = open_store()
    prof = resolve_profile(store, profile_name)
    emit(_rows(store, prof, store.conversations.search(prof.id, text)), fmt, ["id", "updated", "requests", "title"],
         f"no conversation matches {text!r}")


@conversations.command("show")
@click.argument("conversation_id", type=int)
@click.option("--format", "fmt", type=click.Choice(("markdown", "json")), default="markdown", show_default=True,
              help="Output format.")
@click.option("--output", "-o", default="-", show_default=True, help="File to write, or - for stdout.")
@profile_option
def show(conversation_id: int, fmt: str, output: str, profile_name: str | None) -> None:
    """A conversation's answers as they were shown: picks, reasons, links, what was kept out."""
    from shieldrec.agent.export import render
    from shieldrec.agent.shield import apply_profile
    from shieldrec.agent.turn import turns_from_messages

    store = open_store()
    prof = resolve_profile(store, profile_name)
    with errors_as_click():
        conv = store.conversations.get(prof.id, conversation_id)
        turns = turns_from_messages(store.conversations.messages(conv.id))
        prefs, history = store.preferences(prof), store.history(prof)
        for turn in turns:
            apply_profile(turn, prefs, history)
        with atomic_output(output) as out:
            out.write(render(turns, fmt, title=conv.title or f"Conversation {conv.id}"))
    if output != "-":
        click.echo(f"Wrote conversation {conv.id} to {output}.", err=True)


@conversations.command("rename")
@click.argument("conversation_id", type=int)
@click.argument("title")
@profile_option
def rename(conversation_id: int, title: str, profile_name: str | None) -> None:
    """Give a conversation your own title."""
    store = open_store()
    prof = resolve_profile(store, profile_name)
    with errors_as_click():
        stored = store.conversations.rename(prof.id, conversation_id, title)
    click.echo(f"Conversation {conversation_id} is now {stored!r}.")


@conversations.command("delete")
@click.argument("conversation_id", type=int)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@profile_option
def delete(conversation_id: int, yes: bool, profile_name: str | None) -> None:
    """Delete a conversation (your likes, dislikes and blocks from it stay in the profile)."""
    store = open_store()
    prof = resolve_profile(store, profile_name)
    with errors_as_click():
        conv = store.conversations.get(prof.id, conversation_id)
    if not yes:
        click.confirm(f"Delete conversation {conv.id} ({conv.title!r})? This cannot be undone", abort=True)
    with errors_as_click():
        store.conversations.delete(prof.id, conversation_id)
    click.echo(f"Deleted conversation {conversation_id}.")
