"""`shieldrec platform ...`, `shieldrec audit` and `shieldrec demo-platform`."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click

from shieldrec.cli.common import (
    emit,
    errors_as_click,
    list_format_option,
    open_store,
    profile_option,
    resolve_profile,
    show_format_option,
    wants_json,
)
from shieldrec.errors import InvalidInput, ShieldRecError
from shieldrec.sanitize import clean_text

def _parse_sets(adapter_cls: Any, pairs: tuple[str, ...]) -> dict[str, Any]:
    schema = {s.name: s for s in adapter_cls.settings_schema}
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise InvalidInput(f"--set expects key=value, got {pair!r}")
        if key not in schema:
            raise InvalidInput(
                f"adapter {adapter_cls.kind!r} has no setting {key!r} (it knows: {', '.join(sorted(schema))})"
            )
        out[key] = schema[key].parse(value)
    return out


@click.group()
def platform() -> None:
    """Platforms ShieldRec asks for candidates (only public query words are sent)."""


@platform.command("adapters")
@list_format_option
def adapters_(fmt: str) -> None:
    """List the adapters that can be used, with their settings."""
    from shieldrec.platforms.registry import discover

    found, problems = discover()
    rows = [
        {"adapter": name, "summary": cls.summary,
         "settings": [s.describe() for s in cls.settings_schema] if fmt != "table"
         else ", ".join(s.name + ("*" if s.required else "") for s in cls.settings_schema)}
        for name, cls in sorted(found.items())
    ]
    rows += [{"adapter": name, "summary": f"failed to load: {why}", "settings": ""} for name, why in problems.items()]
    emit(rows, fmt, ["adapter", "summary", "settings"], "no adapters")
    if fmt == "table":
        click.echo("(* required; see `--format json` for types, defaults and help)")


@platform.command("presets")
@list_format_option
def presets_(fmt: str) -> None:
    """List the presets: public platforms ready to add with `platform add NAME --preset P`."""
    from shieldrec.platforms.presets import discover as discover_presets

    found, problems = discover_presets()
    rows = []
    for preset in sorted(found.values(), key=lambda p: p.name):
        row = preset.describe()
        if fmt == "table":
            row = {"preset": preset.name, "what": f"{preset.title}: {preset.summary}", "sends": preset.sends,
                   "key": preset.key, "lists": ", ".join(preset.lists) + (", search" if preset.search else "")}
        rows.append(row)
    rows += [{"preset": name, "what": f"failed to load: {why}", "sends": "", "key": "", "lists": ""}
             for name, why in problems.items()]
    emit(rows, fmt, ["preset", "what", "sends", "key", "lists"], "no presets")
    if fmt == "table":
        click.echo("Add one: shieldrec platform add NAME --preset P [--set base_url=URL] [--set list=...]")


@platform.command("add")
@click.argument("name")
@click.option("--adapter", "-a", "adapter_name", default=None, help="Adapter kind (see `platform adapters`).")
@click.option("--preset", "preset_name", default=None, help="A ready-made platform (see `platform presets`).")
@click.option("--set", "-s", "pairs", multiple=True, metavar="KEY=VALUE", help="A setting; repeat as needed.")
@click.option("--disabled", is_flag=True, help="Add it switched off.")
@click.option("--replace", is_flag=True, help="Overwrite a platform of the same name.")
@profile_option
def add(name: str, adapter_name: str | None, preset_name: str | None, pairs: tuple[str, ...], disabled: bool,
        replace: bool, profile_name: str | None) -> None:
    """Add a platform to a profile, from an adapter or a preset. Tokens go in with `platform login`,
    never here."""
    from shieldrec.platforms.egress import Egress
    from shieldrec.platforms.presets import PREFIX, available_presets
    from shieldrec.platforms.registry import adapter_class, available_adapters
    from shieldrec.store.platform_configs import PlatformConfig, PlatformNotFound

    store = open_store()
    prof = resolve_profile(store, profile_name)
    with errors_as_click():
        name = clean_text(name, 64)
        if not name or not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
            raise InvalidInput("a platform name uses letters, digits, '-', '_' or '.'")
        if (adapter_name is None) == (preset_name is None):
            raise InvalidInput("give --adapter (see `platform adapters`) or --preset (see `platform presets`)")
        if preset_name is not None:
            if preset_name.removeprefix(PREFIX) not in available_presets():
                raise InvalidInput(f"unknown preset {preset_name!r} (known: {', '.join(sorted(available_presets()))})")
            adapter_name = PREFIX + preset_name.removeprefix(PREFIX)
        assert adapter_name is not None
        cls = adapter_class(adapter_name)
        if cls is None:
            adapters = available_adapters()
            raise InvalidInput(f"unknown adapter {adapter_name!r} (known: {', '.join(sorted(adapters))})")
        settings = _parse_sets(cls, pairs)
        prepare = getattr(cls, "prepare_settings", None)
        if prepare is not None:
            settings = prepare(settings)  # e.g. an OPML file read into the feeds it lists
        if adapter_name == "file" and "path" in settings:
            settings["path"] = str(Path(settings["path"]).expanduser().resolve())
        cls(name, settings, Egress(store, prof.id))  # validates the settings; nothing is sent
        try:
            store.platforms.get(prof.id, name)
            if not replace:
                raise InvalidInput(f"platform {name!r} already exists in {prof.name!r} (use --replace)")
        except PlatformNotFound:
            pass
        store.platforms.save(prof.id, PlatformConfig(name=name, adapter=adapter_name, settings=settings,
                                                     enabled=not disabled))
    click.echo(f"Added platform {name!r} ({adapter_name}) to profile {prof.name!r}.")


@platform.command("list")
@profile_option
@list_format_option
def list_(profile_name: str | None, fmt: str) -> None:
    """List a profile's platforms (and whether a token is stored; never the token)."""
    from shieldrec.platforms.credentials import token_source

    store = open_store()
    prof = resolve_profile(store, profile_name)
    rows = []
    for cfg in store.platforms.list(prof.id):
        needs = cfg.settings.get("auth", "none") != "none"
        rows.append({
            "name": cfg.name, "adapter": cfg.adapter, "enabled": cfg.enabled,
            "token": token_source(cfg.name) if needs else "-",
            "settings": cfg.settings if fmt != "table" else ", ".join(f"{k}={v}" for k, v in cfg.settings.items()),
        })
    emit(rows, fmt, ["name", "adapter", "enabled", "token", "settings"],
            f"no platforms in {prof.name!r}; add one with `shieldrec platform add`")


