"""The terminal app: `shieldrec` with no arguments.

The first screen paints before anything heavy happens. Opening the profile database,
starting the demo platform, importing torch and loading the models all run in worker
threads afterwards, each with a visible state on the status line; a failure becomes a
notification that says what to do, never a traceback.

Tests and scripts build the app with parts they made already:
`ShieldRecApp(profile_name="maya", store=store, embedder=embedder, demo=DemoServer(...))`.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import webbrowser
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import App, SystemCommand
from textual.message import Message
from textual.screen import Screen

from shieldrec.agent import threads
from shieldrec.errors import ShieldRecError
from shieldrec.sanitize import clean_text
from shieldrec.settings import Settings
from shieldrec.tui import keys
from shieldrec.tui.screens.chat import ChatScreen

if TYPE_CHECKING:
    from shieldrec.agent import AgentSession
    from shieldrec.items import Item
    from shieldrec.platforms.demo_server import DemoServer
    from shieldrec.ranking import Embedder
    from shieldrec.store import Profile, Store

# Start-up probe (benchmarks and tests): a JSON file gets the time of the first paint and the model
# libraries loaded by then, and later the time the embedding model was ready. With the exit variable
# set to "1" (or "paint") the app exits after its first paint; with "ready", once the model is loaded.
PROBE_ENV = "SHIELDREC_STARTUP_PROBE"
PROBE_EXIT_ENV = "SHIELDREC_STARTUP_PROBE_EXIT"
HEAVY_MODULES = ("torch", "sentence_transformers", "transformers", "llama_cpp")
Opener = Callable[[str], Any]
log = logging.getLogger(__name__)


def _graphical() -> bool:
    """Whether a browser can open beside the terminal (else a text browser would take it over)."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


class ShieldRecApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "ShieldRec"
    BINDINGS = keys.bindings("app")
    ENABLE_COMMAND_PALETTE = True

    def __init__(
        self,
        profile_name: str | None = None,
        *,
        store: Store | None = None,
        settings: Settings | None = None,
        embedder: Embedder | None = None,
        demo: DemoServer | bool | None = None,
        opener: Opener | None = None,
        timeout: float = 10.0,
    ) -> None:
        """`demo`: a DemoServer to start, False for none, None to start one if the profile uses it."""
        super().__init__()
        self.profile_name = profile_name
        self.settings_problem = ""
        if settings is None:
            try:
                settings = Settings.load()
            except ShieldRecError as exc:
                settings = Settings()
                self.settings_problem = str(exc)
        self.settings = settings
        self.store = store
        self._own_store = store is None
        self.embedder = embedder
        self._demo_arg = demo
        self.demo: DemoServer | None = None
        self._own_demo = False
        self.opener: Opener = opener or self._browser
        self.timeout = timeout
        self.profile: Profile | None = None
        self.session: AgentSession | None = None
        self.opening = True
        self.keymap, self.unknown_keys = keys.check_keymap(dict(self.settings.tui.keys))
        self.demo_names: set[str] = set()  # the profile's platforms served by the demo platform
        self.chat = ChatScreen()
        self.first_paint: float | None = None

    # -- start-up -------------------------------------------------------------------------

    def get_default_screen(self) -> Screen[Any]:
        return self.chat

    def on_mount(self) -> None:
        self._apply_theme()
        self._apply_keymap()
        if self.settings_problem:
            self.tell(f"{self.settings_problem}. Using the defaults until it is fixed (or deleted).", "warning",
                      timeout=10)
        self.call_after_refresh(self._painted)

    def _painted(self) -> None:
        self.first_paint = time.time()
        self._probe(at=self.first_paint, loaded={name: name in sys.modules for name in HEAVY_MODULES})
        if os.environ.get(PROBE_ENV) and os.environ.get(PROBE_EXIT_ENV) in ("1", "paint"):
            self.exit()
            return
        self.open_profile()

    def _probe(self, **values: Any) -> None:
        path = os.environ.get(PROBE_ENV)
        if not path:
            return
        try:
            with open(path, encoding="utf-8") as fh:
                current = json.load(fh)
        except (OSError, ValueError):
            current = {}
        with open(path, "w", encoding="utf-8") as fh:
            json.dump({**current, **values}, fh)

    def _apply_theme(self) -> None:
        theme = self.settings.tui.theme
        if theme and theme in self.available_themes:
            self.theme = theme
        elif theme:
            self.tell(f"Theme '{theme}' is not available; pick one from the command palette (Ctrl+P, Theme).",
                      "warning")
        self.theme_changed_signal.subscribe(self, self._theme_changed)

    def _theme_changed(self, theme: Any) -> None:
        if self.settings.tui.theme != theme.name:
            self.settings.tui.theme = theme.name
            self.save_settings(quiet=True)

    def _apply_keymap(self) -> None:
        self.set_keymap(self.keymap)
        if self.unknown_keys:
            self.tell("config.toml [tui.keys] names bindings that do not exist: " + ", ".join(self.unknown_keys)
                      + ". Press F1 to see every binding id.", "warning", timeout=10)

    def save_settings(self, *, quiet: bool = False) -> bool:
        if self.settings_problem:
            self.tell("Settings not saved: config.toml could not be read at start-up, and saving would overwrite "
                      "it. Fix or delete the file first.", "warning")
            return False
        try:
            self.settings.save()
        except OSError as exc:
            self.tell(f"Settings not saved: {exc.strerror or exc}.", "error")
            return False
        if not quiet:
            self.tell("Settings saved.")
        return True

    def open_profile(self, name: str | None = None) -> None:
        """Open the store, choose the profile, start the session, the demo platform and the models,
        in a background thread (quitting never waits for it)."""
        self.opening = True
        self.status("open", "opening your profile", True)
        threads.start(self._open_profile, name, name="open-profile")

    class _Handoff(Message):
        """A call a background thread hands to the app's thread (`_ui`)."""

        def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
            super().__init__()
            self.fn, self.args = fn, args

    def _ui(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run `fn` on the app's thread, from a background one, without waiting for it: a
        thread that waited (`call_from_thread`) on an app that was quitting waited forever,
        and held whatever lock it had (the language model's, during a ranking) while it did.
        Nothing happens if the app has quit meanwhile."""
        self.post_message(self._Handoff(fn, args))

    @on(_Handoff)
    def _run_handoff(self, message: _Handoff) -> None:
        try:
            message.fn(*message.args)
        except Exception:  # noqa: BLE001 - a failed display update is logged, never the app's end
            log.exception("updating the screen from a background thread failed")

    def _open_profile(self, name: str | None) -> None:
        try:
            if self.store is None:
                from shieldrec.store import Store

                self.store = Store()
            profile = self._choose(name or self.profile_name)
            if profile is None:
                return
            self._start(profile)
        except ShieldRecError as exc:
            self._ui(self._cannot_open, str(exc))
        except Exception as exc:  # noqa: BLE001 - never a traceback on screen
            self._ui(self._cannot_open, f"{type(exc).__name__}: {exc}")
        finally:
            self.opening = False
            self._ui(self.status, "open", "", False)

    def _choose(self, name: str | None) -> Profile | None:
        assert self.store is not None
        if name:
            return self.store.profile(name)
        if self.settings.profile:
            return self.store.profile(self.settings.profile)
        profiles = self.store.profiles()
        if len(profiles) == 1:
            return profiles[0]
        if not profiles:
            self._ui(self.chat.no_session, NO_PROFILE)
            return None
        self._ui(self._pick_profile, [p.name for p in profiles])
        return None

    def _pick_profile(self, names: list[str]) -> None:
        from shieldrec.tui.screens.modals import Choose

        def picked(name: str | None) -> None:
            if name:
                self.open_profile(name)

        self.chat.no_session("Several profiles exist; choose one (set a default with `shieldrec profile use NAME`).")
        self.push_screen(Choose("Open which profile?", [(n, n) for n in names]), picked)

    def _start(self, profile: Profile) -> None:
        from shieldrec.agent import AgentSession
        from shieldrec.platforms.demo import ensure_demo_platform, start_demo_server, uses_demo_platform

        assert self.store is not None
        self.profile = profile
        session = AgentSession(self.store, profile, self.settings, embedder=self.embedder, timeout=self.timeout)
        session.on_learned = lambda report, error: self._ui(self._learned, report, error)
        if self._demo_arg is not False and self.demo is None and uses_demo_platform(self.store, profile):
            server = self._demo_arg if not isinstance(self._demo_arg, (bool, type(None))) else None
            self._own_demo = server is None
            try:
                if server is None:
                    server, moved = start_demo_server(self.settings.tui.demo_port)
                    if moved:
                        self._ui(self.tell, f"Port {self.settings.tui.demo_port} is taken, so the demo platform "
                                              f"runs at {server.url} this time; links from earlier "
                                              "conversations still open (they are pointed at it).", "warning")
                self.demo = ensure_demo_platform(self.store, profile, server)
                self.demo_names = {c.name for c in self.store.platforms.list(profile.id) if c.adapter == "demo"}
            except OSError as exc:
                self._ui(self.tell, f"The demo platform could not start ({exc}); other platforms "
                                      "still work. See `shieldrec demo-platform --help`.", "warning")
        self.session = session
        self.opening = False
        self._ui(self._session_ready)
        self._ui(self.status, "open", "", False)
        self._load_models(session)

    def _session_ready(self) -> None:
        assert self.profile is not None
        self.sub_title = self.profile.name
        self.chat.session_ready()

    def _cannot_open(self, message: str) -> None:
        text = f"Cannot open the profile: {message}"
        self.chat.no_session(text + "\n\n" + NO_PROFILE_HINT)
        self.tell(text, "error", timeout=12)

    def _load_models(self, session: AgentSession) -> None:
        self._ui(self.status, "model", "loading the embedding model", True)
        try:
            session.warm_up()
        except ShieldRecError as exc:
            self._ui(self.status, "model", "embedding model missing", False)
            self._ui(self.tell, f"{exc}. Searches cannot be ranked until it loads; run "
                                  "scripts/setup.sh to reinstall it.", "error", 15)
            return
        except Exception as exc:  # noqa: BLE001
            self._ui(self.status, "model", "embedding model failed", False)
            self._ui(self.tell, f"The embedding model failed to load ({type(exc).__name__}: {exc}).",
                                  "error", 15)
            return
        self._ui(self.status, "model", "", False)
        self._probe(ready=time.time())
        if os.environ.get(PROBE_ENV) and os.environ.get(PROBE_EXIT_ENV) == "ready":
            self._ui(self.exit)
            return
        if self.settings.llm.enabled:
            self._load_llm()

    def load_llm(self) -> None:
        """The optional language model, in a background thread: ranking works without it."""
        threads.start(self._load_llm, name="load-llm")

    def _load_llm(self) -> None:
        from shieldrec.tui import llm

        session = self.session
        if session is None:
            return
        self._ui(self.status, "llm", "loading the language model", True)
        try:
            hooks = llm.load(self.settings)
        except ShieldRecError as exc:
            self._ui(self.status, "llm", "", False)
            self._ui(self.tell, f"Language model not loaded: {exc}. Ranking goes on without it; "
                                  "choose another model file in Settings (F6) or turn it off.", "warning", 10)
            return
        except Exception as exc:  # noqa: BLE001
            self._ui(self.status, "llm", "", False)
            self._ui(self.tell, f"Language model not loaded ({type(exc).__name__}: {exc}). "
                                  "Ranking goes on without it.", "warning", 10)
            return
        session.scorers, session.reorder, session.intent_parser = hooks.scorers, hooks.reorder, hooks.intent_parser
        session.explain, session.model_stops = hooks.explain, hooks.stops
        hooks.follow(lambda text: self._ui(self.status, "llm", text, False),
                     lambda text: self._ui(self.tell, text, "warning", 10))
        self._ui(self.status, "llm", hooks.note, False)

    def unload_llm(self) -> None:
        from shieldrec.tui import llm

        if self.session is not None:
            self.session.scorers, self.session.reorder, self.session.intent_parser = [], None, None
            self.session.explain = None
        llm.unload()
        self.status("llm", "", False)

    # -- shared helpers for screens -------------------------------------------------------

    def status(self, key: str, text: str, busy: bool = False) -> None:
        try:
            self.chat.status.set(key, text, busy=busy)
        except Exception:  # noqa: BLE001 - before the chat is composed there is nothing to show it on
            pass

    def _learned(self, report: Any, error: str) -> None:
        """A background update of what the profile learned has finished (on the app's thread now)."""
        if error:
            self.status("learning", "")
            self.tell(f"Learning from your feedback failed ({error}); rankings stay as they were.", "warning")
            return
        if report is not None:
            self.status("learning", f"learned from {report.events} events")
        reload = getattr(self.screen, "action_reload", None)
        if getattr(self.screen, "NAME", "") == "profile" and reload is not None:
            reload()

    def tell(self, message: str, severity: str = "information", timeout: float | None = None) -> None:
        """A notification. Its text may quote a platform, so it is never read as markup."""
        self.notify(clean_text(message, 1000), severity=severity, timeout=timeout, markup=False)  # type: ignore[arg-type]

    def _browser(self, url: str) -> None:
        if not _graphical():
            self.copy_to_clipboard(url)
            self.tell(f"No graphical browser here, so the link was copied to the clipboard: {url}")
            return
        webbrowser.open(url, new=2)

    def resolve_link(self, item: Item) -> str:
        """An item's link as it works now: a demo item saved while the demo platform ran on another
        port points at where it runs today."""
        from shieldrec.platforms.demo import relink

        if self.demo is None or not item.url or not ({*item.platforms, item.source} & self.demo_names):
            return item.url
        return relink(item.url, self.demo.url)

    def open_url(self, url: str, title: str) -> None:
        if not url:
            self.tell(f"'{title}' has no link.", "warning")
            return
        if not url.lower().startswith(("http://", "https://")):
            self.tell("Only web links are opened.", "warning")
            return
        try:
            self.opener(url)
        except Exception as exc:  # noqa: BLE001
            self.tell(f"Could not open the link ({exc}); it is {url}", "warning")

    # -- navigation and commands ----------------------------------------------------------

    def action_help(self) -> None:
        from shieldrec.tui.screens.help import Help

        if not isinstance(self.screen, Help):
            self.push_screen(Help(self.keymap))

    def action_show(self, name: str) -> Any:
        """Go to a screen; the chat stays underneath every other one. Returns what to await for its mount."""
        from textual.screen import ModalScreen

        while isinstance(self.screen, ModalScreen):
            self.pop_screen()
        if name == "chat":
            while len(self.screen_stack) > 1:
                self.pop_screen()
            return None
        if self.session is None:
            self.tell("Open a profile first.", "warning")
            return None
        screen = self._make(name)
        if self.screen is self.chat:
            return self.push_screen(screen)
        return self.switch_screen(screen)

    def _make(self, name: str) -> Screen[Any]:
        from shieldrec.tui.screens.audit import AuditScreen
        from shieldrec.tui.screens.platforms import PlatformsScreen
        from shieldrec.tui.screens.profile import ProfileScreen
        from shieldrec.tui.screens.settings import SettingsScreen

        return {"profile": ProfileScreen, "platforms": PlatformsScreen, "audit": AuditScreen,
                "settings": SettingsScreen}[name]()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        from shieldrec.tui.commands import commands

        yield from commands(self, screen)

    # -- shutting down --------------------------------------------------------------------

    def forgotten(self) -> None:
        """The open profile was deleted: back to the chat, with nothing open."""
        self.session = None
        self.profile = None
        self.sub_title = ""
        self.action_show("chat")
        self.call_later(self.chat.clear_transcript)
        self.chat.no_session(NO_PROFILE)

    def on_unmount(self) -> None:
        if self.demo is not None and self._own_demo:
            self.demo.stop()
        if self.store is not None and self._own_store:
            self.store.close()


NO_PROFILE_HINT = (
    "To start with the example profile:\n"
    "    shieldrec profile import profiles/maya.toml\n"
    "    shieldrec profile use maya\n"
    "or create your own: shieldrec profile create NAME. Then run shieldrec again."
)
NO_PROFILE = "There is no profile yet. ShieldRec keeps your preferences in a private profile on this machine.\n\n" \
    + NO_PROFILE_HINT


def run(profile_name: str | None = None) -> None:
    """Open the terminal app (what `shieldrec` and `shieldrec tui` call)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    ShieldRecApp(profile_name).run()


if __name__ == "__main__":
    run(sys.argv[1] if len(sys.argv) > 1 else None)
