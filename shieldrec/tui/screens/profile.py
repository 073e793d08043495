"""What the agent believes about its user, in plain words, and every entry editable."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Footer, Header, Input, Label, Select, Static

from shieldrec.errors import InvalidInput, ShieldRecError
from shieldrec.items import EVENTS, PREF_KINDS, PREF_TARGETS, Preference
from shieldrec.tui import keys
from shieldrec.tui.safe import plain
from shieldrec.tui.screens.base import Page, selected_key
from shieldrec.tui.screens.modals import Confirm, Form, Prompt

_KIND_WORDS = {"like": "likes", "avoid": "avoids", "block": "blocks"}
_EVENT_WORDS = {"liked": "liked", "disliked": "disliked", "skipped": "skipped", "consumed": "finished",
                "rated": "rated", "not_now": "not now"}


def belief(p: Preference) -> str:
    """The entry without its evidence: "likes animation", "blocks creator 'X'"."""
    what = p.value if p.target == "topic" else f"{p.target} '{p.value}'"
    return f"{_KIND_WORDS[p.kind]} {what}"


def origin(p: Preference) -> str:
    if p.origin == "learned":
        return f"learned: {p.evidence}" if p.evidence else "learned from your feedback"
    return "you said so"


def summary(prefs: list[Preference]) -> Text:
    """The profile in a few sentences: stated likes, avoids and blocks, then what was learned."""
    out = Text()
    groups = [
        ("You like ", [p for p in prefs if p.kind == "like" and p.origin == "stated"]),
        ("You avoid ", [p for p in prefs if p.kind == "avoid" and p.origin == "stated"]),
        ("You block ", [p for p in prefs if p.kind == "block"]),
    ]
    for head, items in groups:
        if items:
            out.append(head, style="bold")
            out.append_text(plain("; ".join(p.value if p.target == "topic" else f"{p.target} {p.value}"
                                            for p in items), 600))
            out.append(".\n")
    learned = [p for p in prefs if p.origin == "learned"]
    if learned:
        out.append("Learned from your feedback: ", style="bold")
        out.append_text(plain("; ".join(f"{belief(p)} ({p.evidence})" if p.evidence else belief(p)
                                        for p in learned), 900))
        out.append(".")
    else:
        out.append("Nothing learned yet: like or dislike a few results and it shows up here.", style="dim")
    return out


class ProfileScreen(Page):
    BINDINGS = keys.bindings("profile")

    def compose(self) -> ComposeResult:
        yield Header(icon="◆")
        with VerticalScroll(id="profile-body"):
            yield Static(id="profile-head")
            yield Label(Text("What ShieldRec believes about you (a add · e edit · x delete)"), classes="section")
            yield DataTable(id="prefs", cursor_type="row", zebra_stripes=True)
            yield Label(Text("History (e edit · x delete)"), classes="section")
            yield DataTable(id="history", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"profile · {self.profile.name}"
        prefs = self.query_one("#prefs", DataTable)
        prefs.add_columns("belief", "weight", "where it came from")
        history = self.query_one("#history", DataTable)
        history.add_columns("when", "what", "title", "by / from")
        self.action_reload()
        prefs.focus()

    def action_reload(self) -> None:
        prefs = self.store.preferences(self.profile)
        head = Text()
        head.append(f"{self.profile.name}", style="bold")
        if self.profile.about:
            head.append(" — ")
            head.append_text(plain(self.profile.about, 600))
        head.append("\n")
        head.append_text(summary(prefs))
        head.append("\nIt stays on this machine; platforms only ever see the public words of a request.", style="dim")
        self.query_one("#profile-head", Static).update(head)

        table = self.query_one("#prefs", DataTable)
        row = table.cursor_row
        table.clear()
        for p in prefs:
            table.add_row(plain(belief(p), 300), Text(f"{p.weight:g}"), plain(origin(p), 500), key=f"p:{p.id}")
        table.move_cursor(row=min(row, max(0, table.row_count - 1)))

        table = self.query_one("#history", DataTable)
        row = table.cursor_row
        table.clear()
        for ev in reversed(self.store.history(self.profile)):
            what = _EVENT_WORDS.get(ev.event, ev.event) + (f" {ev.rating:g}" if ev.rating is not None else "")
            when = datetime.datetime.fromtimestamp(ev.at).strftime("%Y-%m-%d")
            by = ev.item.creator or ", ".join(ev.item.platforms) or ev.item.source
            table.add_row(Text(when), Text(what), plain(ev.item.title, 200), plain(by, 100), key=f"h:{ev.id}")
        table.move_cursor(row=min(row, max(0, table.row_count - 1)))

    def _focused_table(self) -> DataTable:
        focused = self.app.focused
        return focused if isinstance(focused, DataTable) else self.query_one("#prefs", DataTable)

    def _selected(self) -> tuple[str, int] | None:
        key = selected_key(self._focused_table())
        if not key:
            return None
        kind, _, ident = key.partition(":")
        return kind, int(ident)

    # -- preferences ----------------------------------------------------------------------

    def _pref_form(self, title: str, current: Preference | None) -> Form:
        def check(values: dict[str, Any]) -> Preference:
            try:
                weight = float(values["weight"])
            except ValueError:
                raise InvalidInput("the weight must be a number between 0 and 10") from None
            return Preference.from_untrusted({"kind": values["kind"], "target": values["target"],
                                              "value": values["value"], "weight": weight, "origin": "stated"})

        c = current or Preference(kind="like", target="topic", value="")
        fields = [
            ("kind", "Kind", Select([(k, k) for k in PREF_KINDS], value=c.kind, allow_blank=False, compact=True)),
            ("target", "About a", Select([(t, t) for t in PREF_TARGETS], value=c.target, allow_blank=False,
                                         compact=True)),
            ("value", "Value (a topic, or the creator's / source's name)", Input(c.value, compact=True)),
            ("weight", "Weight (0-10; 1 is usual)", Input(f"{c.weight:g}", compact=True)),
        ]
        body = "An edited learned entry becomes your own statement." if current and current.origin == "learned" else ""
        return Form(title, fields, check, body=body)

    def action_add(self) -> None:
        def added(pref: Preference | None) -> None:
            if pref is not None:
                self.store.add_preference(self.profile, pref)
                self._changed(f"Added: {pref.describe()}.")

        self.app.push_screen(self._pref_form("Add to your profile", None), added)

    def action_edit(self) -> None:
        selected = self._selected()
        if selected is None:
            return
        kind, ident = selected
        if kind == "h":
            self._edit_event(ident)
            return
        current = next((p for p in self.store.preferences(self.profile) if p.id == ident), None)
        if current is None:
            return

        def edited(pref: Preference | None) -> None:
            if pref is None:
                return
            try:
                self.store.update_preference(self.profile, ident, kind=pref.kind, target=pref.target,
                                             value=pref.value, weight=pref.weight, origin="stated")
            except ShieldRecError as exc:
                self.app.tell(f"Not saved: {exc}", "error")
                return
            self._changed(f"Saved: {pref.describe()}.")

        self.app.push_screen(self._pref_form("Edit this belief", current), edited)

    def _edit_event(self, ident: int) -> None:
        from shieldrec.items import HistoryEvent
        from shieldrec.store.db import tx

        ev = next((e for e in self.store.history(self.profile) if e.id == ident), None)
        if ev is None:
            return

        def check(values: dict[str, Any]) -> tuple[str, float | None]:
            rating_text = str(values["rating"]).strip()
            try:
                rating = float(rating_text) if rating_text else None
            except ValueError:
                raise InvalidInput("the rating must be a number (or empty)") from None
            if values["event"] == "rated" and rating is None:
                raise InvalidInput("a 'rated' entry needs a rating")
            return values["event"], rating

        def edited(result: tuple[str, float | None] | None) -> None:
            if result is None:
                return
            event, rating = result
            with tx(self.store.db):
                self.store.remove_event(self.profile, ident)
                self.store.add_event(self.profile, HistoryEvent(item=ev.item, event=event, rating=rating,
                                                                instruction=ev.instruction, at=ev.at))
            self._changed(f"Saved: {_EVENT_WORDS.get(event, event)} '{ev.item.title}'.")

        fields = [
            ("event", "What happened", Select([(e, e) for e in EVENTS], value=ev.event, allow_blank=False,
                                              compact=True)),
            ("rating", "Rating (for 'rated'; empty otherwise)",
             Input("" if ev.rating is None else f"{ev.rating:g}", compact=True)),
        ]
        self.app.push_screen(Form(f"Edit: {ev.item.title}", fields, check), edited)

    def action_delete(self) -> None:
        selected = self._selected()
        if selected is None:
            return
        kind, ident = selected
        try:
            if kind == "p":
                pref = next(p for p in self.store.preferences(self.profile) if p.id == ident)
                self.store.remove_preference(self.profile, ident)
                self._changed(f"Deleted: {pref.describe()}.")
            else:
                ev = next(e for e in self.store.history(self.profile) if e.id == ident)
                self.store.remove_event(self.profile, ident)
                self._changed(f"Deleted from history: '{ev.item.title}'.")
        except (StopIteration, ShieldRecError) as exc:
            self.app.tell(f"Not deleted: {exc or 'it is gone already'}", "warning")

    def _changed(self, message: str) -> None:
        self.action_reload()
        self.session.refresh()
        self.app.chat.sync()
        self.app.tell(message)

    # -- export and forget ----------------------------------------------------------------

    def action_export(self) -> None:
        default = str(Path.cwd() / f"shieldrec-{self.profile.name}.json")

        def chosen(path: str | None) -> None:
            if not path or not path.strip():
                return
            from shieldrec.cli.common import atomic_output

            target = Path(path.strip()).expanduser()
            try:
                doc = self.store.export_profile(self.profile.name)
                with atomic_output(str(target)) as fh:
                    json.dump(doc, fh, ensure_ascii=False, indent=2)
                    fh.write("\n")
            except (OSError, ShieldRecError) as exc:
                self.app.tell(f"Not exported: {getattr(exc, 'strerror', None) or exc}. Choose another place.",
                              "error")
                return
            self.app.tell(f"Exported to {target}: {len(doc['preferences'])} beliefs, {len(doc['history'])} history "
                          "entries, your conversations. It is your private profile: keep the file safe.")

        self.app.push_screen(Prompt("Export this profile", "To a JSON file (re-import it with `shieldrec profile "
                                    "import`).", default, button="Export"), chosen)

    def action_forget(self) -> None:
        name = self.profile.name

        def confirmed(yes: bool | None) -> None:
            if not yes:
                return
            try:
                self.store.forget(name)
            except ShieldRecError as exc:
                self.app.tell(f"Not forgotten: {exc}", "error")
                return
            if self.app.settings.profile == name:
                self.app.settings.profile = ""
                self.app.save_settings(quiet=True)
            self.app.forgotten()
            self.app.tell(f"Profile '{name}' and everything in it is gone from this machine.")

        self.app.push_screen(Confirm(
            f"Forget the profile '{name}'?",
            "This deletes every belief, the whole history, the saved conversations, platform settings and the "
            "request log of this profile, and wipes them from the database file. It cannot be undone. "
            "(Tokens in the system keyring stay until you remove them on the Platforms screen.)",
            name, button="Forget everything"), confirmed)