@platform.command("remove")
@click.argument("name")
@profile_option
def remove(name: str, profile_name: str | None) -> None:
    """Remove a platform from a profile (its token, if any, stays until `platform logout`)."""
    store = open_store()
    prof = resolve_profile(store, profile_name)
    with errors_as_click():
        store.platforms.remove(prof.id, name)
    click.echo(f"Removed platform {name!r} from profile {prof.name!r}.")


def _set_enabled(name: str, profile_name: str | None, enabled: bool) -> None:
    store = open_store()
    prof = resolve_profile(store, profile_name)
    with errors_as_click():
        cfg = store.platforms.get(prof.id, name)
        cfg.enabled = enabled
        store.platforms.save(prof.id, cfg)
    click.echo(f"Platform {name!r} is {'enabled' if enabled else 'disabled'}.")


@platform.command("enable")
@click.argument("name")
@profile_option
def enable(name: str, profile_name: str | None) -> None:
    """Ask this platform again in searches."""
    _set_enabled(name, profile_name, True)


@platform.command("disable")
@click.argument("name")
@profile_option
def disable(name: str, profile_name: str | None) -> None:
    """Stop asking this platform (its settings are kept)."""
    _set_enabled(name, profile_name, False)


@platform.command("test")
@click.argument("name")
@click.argument("query", required=False, default="")
@click.option("--limit", default=5, show_default=True, type=click.IntRange(1, 100), help="Items to ask for.")
@click.option("--timeout", default=10.0, show_default=True, type=click.FloatRange(0.1, 600), help="Seconds.")
@show_format_option
@profile_option
def test(name: str, query: str, limit: int, timeout: float, fmt: str, as_json: bool, profile_name: str | None) -> None:
    """Make one request and show exactly what was sent and what came back.

    QUERY is planned like a real search: private phrases are dropped before anything is sent.
    """
    import dataclasses
    import json

    from shieldrec.platforms.fanout import run_fan_out
    from shieldrec.platforms.planning import edited_query, plan_query
    from shieldrec.settings import Settings

    store = open_store()
    prof = resolve_profile(store, profile_name)
    with errors_as_click():
        cfg = store.platforms.get(prof.id, name)
        cfg.enabled = True  # a test asks even a disabled platform
        planned = plan_query(query, None, limit)
        if Settings.load().privacy.query_review == "ask":
            typed = click.prompt(
                f"About to send {planned.text!r} to {name}. Send these words (edit them, or clear them to "
                "send only the kind; Ctrl-C sends nothing)", default=planned.text, show_default=False,
            )
            planned = edited_query(planned, typed)
        result = run_fan_out(store, prof, planned, [cfg], timeout=timeout)
    entries = {e.id: e for e in store.audit.entries(prof.id)}
    sent_entries = [entries[i] for i in result.audit_ids if i in entries]
    sent = [e.to_dict() for e in sent_entries]
    if wants_json(fmt, as_json):
        click.echo(json.dumps({"query": dataclasses.asdict(planned), "sent": sent, **result.to_dict()}, indent=2,
                              ensure_ascii=False))
    else:
        click.echo(f"Query planned from {query!r}: text={planned.text!r} limit={planned.limit} kind={planned.kind!r}")
        click.echo(f"Sent ({len(sent)} request{'s' if len(sent) != 1 else ''}):")
        if not sent:
            click.echo("  nothing (this platform is read locally)")
        for e in sent_entries:
            params = json.dumps(e.params, ensure_ascii=False)
            click.echo(f"  {e.method} {clean_text(e.url, 300)}  params={params}")
            click.echo(f"    -> {e.outcome()}")
        click.echo(f"Came back: {result.counts.get(name, 0)} item(s)")
        for item in result.items:
            flag = " [sponsored]" if item.sponsored else ""
            by = f" - {item.creator}" if item.creator else ""
            click.echo(f"  {item.item_id}: {item.title}{by}{flag}")
        for note in result.warnings.get(name, []):
            click.echo(f"  left out: {note}")
    if name in result.errors:
        raise click.ClickException(result.errors[name])


