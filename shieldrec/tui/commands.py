"""The command palette (Ctrl+P): every action of every screen, reachable from anywhere."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from textual.app import SystemCommand
from textual.screen import Screen

from shieldrec.tui import keys

if TYPE_CHECKING:
    from shieldrec.tui.app import ShieldRecApp

# The screens whose every action the palette offers from anywhere (it opens the screen first).
SCREEN_GROUPS = ("profile", "platforms", "audit", "settings")


def _key_hint(app: ShieldRecApp, key_id: str) -> str:
    for _, (_, group) in keys.GROUPS.items():
        for k in group:
            if k.id == key_id:
                return keys.display(keys.effective(k, app.keymap))
    return ""


def _on(app: ShieldRecApp, group: str, action: str) -> Callable[[], Any]:
    async def run() -> None:
        if not isinstance(app.screen, _screen_class(group)):
            mounted = app.action_show(group)
            if mounted is not None:
                await mounted
        await app.screen.run_action(action)

    return run


def _screen_class(group: str) -> type[Screen[Any]]:
    from shieldrec.tui.screens.audit import AuditScreen
    from shieldrec.tui.screens.platforms import PlatformsScreen
    from shieldrec.tui.screens.profile import ProfileScreen
    from shieldrec.tui.screens.settings import SettingsScreen

    return {"profile": ProfileScreen, "platforms": PlatformsScreen, "audit": AuditScreen,
            "settings": SettingsScreen}[group]


def commands(app: ShieldRecApp, screen: Screen[Any]) -> Iterator[SystemCommand]:
    from shieldrec.tui.widgets import ResultCard

    def hint(key_id: str, text: str) -> str:
        key = _key_hint(app, key_id)
        return f"{text} ({key})" if key else text

    yield SystemCommand("Help: keys", hint("app.help", "Every key and what it does"), app.action_help)
    for name in ("chat", "profile", "platforms", "audit", "settings"):
        yield SystemCommand(f"Go to {name}", hint(f"app.{name}", f"Open the {name} screen"),
                            lambda name=name: app.action_show(name))
    chat = app.chat
    if app.session is not None:
        def in_chat(action: Callable[[], Any]) -> Callable[[], Any]:
            async def run() -> None:
                app.action_show("chat")
                result = action()
                if hasattr(result, "__await__"):
                    await result
            return run

        def newest(then: Callable[[Any], Any]) -> Callable[[], Any]:
            def run() -> Any:
                view = chat._target_view()
                if view is None:
                    app.tell("Nothing asked yet.")
                    return None
                return then(view)
            return run

        yield SystemCommand("Chat: new conversation", hint("chat.new", "Start afresh (the current one is saved)"),
                            in_chat(chat.action_new_conversation))
        yield SystemCommand("Chat: saved conversations", hint("chat.resume", "Resume, rename, delete or search them"),
                            in_chat(chat.action_conversations))
        yield SystemCommand("Chat: undo the last feedback", hint("chat.undo", "Take back a like, dislike or block"),
                            in_chat(chat.action_undo))
        yield SystemCommand("Chat: show what was removed", hint("chat.removed", "What the shield kept out, and why"),
                            in_chat(chat.action_show_removed))
        yield SystemCommand("Chat: save or copy the answer", hint("chat.export", "As Markdown or JSON"),
                            in_chat(chat.action_export))
        yield SystemCommand("Chat: compact answers on/off", hint("chat.compact", "One line per pick"),
                            in_chat(chat.action_compact))
        yield SystemCommand("Chat: show more picks", hint("card.more", "The next page of the newest answer"),
                            in_chat(newest(chat.more)))
        yield SystemCommand("Chat: sort or filter the answer", hint("card.view", "By year, title, kind, platform"),
                            in_chat(newest(chat.choose_view)))
        for group in SCREEN_GROUPS:
            title, group_keys = keys.GROUPS[group]
            for k in group_keys:
                yield SystemCommand(f"{title}: {k.description.lower()}", hint(k.id, f"On the {group} screen"),
                                    _on(app, group, k.action))
    focused = screen.focused if screen is not None else None
    if isinstance(focused, ResultCard):
        # The item's own title stays out of the palette: it is a platform's text.
        for k in keys.GROUPS["card"][1]:
            if k.id in ("card.next", "card.previous"):
                continue
            yield SystemCommand(f"Result: {k.description.lower()}", hint(k.id, f"On result #{focused.position}"),
                                lambda k=k, card=focused: card.run_action(k.action))
