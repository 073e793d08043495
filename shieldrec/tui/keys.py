"""Every key binding of the terminal app, in one table.

Each binding has an id ("card.like"), so users can remap keys in config.toml:

    [tui.keys]
    "card.like" = "plus"
    "app.help" = "f1"

The help screen and the command palette read the same table, so they never disagree
with what the keys do.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True)
class Key:
    id: str
    keys: str  # Textual key names, comma-separated
    action: str
    description: str
    show: bool = True  # in the footer
    priority: bool = False


GROUPS: dict[str, tuple[str, tuple[Key, ...]]] = {
    # The function keys show on their own bar on every screen (FunctionKeys), not in the footer.
    "app": ("Everywhere", (
        Key("app.help", "f1,question_mark", "help", "Help", show=False),
        Key("app.chat", "f2", "show('chat')", "Chat", show=False),
        Key("app.profile", "f3", "show('profile')", "Profile", show=False),
        Key("app.platforms", "f4", "show('platforms')", "Platforms", show=False),
        Key("app.audit", "f5", "show('audit')", "Audit", show=False),
        Key("app.settings", "f6", "show('settings')", "Settings", show=False),
        Key("app.palette", "ctrl+p", "command_palette", "Commands", show=False),
        Key("app.quit", "ctrl+q", "quit", "Quit", show=False, priority=True),
    )),
    "chat": ("Chat", (
        Key("chat.undo", "ctrl+z", "undo", "Undo"),
        Key("chat.new", "ctrl+n", "new_conversation", "New chat"),
        Key("chat.resume", "ctrl+r", "conversations", "Chats"),
        Key("chat.export", "ctrl+s", "export", "Save answer"),
        Key("chat.compact", "ctrl+t", "compact", "Compact"),
        Key("chat.removed", "ctrl+o", "show_removed", "Removed", show=False),
        Key("chat.input", "escape", "focus_input", "Type", show=False),
    )),
    "input": ("The request line", (
        Key("input.earlier", "up", "history(-1)", "Earlier request", show=False),
        Key("input.later", "down", "history(1)", "Later request, then the results", show=False),
    )),
    "card": ("A result card (focus it with ↓ or the mouse)", (
        Key("card.like", "l", "like", "Like"),
        Key("card.dislike", "d", "dislike", "Dislike"),
        Key("card.not_now", "n", "not_now", "Not now"),
        Key("card.later", "w", "later", "Later"),
        Key("card.block_creator", "b", "block('creator')", "Block creator"),
        Key("card.block_topic", "t", "block('topic')", "Block topic"),
        Key("card.block_source", "s", "block('source')", "Block source"),
        Key("card.open", "o", "open", "Open"),
        # The answer's own buttons say "show more"; F1 lists both.
        Key("card.more", "m", "more", "More", show=False),
        Key("card.view", "v", "view", "Sort/filter", show=False),
        Key("card.dispute", "x", "dispute", "Wrong reason", show=False),
        Key("card.rate_1", "1", "rate(1)", "Rate 1 of 5", show=False),
        Key("card.rate_2", "2", "rate(2)", "Rate 2 of 5", show=False),
        Key("card.rate_3", "3", "rate(3)", "Rate 3 of 5", show=False),
        Key("card.rate_4", "4", "rate(4)", "Rate 4 of 5", show=False),
        Key("card.rate_5", "5", "rate(5)", "Rate 5 of 5", show=False),
        Key("card.copy", "c", "copy", "Copy", show=False),
        Key("card.undo", "u", "undo", "Undo", show=False),
        Key("card.details", "enter,space", "details", "Details", show=False),
        Key("card.next", "down,j", "next", "Next", show=False),
        Key("card.previous", "up,k", "previous", "Previous", show=False),
        Key("card.removed", "r", "show_removed", "Removed", show=False),
    )),
    "profile": ("Profile", (
        Key("profile.add", "a", "add", "Add"),
        Key("profile.edit", "e", "edit", "Edit"),
        Key("profile.delete", "x,delete", "delete", "Delete"),
        Key("profile.pin", "p", "pin", "Pin"),
        Key("profile.undo", "ctrl+z,u", "undo", "Undo"),
        Key("profile.reset_learned", "ctrl+r", "reset_learned", "Reset learned"),
        Key("profile.export", "ctrl+e", "export", "Export"),
        Key("profile.forget", "ctrl+f", "forget", "Forget all"),
        Key("profile.refresh", "ctrl+l", "reload", "Refresh", show=False),
    )),
    "platforms": ("Platforms", (
        Key("platforms.add", "a", "add", "Add"),
        Key("platforms.edit", "e", "edit", "Edit"),
        Key("platforms.toggle", "space", "toggle", "On/off"),
        Key("platforms.test", "t", "test", "Test"),
        Key("platforms.token", "k", "token", "Token"),
        Key("platforms.delete", "x,delete", "delete", "Remove"),
    )),
    "audit": ("Audit", (
        Key("audit.refresh", "ctrl+l,r", "reload", "Refresh"),
    )),
    "settings": ("Settings", (
        Key("settings.save", "ctrl+s", "save", "Save"),
        Key("settings.revert", "ctrl+l", "revert", "Revert"),
    )),
    "dialog": ("Dialogs", (
        Key("dialog.close", "escape", "dismiss_none", "Close"),
    )),
    "conversations": ("Saved conversations (Ctrl+R)", (
        Key("conversations.open", "enter", "open", "Open"),
        Key("conversations.rename", "r,ctrl+t", "rename", "Rename"),
        Key("conversations.delete", "x,delete", "delete", "Delete"),
    )),
}

# The screens the function-key bar names, in order (their ids are app.<name>).
SCREENS = ("help", "chat", "profile", "platforms", "audit", "settings")

ALL_IDS = frozenset(k.id for _, keys in GROUPS.values() for k in keys)


def bindings(group: str) -> list[Binding]:
    _, keys = GROUPS[group]
    return [Binding(k.keys, k.action, k.description, show=k.show, priority=k.priority, id=k.id) for k in keys]


def effective(key: Key, keymap: dict[str, str]) -> str:
    """The keys a binding answers to once the user's remaps apply."""
    return keymap.get(key.id, key.keys)


def display(keys: str) -> str:
    """'f1,question_mark' -> 'F1 / ?' for the help screen."""
    names = {"question_mark": "?", "slash": "/", "space": "Space", "escape": "Esc", "enter": "Enter",
             "delete": "Del", "down": "↓", "up": "↑", "plus": "+", "minus": "-", "tab": "Tab"}
    out = []
    for k in keys.split(","):
        k = k.strip()
        parts = [names.get(p, p.upper() if p.startswith("f") and p[1:].isdigit() else p) for p in k.split("+")]
        if len(parts) > 1 and len(parts[-1]) == 1:
            parts[-1] = parts[-1].upper()  # Ctrl+Q, as keyboards print it
        out.append("+".join(p.capitalize() if p in ("ctrl", "shift", "alt") else p for p in parts))
    return " / ".join(out)


def check_keymap(keymap: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """(the remaps that name a known binding, the ids that do not)."""
    good = {k: v for k, v in keymap.items() if k in ALL_IDS and isinstance(v, str) and v.strip()}
    return good, sorted(set(keymap) - set(good))