def _what_each_platform_hears(profile_name: str | None, planned: Any) -> list[dict[str, Any]]:
    """Per enabled platform of the profile: whether the planned words go to it. Nothing is sent."""
    from shieldrec.platforms.egress import Egress
    from shieldrec.platforms.registry import build_adapter
    from shieldrec.platforms.rss import RssAdapter

    from shieldrec.paths import get_paths

    if not get_paths().database.exists():
        return []  # no profile yet (and `plan` creates nothing)
    try:
        store = open_store()
        prof = resolve_profile(store, profile_name)
        configs = [c for c in store.platforms.list(prof.id) if c.enabled]
    except (click.ClickException, ShieldRecError):
        return []  # no profile yet: the query alone is the answer
    out = []
    for cfg in configs:
        try:
            adapter = build_adapter(cfg, Egress(store, prof.id))
        except ShieldRecError as exc:
            out.append({"platform": cfg.name, "adapter": cfg.adapter, "words": False, "note": str(exc)})
            continue
        from_list = getattr(adapter, "takes_query", None) is False
        local = isinstance(adapter, RssAdapter) or cfg.adapter == "file"
        words = bool(planned.text) and not from_list and not local
        if words:
            note = f"sends {planned.text!r}"
        elif from_list:
            note = "sends nothing of your words: its list is fetched and re-ranked here"
        elif local:
            note = "sends nothing of your words: read whole and matched here"
        else:
            note = "sends no words (none of yours are public)"
        out.append({"platform": cfg.name, "adapter": cfg.adapter, "words": words, "note": note})
    return out


@platform.command("plan")
@click.argument("instruction")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 100), help="Items to ask for.")
@click.option("--json", "as_json", is_flag=True, help="Print the query as JSON.")
@profile_option
def plan(instruction: str, limit: int, as_json: bool, profile_name: str | None) -> None:
    """Show what a search for INSTRUCTION would send to every platform. Nothing is sent.

    Only words known to be public leave the machine: common words of a language ShieldRec
    checks, genre and format names, words the platforms themselves sent. Names, numbers,
    unknown words, and whatever is about the people in your life stay home.
    """
    import dataclasses
    import json

    from shieldrec.platforms.planning import plan_query

    planned = plan_query(instruction, None, limit)
    platforms = _what_each_platform_hears(profile_name, planned)
    if as_json:
        doc = dataclasses.asdict(planned)
        if platforms:
            doc["platforms"] = platforms
        click.echo(json.dumps(doc, ensure_ascii=False))
        return
    click.echo(f"sent: {planned.text!r}" + (f"  kind: {planned.kind}" if planned.kind else "") + f"  limit: {limit}")
    click.echo("nothing else about you is sent")
    for row in platforms:
        click.echo(f"  {clean_text(row['platform'], 64)} ({row['adapter']}): {row['note']}")


@platform.command("review")
@click.argument("mode", required=False, type=click.Choice(("ask", "show", "silent")))
def review(mode: str | None) -> None:
    """Show or set what you see of a search before it goes: ask (edit or cancel it each
    time), show (shown with the answer) or silent (only in `shieldrec audit`)."""
    from shieldrec.settings import Settings

    with errors_as_click():
        settings = Settings.load()
        if mode is not None:
            settings.privacy.query_review = mode
            settings.save()
    click.echo(f"query review: {settings.privacy.query_review}")


