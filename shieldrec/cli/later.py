"""`shieldrec later ...`: the watch list (what you kept for later with w in the app)."""

from __future__ import annotations

import datetime

import click

from shieldrec.cli.common import emit, errors_as_click, list_format_option, open_store, profile_option, resolve_profile

@click.group()
def later() -> None:
    """Items kept for later: to read, watch or listen to."""


@later.command("list")
@profile_option
@list_format_option
def list_(profile_name: str | None, fmt: str) -> None:
    """The watch list, newest first."""
    store = open_store()
    prof = resolve_profile(store, profile_name)
    rows = []
    for entry in store.later.list(prof.id):
        item = entry.item
        row = {"id": entry.id, "title": item.title, "creator": item.creator,
               "from": ", ".join(item.platforms) or item.source, "url": item.url,
               "kept": datetime.datetime.fromtimestamp(entry.added_at).strftime("%Y-%m-%d")}
        if fmt != "table":
            row.update(item=item.to_dict(), instruction=entry.instruction, added_at=entry.added_at)
        rows.append(row)
    emit(rows, fmt, ["id", "kept", "title", "creator", "from"], "nothing kept for later yet (w on a result in the app)")


@later.command("remove")
@click.argument("entry_id", type=int)
@profile_option
def remove(entry_id: int, profile_name: str | None) -> None:
    """Take an entry off the watch list."""
    store = open_store()
    prof = resolve_profile(store, profile_name)
    with errors_as_click():
        store.later.remove(prof.id, entry_id)
    click.echo(f"Removed entry {entry_id} from the watch list.")
