"""`shieldrec profile ...`: create, inspect, import, export and forget local profiles."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from shieldrec.cli.common import (
    atomic_output,
    emit,
    errors_as_click,
    list_format_option,
    open_store,
    resolve_profile,
    show_format_option,
    wants_json,
)
from shieldrec.errors import InvalidInput
from shieldrec.items import PREF_KINDS, PREF_TARGETS, HistoryEvent, Preference
from shieldrec.settings import Settings
from shieldrec.store import Profile, Store, load_profile_file, parse_profile_bytes
from shieldrec.store.profiles import MAX_FILE_BYTES


@click.group()
def profile() -> None:
    """Manage local profiles (they never leave this machine)."""


@profile.command("create")
@click.argument("name")
@click.option("--about", default="", help="A short description, for you.")
@click.option("--default/--no-default", "make_default", default=None, help="Use it when no profile is named.")
def create(name: str, about: str, make_default: bool | None) -> None:
    """Create an empty profile."""
    store = open_store()
    with errors_as_click():
        created = store.create_profile(name, about)
        settings = Settings.load()
        if make_default or (make_default is None and not settings.profile):
            settings.profile = created.name
            settings.save()
    click.echo(f"Created profile {created.name!r}.")


@profile.command("list")
@list_format_option
def list_(fmt: str) -> None:
    """List the profiles on this machine."""
    store = open_store()
    with errors_as_click():
        default = Settings.load().profile
    rows = []
    for p in store.profiles():
        rows.append({
            "name": p.name,
            "default": p.name == default,
            "preferences": len(store.preferences(p)),
            "history": len(store.history(p)),
            "about": p.about,
        })
    emit(rows, fmt, ["name", "default", "preferences", "history", "about"],
         "no profile yet: create one with `shieldrec profile create NAME`")


@profile.command("use")
@click.argument("name")
def use(name: str) -> None:
    """Make NAME the profile used when none is named."""
    store = open_store()
    with errors_as_click():
        p = store.profile(name)
        settings = Settings.load()
        settings.profile = p.name
        settings.save()
    click.echo(f"Default profile: {p.name}")


@profile.command("show")
@click.argument("name", required=False)
@show_format_option
def show(name: str | None, fmt: str, as_json: bool) -> None:
    """What ShieldRec believes about you, in plain words (json: the whole profile, as export writes it)."""
    store = open_store()
    p = resolve_profile(store, name)
    if wants_json(fmt, as_json):
        with errors_as_click():
            click.echo(json.dumps(store.export_profile(p.name), indent=2, ensure_ascii=False))
        return
    click.echo(f"Profile {p.name}" + (f": {p.about}" if p.about else ""))
    prefs = store.preferences(p)
    for origin, heading in (("stated", "You said"), ("learned", "Learned from your feedback")):
        chosen = [x for x in prefs if x.origin == origin]
        if chosen:
            click.echo(f"\n{heading}:")
            for x in chosen:
                click.echo(f"  #{x.id:<4} {x.describe()}  (weight {x.weight:g})")
    history = store.history(p)
    _show_learned(store, p, history)
    if history:
        click.echo(f"\nHistory ({len(history)}):")
        for ev in history[-20:]:
            rating = f" {ev.rating:g}" if ev.rating is not None else ""
            click.echo(f"  #{ev.id:<4} {ev.event}{rating}: {ev.item.title}")
        if len(history) > 20:
            click.echo(f"  … and {len(history) - 20} earlier")


@profile.command("add")
@click.argument("kind", type=click.Choice(PREF_KINDS))
@click.argument("value")
@click.option("--target", type=click.Choice(PREF_TARGETS), default="topic", show_default=True)
@click.option("--weight", type=float, default=1.0, show_default=True)
@click.option("--profile", "-p", "name", default=None)
def add(kind: str, value: str, target: str, weight: float, name: str | None) -> None:
    """State a preference: like, avoid or block a topic, creator, item or source."""
    store = open_store()
    p = resolve_profile(store, name)
    with errors_as_click():
        pref = Preference.from_untrusted({"kind": kind, "target": target, "value": value, "weight": weight})
        pid = store.add_preference(p, pref)
    click.echo(f"#{pid}: {pref.describe()}")


@profile.command("remove")
@click.argument("entry")
@click.option("--profile", "-p", "name", default=None)
def remove(entry: str, name: str | None) -> None:
    """Delete one entry: a preference (`pref:ID` or `ID`) or a history event (`history:ID`)."""
    store = open_store()
    p = resolve_profile(store, name)
    kind, _, number = entry.rpartition(":")
    with errors_as_click():
        if not number.isdigit() or kind not in ("", "pref", "history"):
            raise InvalidInput(f"{entry!r} is not an entry id: use ID, pref:ID or history:ID")
        if kind == "history":
            store.remove_event(p, int(number))
        else:
            store.remove_preference(p, int(number))
    click.echo(f"Removed {entry}.")


@profile.command("import")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path, allow_dash=True))
@click.option("--name", default=None, help="Import under this name instead of the file's.")
@click.option("--replace", is_flag=True, help="Overwrite a profile of the same name.")
@click.option("--if-missing", is_flag=True, help="Do nothing when a profile of that name exists.")
@click.option("--default/--no-default", "make_default", default=None, help="Use it when no profile is named.")
def import_(path: Path, name: str | None, replace: bool, if_missing: bool, make_default: bool | None) -> None:
    """Import a profile from a TOML or JSON file (a persona from profiles/ or an export)."""
    store = open_store()
    with errors_as_click():
        if str(path) == "-":
            raw = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
            data = parse_profile_bytes(raw, "json", "standard input")
        else:
            data = load_profile_file(path)
        target = name or (data.get("profile") or {}).get("name") if isinstance(data, dict) else name
        if if_missing and isinstance(target, str) and any(p.name == target for p in store.profiles()):
            click.echo(f"Profile {target!r} already exists; left as it is.")
            imported_name = target
        else:
            imported = store.import_profile(data, name=name, replace=replace)
            imported_name = imported.name
            counts = store.export_profile(imported_name)
            click.echo(
                f"Imported profile {imported_name!r}: {len(counts['preferences'])} preferences, "
                f"{len(counts['history'])} history entries."
            )
        settings = Settings.load()
        if make_default or (make_default is None and not settings.profile):
            settings.profile = imported_name
            settings.save()


@profile.command("export")
@click.argument("name", required=False)
@click.option("--output", "-o", default="-", show_default=True, help="File to write, or - for stdout.")
def export(name: str | None, output: str) -> None:
    """Export a profile as JSON (everything it holds except secrets, which it never holds)."""
    store = open_store()
    p = resolve_profile(store, name)
    with errors_as_click():
        doc = store.export_profile(p.name)
        with atomic_output(output) as out:
            json.dump(doc, out, indent=2, ensure_ascii=False)
            out.write("\n")
    if output != "-":
        click.echo(f"Exported {p.name!r} to {output}.", err=True)


@profile.command("forget")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def forget(name: str, yes: bool) -> None:
    """Delete everything of a profile, leaving no trace of it in the database file."""
    store = open_store()
    with errors_as_click():
        store.profile(name)
    if not yes:
        click.confirm(f"Forget profile {name!r} and everything it holds? This cannot be undone", abort=True)
    with errors_as_click():
        store.forget(name)
        settings = Settings.load()
        if settings.profile == name:
            settings.profile = ""
            settings.save()
    click.echo(f"Forgot profile {name!r}; the database was vacuumed.")


def _show_learned(store: Store, p: Profile, history: list[HistoryEvent]) -> None:
    """Interest facets and the personal ranking model, in plain words."""
    from shieldrec.learning import words
    from shieldrec.learning.examples import gain

    facets = store.learned.facets(p.id)
    for kind, heading in (("like", "Interests it learned"), ("avoid", "What you tend to dislike")):
        chosen = [f for f in facets if f.kind == kind]
        if chosen:
            click.echo(f"\n{heading} (pin or delete one: `shieldrec profile facet pin|delete ID`):")
            for line in words.facets_lines(chosen):
                click.echo(f"  {line}")
    model = store.learned.model(p.id)
    feedback = sum(1 for ev in history if gain(ev) is not None)
    click.echo("")
    for line in words.model_lines(model, feedback, words.newest_taught(history, model)):
        click.echo(line)
    if model is not None:
        waiting = sum(1 for ev in history if (ev.id or 0) > model.newest_event and gain(ev) is not None)
        if waiting:
            click.echo(f"{waiting} newer feedback event{'s' if waiting != 1 else ''} not learned from yet "
                       "(`shieldrec profile learn` runs the update now).")


def learn_now(store: Store, p: Profile, *, quiet: bool = False) -> None:
    """The same background update every feedback path asks for; a command waits for it before it exits."""
    from shieldrec.learning.worker import Learner
    from shieldrec.ranking import Embedder

    settings = Settings.load()
    learner = Learner(store, lambda: Embedder(cache=store.embeddings.owned_by(p.id),
                                              device=settings.embedding_device), settings)
    if not quiet:
        click.echo("Learning from your feedback…", err=True)
    report = learner.schedule(p).result()
    if report is None:
        raise click.ClickException("learning from your feedback failed; your rankings stay as they were")
    if not quiet:
        click.echo(report.describe()[:1].upper() + report.describe()[1:] + ".")


@profile.command("learn")
@click.argument("name", required=False)
def learn(name: str | None) -> None:
    """Update what ShieldRec learned from your feedback now (it also runs after each feedback)."""
    store = open_store()
    p = resolve_profile(store, name)
    with errors_as_click():
        learn_now(store, p)


@profile.command("feedback")
@click.argument("action", type=click.Choice(("like", "dislike", "not_now", "rate")))
@click.argument("item")
@click.option("--stars", type=click.IntRange(1, 5), default=None, help="For 'rate': 1-5 stars.")
@click.option("--instruction", default="", help="The request the item was an answer to.")
@click.option("--profile", "-p", "name", default=None)
def feedback_(action: str, item: str, stars: int | None, instruction: str, name: str | None) -> None:
    """Like, dislike, not-now or rate an item (ITEM: a JSON object with at least item_id and title),
    then learn from it."""
    from shieldrec.agent import feedback as fb
    from shieldrec.items import Item

    store = open_store()
    p = resolve_profile(store, name)
    with errors_as_click():
        try:
            raw = json.loads(item)
        except ValueError:
            raise InvalidInput("ITEM must be a JSON object such as '{\"item_id\": \"m1\", \"title\": \"Arrival\"}'") from None
        token = fb.record_event(store, p, Item.from_untrusted(raw), action, instruction, rating=stars)
        click.echo(token.summary())
        learn_now(store, p)


@profile.group("facet")
def facet() -> None:
    """Pin or delete an interest facet (`profile show` lists them with their ids)."""


def _facet_choice(ident: int, name: str | None, choice: str | None, done: str) -> None:
    store = open_store()
    p = resolve_profile(store, name)
    with errors_as_click():
        found = next((f for f in store.learned.facets(p.id, with_deleted=True) if f.id == ident), None)
        if found is None:
            raise InvalidInput(f"no facet #{ident} in profile {p.name!r} (`shieldrec profile show` lists them)")
        store.learned.choose(p.id, found.key, choice, found.label)
    click.echo(f"{done}: {found.label}.")


@facet.command("pin")
@click.argument("ident", type=int)
@click.option("--profile", "-p", "name", default=None)
def facet_pin(ident: int, name: str | None) -> None:
    """Keep a facet whatever later feedback says, at full weight."""
    _facet_choice(ident, name, "pinned", "Pinned")


@facet.command("delete")
@click.argument("ident", type=int)
@click.option("--profile", "-p", "name", default=None)
def facet_delete(ident: int, name: str | None) -> None:
    """Never show or use a facet again (a rebuild does not bring it back)."""
    _facet_choice(ident, name, "deleted", "Deleted")


@facet.command("reset")
@click.argument("ident", type=int)
@click.option("--profile", "-p", "name", default=None)
def facet_reset(ident: int, name: str | None) -> None:
    """Take back a pin or a delete."""
    _facet_choice(ident, name, None, "As learned again")


@profile.command("reset-learned")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def reset_learned(name: str, yes: bool) -> None:
    """Forget what was learned (personal model, interest facets, learned likes and avoids);
    keep what you stated and your history."""
    from shieldrec.learning import reset

    store = open_store()
    with errors_as_click():
        p = store.profile(name)
    if not yes:
        click.confirm(f"Forget what ShieldRec learned about {name!r}? Your stated preferences and history stay",
                      abort=True)
    with errors_as_click():
        dropped = reset(store, p)
    click.echo(f"Reset the learned part of {name!r} ({dropped}); stated preferences and history kept.")
