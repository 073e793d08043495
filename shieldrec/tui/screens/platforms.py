"""The platforms a profile asks, with their settings, switches, tests and tokens."""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, DataTable, Header, Input, Label, Select, Static

from shieldrec.errors import InvalidInput, ShieldRecError
from shieldrec.sanitize import clean_text
from shieldrec.tui import keys
from shieldrec.tui.safe import plain
from shieldrec.tui.screens.base import Page, selected_key
from shieldrec.tui.screens.modals import Confirm, Dialog, OnOff, Prompt, field_input

NOTE = ("Only the public words of a request are sent; tokens live in the system keyring and are never shown. "
        "a add · e edit · space on/off · t test · k token · x remove")
TEST_ITEMS = 5


def _short(settings: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in settings.items() if k not in ("fields", "meta_fields", "params"))


def setting_widget(setting: Any, value: Any) -> Any:
    """The field for one setting of an adapter's schema, holding `value` (None: its default)."""
    if setting.type == "bool":
        return OnOff(bool(setting.default if value is None else value))
    if setting.type == "choice":
        current = value if value in setting.choices else setting.default
        return Select([(c, c) for c in setting.choices], value=current, allow_blank=False, compact=True)
    if setting.type in ("dict", "list"):
        text = "" if value is None or value == setting.default else json.dumps(value, ensure_ascii=False)
        return field_input(text, placeholder=json.dumps(setting.default, ensure_ascii=False))
    placeholder = "required" if setting.required else "" if setting.default in (None, "") else f"{setting.default}"
    return field_input("" if value is None or value == setting.default else str(value), placeholder=placeholder)


def setting_value(setting: Any, widget: Any) -> Any:
    """The value a field holds, in the setting's type; None to leave the default."""
    if setting.type == "bool":
        return widget.value if widget.value != setting.default else None
    if setting.type == "choice":
        return widget.value if widget.value != setting.default else None
    text = str(widget.value).strip()
    if not text:
        return None
    return setting.parse(text)


