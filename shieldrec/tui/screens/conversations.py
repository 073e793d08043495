"""Ctrl+R: the saved conversations, searchable, to open, rename or delete."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, OptionList, Static
from textual.widgets.option_list import Option

from shieldrec.errors import ShieldRecError
from shieldrec.tui import keys
from shieldrec.tui.safe import plain
from shieldrec.tui.screens.modals import Ask, Dialog, Prompt, field_input

if TYPE_CHECKING:
    from shieldrec.store import Store
    from shieldrec.store.conversations import Conversation

SHOWN = 200
HINT = "Type to search titles, requests and picks · ↓ to the list · Enter opens · r renames · x deletes · Esc closes"


def label(conv: Conversation, current: bool) -> Text:
    when = datetime.datetime.fromtimestamp(conv.updated_at).strftime("%Y-%m-%d %H:%M")
    text = Text(f"{when}  ", style="dim")
    text.append_text(plain(conv.title or "(untitled)", 100))
    if current:
        text.append("  (open now)", style="italic")
    return text


class Conversations(Dialog):
    """Dismisses with the id of the conversation to open, or None. Renames and deletions
    happen here and are reported through `on_deleted` (the chat clears a deleted open one)."""

    BINDINGS = [*keys.bindings("dialog"), *keys.bindings("conversations"),
                ("down", "to_list", "To the list")]

    def __init__(self, store: Store, profile_id: int, current: int | None,
                 on_deleted: Callable[[int], None]) -> None:
        super().__init__()
        self.store, self.profile_id, self.current = store, profile_id, current
        self.on_deleted = on_deleted
        self.found: list[Conversation] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="box"):
            yield Static(Text("Saved conversations"), classes="title")
            yield field_input(placeholder="search", id="search")
            yield OptionList(id="conversations")
            yield Static(Text(HINT), classes="hint", id="conversations-hint")
            with Horizontal(classes="buttons"):
                yield Button("Open", variant="primary", id="open")
                yield Button("Rename", id="rename")
                yield Button("Delete", variant="error", id="delete")
                yield Button("Close", id="close")

    def on_mount(self) -> None:
        self.refresh_list()

    def refresh_list(self, keep: int | None = None) -> None:
        text = self.query_one("#search", Input).value
        self.found = self.store.conversations.search(self.profile_id, text)[:SHOWN]
        options = self.query_one(OptionList)
        highlighted = keep if keep is not None else self.selected()
        options.clear_options()
        options.add_options([Option(label(c, c.id == self.current), id=str(c.id)) for c in self.found])
        ids = [c.id for c in self.found]
        if ids:
            options.highlighted = ids.index(highlighted) if highlighted in ids else 0
        count = f"{len(self.found)} conversation{'s' if len(self.found) != 1 else ''}"
        self.query_one("#conversations-hint", Static).update(
            Text(f"{count}{' found' if text.strip() else ''}. {HINT}" if self.found or not text.strip()
                 else f"Nothing matches “{text.strip()}”. {HINT}"))

    def selected(self) -> int | None:
        options = self.query_one(OptionList)
        if options.highlighted is None or not self.found:
            return None
        option = options.get_option_at_index(options.highlighted)
        return int(option.id) if option.id else None

    def action_to_list(self) -> None:
        """↓ from the search field goes into the list (in the list, ↓ moves down it)."""
        self.query_one(OptionList).focus()

    @on(Input.Changed, "#search")
    def _search(self) -> None:
        self.refresh_list()

    @on(Input.Submitted, "#search")
    @on(OptionList.OptionSelected)
    @on(Button.Pressed, "#open")
    def action_open(self) -> None:
        chosen = self.selected()
        if chosen is not None:
            self.dismiss(chosen)

    @on(Button.Pressed, "#close")
    def _close(self) -> None:
        self.dismiss(None)

    def _chosen(self) -> Conversation | None:
        chosen = self.selected()
        return next((c for c in self.found if c.id == chosen), None)

    def _store(self, what: str, change: Callable[[], object], keep: int | None = None) -> bool:
        """Make a change in the store; a failure is a notice. The list follows either way."""
        try:
            change()
        except ShieldRecError as exc:
            self.app.notify(plain(f"Not {what}: {exc}", 300).plain, severity="warning", markup=False)
            return False
        self.refresh_list(keep=keep)
        self.query_one(OptionList).focus()
        return True

    @on(Button.Pressed, "#rename")
    def action_rename(self) -> None:
        conv = self._chosen()
        if conv is None:
            return

        def renamed(title: str | None) -> None:
            if title is not None:
                self._store("renamed", lambda: self.store.conversations.rename(self.profile_id, conv.id, title),
                            keep=conv.id)

        self.app.push_screen(Prompt("Rename this conversation", value=conv.title, button="Rename"), renamed)

    @on(Button.Pressed, "#delete")
    def action_delete(self) -> None:
        conv = self._chosen()
        if conv is None:
            return

        def confirmed(yes: bool | None) -> None:
            if yes and self._store("deleted", lambda: self.store.conversations.delete(self.profile_id, conv.id)):
                self.on_deleted(conv.id)

        self.app.push_screen(Ask(
            "Delete this conversation?",
            f"“{conv.title or '(untitled)'}” and its answers go. What you liked, disliked or blocked in it stays "
            "in your profile. This cannot be undone.", yes="Delete", final=True), confirmed)
