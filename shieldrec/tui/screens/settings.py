"""Settings: the language model, devices, how the ranking weighs things, the theme. Saved to config.toml."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Header, Input, Label, Select, Static

from shieldrec.errors import InvalidInput
from shieldrec.settings import DEFAULT_WEIGHTS, RANKERS
from shieldrec.tui import keys
from shieldrec.tui.screens.base import Page
from shieldrec.tui.screens.modals import OnOff, field_input

DEVICES = ("auto", "cpu", "cuda")
WEIGHT_HELP = {
    "instruction": "what you ask for now", "history": "what you liked before",
    "avoid": "away from what you avoid", "lexical": "shared names and series",
    "popularity": "public rating counts", "llm": "the language model",
}


def _number(raw: str, name: str, low: float, high: float) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        raise InvalidInput(f"{name}: '{raw}' is not a number") from None
    if not low <= value <= high:
        raise InvalidInput(f"{name} must be between {low:g} and {high:g}")
    return value


class SettingsScreen(Page):
    BINDINGS = keys.bindings("settings")
    NAME = "settings"

    def compose(self) -> ComposeResult:
        s = self.app.settings
        yield Header(icon="◆")
        with VerticalScroll(id="settings-body", can_focus=False):
            yield Label(Text("Language model (optional; ranking works without it)"), classes="section")
            with Horizontal(classes="row"):
                yield Label("Use it")
                yield OnOff(s.llm.enabled, id="llm-enabled")
            with Horizontal(classes="row"):
                yield Label("Model file")
                yield field_input(s.llm.model, placeholder="bundled, or a path to any .gguf file", id="llm-model")
            with Horizontal(classes="row"):
                yield Label("LLM device")
                yield Select([(d, d) for d in DEVICES], value=s.llm.device if s.llm.device in DEVICES else "auto",
                             allow_blank=False, id="llm-device", compact=True)
            yield Label(Text("Embeddings"), classes="section")
            with Horizontal(classes="row"):
                yield Label("Device")
                yield Select([(d, d) for d in DEVICES],
                             value=s.embedding_device if s.embedding_device in DEVICES else "auto",
                             allow_blank=False, id="embedding-device", compact=True)
            yield Label(Text("Ranking"), classes="section")
            with Horizontal(classes="row"):
                yield Label("Ranker")
                yield Select([("learned (trained on public data)", "learned"), ("hand-set fusion weights", "fusion")],
                             value=s.ranking.ranker if s.ranking.ranker in RANKERS else "learned",
                             allow_blank=False, id="ranker", compact=True)
            with Horizontal(classes="row"):
                yield Label("Public counts (0-1)")
                yield field_input(f"{s.ranking.popularity:g}", id="popularity")
            with Horizontal(classes="row"):
                yield Label("Diversity (0-1)")
                yield field_input(f"{s.ranking.diversity:g}", id="diversity")
            with Horizontal(classes="row"):
                yield Label("Sponsored penalty (0-4)")
                yield field_input(f"{s.ranking.sponsored_penalty:g}", id="sponsored-penalty")
            with Horizontal(classes="row"):
                yield Label("Injection penalty (0-4)")
                yield field_input(f"{s.ranking.injection_penalty:g}", id="injection-penalty")
            yield Label(Text("Fusion weights (0-5; the hand-set ranker, and plug-ins for both)"), classes="section")
            for name in DEFAULT_WEIGHTS:
                with Horizontal(classes="row"):
                    yield Label(Text(f"{name}: {WEIGHT_HELP.get(name, '')}"))
                    value = s.ranking.weights.get(name, DEFAULT_WEIGHTS[name])
                    yield field_input(f"{value:g}", id=f"weight-{name}")
            yield Label(Text("Look"), classes="section")
            with Horizontal(classes="row"):
                yield Label("Theme")
                themes = sorted(self.app.available_themes)
                yield Select([(t, t) for t in themes], value=self.app.theme if self.app.theme in themes else themes[0],
                             allow_blank=False, id="theme", compact=True)
            with Horizontal(classes="row"):
                yield Label("Compact answers (one line per pick; Ctrl+T in the chat)")
                yield OnOff(s.tui.compact, id="compact")
            yield Static(Text("Keys are remapped in config.toml under [tui.keys] (F1 lists every binding id)."),
                         classes="hint")
            with Horizontal(classes="buttons"):
                yield Button("Revert", id="revert")
                yield Button("Save", variant="primary", id="save")
        yield from self.bottom()

    def on_mount(self) -> None:
        self.sub_title = "settings"

    def _value(self, wid: str) -> str:
        return self.query_one(f"#{wid}", Input).value

    def _select(self, wid: str) -> str:
        return str(self.query_one(f"#{wid}", Select).value)

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        s = self.app.settings
        try:
            diversity = _number(self._value("diversity"), "diversity", 0, 1)
            popularity = _number(self._value("popularity"), "public counts", 0, 1)
            sponsored = _number(self._value("sponsored-penalty"), "sponsored penalty", 0, 4)
            injection = _number(self._value("injection-penalty"), "injection penalty", 0, 4)
            weights = {name: _number(self._value(f"weight-{name}"), f"weight '{name}'", 0, 5)
                       for name in DEFAULT_WEIGHTS}
            model = self._value("llm-model").strip() or "bundled"
            if model != "bundled":
                path = Path(model).expanduser()
                if not path.is_file():
                    raise InvalidInput(f"model file {model} does not exist; give the path of a .gguf file, "
                                       "or 'bundled' for the one that comes with ShieldRec")
                model = str(path.resolve())
        except InvalidInput as exc:
            self.app.tell(f"Not saved: {exc}.", "error", timeout=10)
            return
        llm_before = (s.llm.enabled, s.llm.model, s.llm.device)
        device_before = s.embedding_device
        s.ranking.diversity, s.ranking.sponsored_penalty, s.ranking.injection_penalty = diversity, sponsored, injection
        s.ranking.ranker, s.ranking.popularity = self._select("ranker"), popularity
        s.ranking.weights = {**s.ranking.weights, **weights}
        s.llm.enabled = self.query_one("#llm-enabled", OnOff).value
        compact = self.query_one("#compact", OnOff).value
        s.llm.model, s.llm.device = model, self._select("llm-device")
        s.embedding_device = self._select("embedding-device")
        theme = self._select("theme")
        if theme != self.app.theme:
            self.app.theme = theme  # saved by the app's theme watcher too
        s.tui.compact = compact
        if not self.app.save_settings():
            return
        if compact != self.app.chat.compact:
            self.app.chat.run_worker(self.app.chat.set_compact(compact), group="sync")
        if s.embedding_device != device_before:
            self.app.tell("The embedding device applies from the next start of ShieldRec.")
        if (s.llm.enabled, s.llm.model, s.llm.device) != llm_before:
            if s.llm.enabled:
                self.app.load_llm()
            else:
                self.app.unload_llm()

    @on(Button.Pressed, "#revert")
    async def action_revert(self) -> None:
        await self.recompose()
        self.app.tell("Reverted to the saved settings.")