class PlatformForm(Dialog):
    """A platform's name, adapter and one labelled field per setting of that adapter (its help
    beside it); changing the adapter changes the fields. Dismisses with a PlatformConfig."""

    DEFAULT_CSS = """
    PlatformForm #settings-fields { height: auto; }
    """

    def __init__(self, current: Any | None, check: Any) -> None:
        from shieldrec.platforms.presets import PREFIX, available_presets, preset_adapter
        from shieldrec.platforms.registry import available_adapters

        super().__init__()
        self.adapters = available_adapters()
        # Presets after the adapters, each with one line on what it is and what it sends.
        self.choices = [(a, a) for a in sorted(self.adapters)]
        for name, preset in sorted(available_presets().items()):
            cls = preset_adapter(name)
            if cls is not None:
                self.adapters[PREFIX + name] = cls
                self.choices.append((f"{PREFIX}{name} · {preset.title}: {preset.summary}; sends {preset.sends}",
                                     PREFIX + name))
        self.current = current
        self.check = check
        if current is None:
            self.adapter = "http-json" if "http-json" in self.adapters else next(iter(self.adapters))
            self.values: dict[str, Any] = {}
        else:
            self.adapter, self.values = current.adapter, dict(current.settings)

    def compose(self) -> ComposeResult:
        title = "Add a platform" if self.current is None else f"Edit {self.current.name}"
        with Vertical(classes="box"):
            yield Static(plain(title, 200), classes="title")
            with VerticalScroll(classes="fields", can_focus=False):
                yield Label(Text("Name"))
                yield field_input(self.current.name if self.current else "", placeholder="e.g. my-shop",
                                  id="field-name")
                yield Label(Text("Adapter"))
                yield Select(self.choices, value=self.adapter, allow_blank=False, compact=True, id="field-adapter")
                yield Static(id="adapter-summary", classes="hint")
                yield Vertical(id="settings-fields")
                yield Label(Text("Enabled"))
                yield OnOff(self.current.enabled if self.current else True, id="field-enabled")
                yield Static(Text("Tokens never go here: press k on the platform to put one in the keyring."),
                             classes="hint")
            yield Static("", classes="error", id="error")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Save", variant="primary", id="ok")

    async def on_mount(self) -> None:
        await self._show_settings()
        # The name field has the focus; its label above it stays in view.
        self.call_after_refresh(self.query_one(".fields").scroll_home, animate=False)

    def _schema(self) -> tuple[Any, ...]:
        cls = self.adapters[self.adapter]
        return tuple(sorted(cls.settings_schema, key=lambda s: not s.required))

    async def _show_settings(self) -> None:
        box = self.query_one("#settings-fields", Vertical)
        await box.remove_children()
        cls = self.adapters[self.adapter]
        self.query_one("#adapter-summary", Static).update(plain(cls.summary, 300))
        widgets: list[Any] = []
        for setting in self._schema():
            mark = " (required)" if setting.required else ""
            widgets.append(Label(plain(f"{setting.name}{mark}: {setting.help}", 300)))
            widget = setting_widget(setting, self.values.get(setting.name))
            widget.id = f"set-{setting.name}"
            widgets.append(widget)
        await box.mount_all(widgets)

    @on(Select.Changed, "#field-adapter")
    async def _adapter_changed(self, event: Select.Changed) -> None:
        if event.value == self.adapter or event.value is Select.BLANK:
            return
        self.values.update(self._typed(strict=False))
        self.adapter = str(event.value)
        await self._show_settings()

    def _typed(self, *, strict: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for setting in self._schema():
            try:
                value = setting_value(setting, self.query_one(f"#set-{setting.name}"))
            except InvalidInput:
                if strict:
                    raise
                continue
            if value is not None:
                out[setting.name] = value
        return out

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#ok")
    @on(Input.Submitted)
    def _ok(self, event: Any = None) -> None:
        if event is not None:
            event.stop()
        try:
            result = self.check(self.query_one("#field-name", Input).value, self.adapter, self._typed(),
                                self.query_one("#field-enabled", OnOff).value)
        except (ShieldRecError, ValueError) as exc:
            self.query_one("#error", Static).update(plain(str(exc), 500))
            return
        self.dismiss(result)


class PlatformsScreen(Page):
    BINDINGS = keys.bindings("platforms")
    NAME = "platforms"

    def compose(self) -> ComposeResult:
        yield Header(icon="◆")
        yield Static(Text(NOTE), id="platforms-note", classes="hint")
        yield DataTable(id="platforms", cursor_type="row", zebra_stripes=True)
        yield Static(id="platform-result")
        yield from self.bottom()

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

    def _form(self, current: Any | None) -> PlatformForm:
        from pathlib import Path

        from shieldrec.platforms.egress import Egress
        from shieldrec.platforms.registry import adapter_class
        from shieldrec.store.platform_configs import PlatformConfig, check_no_secrets

        def check(name: str, adapter: str, settings: dict[str, Any], enabled: bool) -> Any:
            name = clean_text(name, 64)
            if not name or not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
                raise InvalidInput("a platform name uses letters, digits, '-', '_' or '.'")
            cls = adapter_class(adapter)
            if cls is None:
                raise InvalidInput("choose an adapter")
            prepare = getattr(cls, "prepare_settings", None)
            if prepare is not None:
                settings = prepare(settings)  # e.g. an OPML file read into the feeds it lists
            if adapter == "file" and settings.get("path"):
                settings["path"] = str(Path(settings["path"]).expanduser().resolve())
            check_no_secrets(settings)
            cls(name, settings, Egress(self.store, self.profile.id))  # validates; nothing is sent
            if current is None or name != current.name:
                if any(c.name == name for c in self.store.platforms.list(self.profile.id)):
                    raise InvalidInput(f"a platform named {name!r} exists already")
            return PlatformConfig(name=name, adapter=adapter, settings=settings, enabled=enabled)

        return PlatformForm(current, check)

    def action_add(self) -> None:
        def saved(cfg: Any) -> None:
            if cfg is not None:
                self.store.platforms.save(self.profile.id, cfg)
                self.reload()
                self.app.tell(f"Added platform '{cfg.name}' ({cfg.adapter}). Press t to test it.")

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
        self.app.tell(f"'{cfg.name}' is {'on: it is asked again' if cfg.enabled else 'off: it is not asked'} "
                      "(space switches it back).")

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
                " Set its auth setting to bearer (e to edit) for it to be sent."
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
        planned = plan_query("", None, TEST_ITEMS)
        try:
            result = await fan_out(self.store, self.profile, planned, [cfg], timeout=self.app.timeout)
        except ShieldRecError as exc:
            self.app.tell(f"{cfg.name}: {exc}", "error")
            return
        entries = {e.id: e for e in self.store.audit.entries(self.profile.id)}
        sent = [entries[i] for i in result.audit_ids if i in entries]
        out = Text()
        out.append(f"Sent ({len(sent)} request{'s' if len(sent) != 1 else ''}):", style="bold")
        if not sent:
            out.append(" nothing (this platform is read on this machine)")
        for e in sent:
            out.append("\n  ")
            out.append_text(plain(f"{e.method} {e.url}  {e.sent() or '(no query)'}", 300))
            out.append("\n    → ")
            out.append_text(plain(e.outcome(), 300, style="dim"))
        out.append("\n")
        if cfg.name in result.errors:
            out.append_text(plain(f"✗ {cfg.name}: {result.errors[cfg.name]}", 500, style="bold red"))
            self.app.tell(f"{cfg.name} failed: {result.errors[cfg.name]}", "error", timeout=10)
        else:
            ms = result.durations_ms.get(cfg.name, 0)
            out.append_text(plain(f"✓ {cfg.name} answered with {result.counts.get(cfg.name, 0)} items in {ms:.0f} ms:",
                                  200, style="bold green"))
            for item in result.items[:TEST_ITEMS]:
                out.append("\n  ")
                out.append_text(plain(item.title, 120))
            for note in result.warnings.get(cfg.name, [])[:3]:
                out.append("\n  ")
                out.append_text(plain(f"left out: {note}", 200, style="dim"))
            self.app.tell(f"{cfg.name} works: {result.counts.get(cfg.name, 0)} items.")
        self.query_one("#platform-result", Static).update(out)
        self.reload()
