"""The platforms a profile asks, with their settings, switches, tests and tokens."""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.widgets import DataTable, Footer, Header, Input, Select, Static, Switch, TextArea

from shieldrec.errors import InvalidInput, ShieldRecError
from shieldrec.sanitize import clean_text
from shieldrec.tui import keys
from shieldrec.tui.safe import plain
from shieldrec.tui.screens.base import Page, selected_key
from shieldrec.tui.screens.modals import Confirm, Form, Prompt

NOTE = ("Only the public words of a request are sent; tokens live in the system keyring and are never shown. "
        "a add · e edit · space on/off · t test · k token · x remove")


def _short(settings: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in settings.items() if k not in ("fields", "meta_fields", "params"))


class PlatformsScreen(Page):
    BINDINGS = keys.bindings("platforms")

    def compose(self) -> ComposeResult:
        yield Header(icon="◆")
        yield Static(Text(NOTE), id="platforms-note", classes="hint")
        yield DataTable(id="platforms", cursor_type="row", zebra_stripes=True)
        yield Static(id="platform-result")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"platforms · {self.profile.name}"
        table = self.query_one(DataTable)
        table.add_columns("name", "adapter", "on", "token", "settings")
        self.reload()
        table.focus()

    def reload(self) -> None:
        from shieldrec.platforms.credentials import token_source

        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        for cfg in self.store.platforms.list(self.profile.id):
            needs = cfg.settings.get("auth", "none") not in ("none", None)
            token = token_source(cfg.name) if needs else "-"
            table.add_row(plain(cfg.name, 64), plain(cfg.adapter, 64), Text("yes" if cfg.enabled else "no"),
                          Text(token), plain(_short(cfg.settings), 300), key=cfg.name)
        table.move_cursor(row=min(row, max(0, table.row_count - 1)))

    def _selected(self) -> Any:
        from shieldrec.store.platform_configs import PlatformNotFound

        name = selected_key(self.query_one(DataTable))
        if name is None:
            self.app.tell("No platform yet: press a to add one.")
            return None
        try:
            return self.store.platforms.get(self.profile.id, name)
        except PlatformNotFound:
            return None

    # -- add / edit -----------------------------------------------------------------------

    def _form(self, current: Any | None) -> Form:
        from shieldrec.platforms.egress import Egress
        from shieldrec.platforms.registry import available_adapters
        from shieldrec.store.platform_configs import PlatformConfig, check_no_secrets

        adapters = available_adapters()

        def check(values: dict[str, Any]) -> Any:
            name = clean_text(values["name"], 64)
            if not name or not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
                raise InvalidInput("a platform name uses letters, digits, '-', '_' or '.'")
            cls = adapters.get(values["adapter"] or "")
            if cls is None:
                raise InvalidInput("choose an adapter")
            try:
                settings = json.loads(values["settings"] or "{}")
            except json.JSONDecodeError as exc:
                raise InvalidInput(f"the settings are not valid JSON: {exc.msg} (line {exc.lineno})") from None
            if not isinstance(settings, dict):
                raise InvalidInput("the settings must be a JSON object: {\"key\": value, ...}")
            check_no_secrets(settings)
            cls(name, settings, Egress(self.store, self.profile.id))  # validates; nothing is sent
            if current is None or name != current.name:
                if any(c.name == name for c in self.store.platforms.list(self.profile.id)):
                    raise InvalidInput(f"a platform named {name!r} exists already")
            return PlatformConfig(name=name, adapter=values["adapter"], settings=settings, enabled=values["enabled"])

        if current is None:
            adapter = "http-json" if "http-json" in adapters else next(iter(adapters))
            skeleton = {s.name: s.default if s.default is not None else "" for s in adapters[adapter].settings_schema
                        if s.required}
            name, settings, enabled = "", json.dumps(skeleton, indent=2), True
        else:
            adapter, name = current.adapter, current.name
            settings, enabled = json.dumps(current.settings, indent=2), current.enabled
        help_lines = [f"{a}: {cls.summary}" for a, cls in sorted(adapters.items())]
        fields = [
            ("name", "Name", Input(name, compact=True)),
            ("adapter", "Adapter", Select([(a, a) for a in sorted(adapters)], value=adapter, allow_blank=False,
                                          compact=True)),
            ("settings", "Settings (JSON; tokens go in with k, never here)",
             TextArea(settings, language=None, soft_wrap=True, classes="settings-json")),
            ("enabled", "Enabled", Switch(enabled)),
        ]
        title = "Add a platform" if current is None else f"Edit {current.name}"
        return Form(title, fields, check, body="\n".join(help_lines))

    def action_add(self) -> None:
        def saved(cfg: Any) -> None:
            if cfg is not None:
                self.store.platforms.save(self.profile.id, cfg)
                self.reload()
                self.app.tell(f"Added platform '{cfg.name}' ({cfg.adapter}).")

        self.app.push_screen(self._form(None), saved)

    def action_edit(self) -> None:
        current = self._selected()
        if current is None:
            return

        def saved(cfg: Any) -> None:
            if cfg is None:
                return
            from shieldrec.store.db import tx

            with tx(self.store.db):
                if cfg.name != current.name:
                    self.store.platforms.remove(self.profile.id, current.name)
                self.store.platforms.save(self.profile.id, cfg)
            self.reload()
            self.app.tell(f"Saved platform '{cfg.name}'.")

        self.app.push_screen(self._form(current), saved)

    def action_toggle(self) -> None:
        cfg = self._selected()
        if cfg is None:
            return
        cfg.enabled = not cfg.enabled
        self.store.platforms.save(self.profile.id, cfg)
        self.reload()
        self.app.tell(f"'{cfg.name}' is {'on: it is asked again' if cfg.enabled else 'off: it is not asked'}.")

    def action_delete(self) -> None:
        cfg = self._selected()
        if cfg is None:
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.store.platforms.remove(self.profile.id, cfg.name)
                self.reload()
                self.app.tell(f"Removed platform '{cfg.name}'.")

        self.app.push_screen(Confirm(f"Remove the platform '{cfg.name}'?",
                                     "Its settings go; its token, if any, stays in the keyring until you remove it.",
                                     cfg.name, button="Remove"), confirmed)

    # -- token and test -------------------------------------------------------------------

    def action_token(self) -> None:
        cfg = self._selected()
        if cfg is None:
            return

        def entered(token: str | None) -> None:
            if not token or not token.strip():
                return
            from shieldrec.platforms.credentials import set_token

            try:
                set_token(cfg.name, token)
            except ShieldRecError as exc:
                self.app.tell(f"Token not stored: {exc}", "error", timeout=15)
                return
            self.reload()
            note = "" if cfg.settings.get("auth", "none") not in ("none", None) else \
                " Set \"auth\": \"bearer\" in its settings for it to be sent."
            self.app.tell(f"Token for '{cfg.name}' stored in the system keyring. It will not be shown again.{note}")

        self.app.push_screen(Prompt(f"Token for {cfg.name}", "Stored in the system keyring; never in a file, never "
                                    "shown again.", password=True, placeholder="paste the token",
                                    button="Store"), entered)

    def action_test(self) -> None:
        cfg = self._selected()
        if cfg is not None:
            self.query_one("#platform-result", Static).update(plain(f"Asking {cfg.name}…", 100))
            self.test(cfg)

    @work(exclusive=True, group="platform-test")
    async def test(self, cfg: Any) -> None:
        from shieldrec.platforms.fanout import fan_out
        from shieldrec.platforms.planning import plan_query

        cfg.enabled = True  # a test asks even a platform that is off
        try:
            result = await fan_out(self.store, self.profile, plan_query("", None, 5), [cfg],
                                   timeout=self.app.timeout)
        except ShieldRecError as exc:
            self.app.tell(f"{cfg.name}: {exc}", "error")
            return
        out = Text()
        if cfg.name in result.errors:
            out.append_text(plain(f"✗ {cfg.name}: {result.errors[cfg.name]}", 500, style="bold red"))
            self.app.tell(f"{cfg.name} failed: {result.errors[cfg.name]}", "error", timeout=10)
        else:
            ms = result.durations_ms.get(cfg.name, 0)
            out.append_text(plain(f"✓ {cfg.name} answered with {result.counts.get(cfg.name, 0)} items in {ms:.0f} ms:",
                                  200, style="bold green"))
            for item in result.items[:5]:
                out.append("\n  ")
                out.append_text(plain(item.title, 120))
            self.app.tell(f"{cfg.name} works: {result.counts.get(cfg.name, 0)} items.")
        self.query_one("#platform-result", Static).update(out)
        self.reload()