@platform.command("login")
@click.argument("name")
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the token from standard input (for scripts).")
@profile_option
def login(name: str, from_stdin: bool, profile_name: str | None) -> None:
    """Store a platform's token in the system keyring (typed without echo)."""
    from shieldrec.platforms.credentials import set_token

    if from_stdin:
        token = sys.stdin.readline().strip()
    else:
        token = click.prompt(f"Token for {name}", hide_input=True, default="", show_default=False)
    with errors_as_click():
        set_token(name, token)
    click.echo(f"Token for {name!r} stored in the system keyring.")
    store = open_store()
    try:
        prof = resolve_profile(store, profile_name)
        cfg = store.platforms.get(prof.id, name)
        if cfg.settings.get("auth", "none") == "none":
            click.echo(f"Note: {name!r} has auth=none; set auth=bearer or auth=header for the token to be sent.")
    except Exception:
        pass  # the hint is a courtesy; the token is stored either way


@platform.command("logout")
@click.argument("name")
def logout(name: str) -> None:
    """Delete a platform's token from the keyring."""
    from shieldrec.platforms.credentials import delete_token

    with errors_as_click():
        removed = delete_token(name)
    click.echo(f"Token for {name!r} deleted." if removed else f"No token stored for {name!r}.")


@click.command()
@profile_option
@click.option("--all", "all_profiles", is_flag=True, help="Every profile's requests.")
@click.option("--limit", type=click.IntRange(1), default=None, help="Only the most recent N requests.")
@list_format_option
def audit(profile_name: str | None, all_profiles: bool, limit: int | None, fmt: str) -> None:
    """Every request ShieldRec sent to a platform, written before it was sent."""
    import datetime

    store = open_store()
    profile_id = None if all_profiles else resolve_profile(store, profile_name).id
    entries = store.audit.entries(profile_id)
    if limit:
        entries = entries[-limit:]
    rows = []
    for e in entries:
        row = e.to_dict()
        if fmt == "table":
            row = {
                "id": e.id,
                "at": datetime.datetime.fromtimestamp(e.at).strftime("%Y-%m-%d %H:%M:%S"),
                "platform": e.platform,
                "request": f"{e.method} {e.url}",
                "sent": e.sent(),
                "status": e.state(),
                "in": e.bytes_in,
                "ms": round(e.duration_ms) if e.duration_ms is not None else None,
                "error": e.error,
            }
        rows.append(row)
    emit(rows, fmt, ["id", "at", "platform", "request", "sent", "status", "in", "ms", "error"],
            "no requests recorded yet")


@click.command("demo-platform")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535), help="0: any free port.")
@click.option("--log", "log_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Append every request it receives to this JSONL file.")
@click.option("--seed", default=0, show_default=True, help="Seed of its (deterministic) whims.")
@click.option("--profile", "-p", "profile_name", default=None,
              help="Point this profile's demo platforms at it (adding demo-movies and demo-books if it has none).")
@click.option("--fault", type=click.Choice(("hang", "huge", "not-json", "wrong-types", "deep", "flaky", "error")),
              default=None, hidden=True)
def demo_platform(host: str, port: int, log_path: Path | None, seed: int, profile_name: str | None,
                  fault: str | None) -> None:
    """Run the bundled demo platform: a recommender with ads, repeats and hostile items."""
    import signal

    from shieldrec.platforms.demo import ensure_demo_platform
    from shieldrec.platforms.demo_server import DemoServer

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # `kill` stops it as cleanly as Ctrl-C

    server = DemoServer(host, port, seed=seed, log_path=log_path, fault=fault)
    try:
        server.start()
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror} (try --port 0)") from None
    previous = signal.signal(signal.SIGTERM, stop)
    try:
        click.echo(f"Demo platform running at {server.url}  (Ctrl-C to stop)")
        if profile_name:
            store = open_store()
            prof = resolve_profile(store, profile_name)
            with errors_as_click():
                ensure_demo_platform(store, prof, server)
            names = [c.name for c in store.platforms.list(prof.id) if c.adapter == "demo"]
            click.echo(f"Profile {prof.name!r} now asks it through: {', '.join(names)}")
        else:
            click.echo(f"Add it to a profile:  shieldrec platform add demo-movies --adapter demo "
                       f"--set base_url={server.url} --set section=movies")
        for note in server.catalog().notes:
            click.echo(f"  {note}")
        if log_path:
            click.echo(f"Logging requests to {log_path}")
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        click.echo("Stopped.")
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.stop()
