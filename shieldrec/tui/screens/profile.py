"""What the agent believes about its user, in plain words, and every entry editable.

The head of the screen is a list of sections, each a function of the store and profile
(`SECTIONS`): what the user said, what the memory learned, what it noticed but does not
believe yet, the feedback so far. A new kind of knowledge (interest facets, say) is one
more function in that list.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Header, Label, Select, Static

from shieldrec.errors import InvalidInput, ShieldRecError
from shieldrec.items import EVENTS, PREF_KINDS, PREF_TARGETS, HistoryEvent, Preference
from shieldrec.store import Profile, Store
from shieldrec.tui import keys
from shieldrec.tui.safe import plain
from shieldrec.tui.screens.base import Page, selected_key
from shieldrec.tui.screens.modals import Ask, Confirm, Form, Prompt, field_input

_KIND_WORDS = {"like": "likes", "avoid": "avoids", "block": "blocks"}
NOTICED_SHOWN = 4
_EVENT_WORDS = {"liked": "liked", "disliked": "disliked", "skipped": "skipped", "consumed": "finished",
                "rated": "rated", "not_now": "not now"}


def belief(p: Preference) -> str:
    """The entry without its evidence, always naming what it is about: "blocks topic 'Short Film'"."""
    return f"{_KIND_WORDS[p.kind]} {p.target} '{p.value}'"


def origin(p: Preference) -> str:
    if p.origin == "learned":
        return f"learned: {p.evidence}" if p.evidence else "learned from your feedback"
    return "you said so"


def _list(prefs: list[Preference]) -> str:
    return "; ".join(f"{p.target} '{p.value}'" for p in prefs)


# -- the sections of the summary --------------------------------------------------------------

Section = Callable[[Store, Profile, "Facts"], "Text | None"]


@dataclass
class Facts:
    """What the sections read, loaded once per refresh."""

    prefs: list[Preference]
    history: list[HistoryEvent]


def stated(store: Store, profile: Profile, facts: Facts) -> Text | None:
    out = Text()
    for kind, head in (("like", "You like "), ("avoid", "You avoid "), ("block", "You block ")):
        chosen = [p for p in facts.prefs if p.kind == kind and (p.origin == "stated" or kind == "block")]
        if chosen:
            out.append(head, style="bold")
            out.append_text(plain(_list(chosen), 800))
            out.append(".\n")
    out.rstrip()
    return out or None


def learned(store: Store, profile: Profile, facts: Facts) -> Text | None:
    chosen = [p for p in facts.prefs if p.origin == "learned" and p.kind != "block"]
    if not chosen:
        return None
    out = Text("Learned from your feedback: ", style="bold")
    out.append_text(plain("; ".join(f"{belief(p)} ({p.evidence})" if p.evidence else belief(p) for p in chosen),
                          1200))
    out.append(".")
    return out


def noticed(store: Store, profile: Profile, facts: Facts) -> Text | None:
    """What the memory has seen in the feedback but does not hold as a belief (yet)."""
    from shieldrec.agent.memory import pending

    tallies = pending(facts.history, facts.prefs)
    if not tallies:
        return None
    out = Text("Noticed, not yet a belief: ", style="bold")
    parts = []
    for t in tallies[:NOTICED_SHOWN]:
        counts = ", ".join(x for x in (f"liked {t.liked}" if t.liked else "", f"disliked {t.disliked}"
                                       if t.disliked else "") if x)
        parts.append(f"{t.target} '{t.value}' ({counts})")
    out.append_text(plain("; ".join(parts), 1200))
    if len(tallies) > NOTICED_SHOWN:
        out.append(f" and {len(tallies) - NOTICED_SHOWN} more")
    needs = tallies[0].needs()
    out.append(f". For '{tallies[0].value}': {needs}.", style="dim")
    return out


def feedback(store: Store, profile: Profile, facts: Facts) -> Text | None:
    """The feedback given so far, counted: nothing says "nothing learned" when something was said."""
    from shieldrec.agent.shield import NOT_NOW_DAYS

    counts: dict[str, int] = {}
    for ev in facts.history:
        counts[ev.event] = counts.get(ev.event, 0) + 1
    parts = []
    for event, word in (("liked", "liked"), ("disliked", "disliked"), ("rated", "rated"), ("consumed", "finished"),
                        ("skipped", "skipped"), ("not_now", "not now")):
        if counts.get(event):
            parts.append(f"{word} {counts[event]}")
    blocks = sum(1 for p in facts.prefs if p.kind == "block")
    if blocks:
        parts.append(f"{blocks} block{'s' if blocks != 1 else ''}")
    later = len(store.later.list(profile.id))
    if later:
        parts.append(f"{later} kept for later")
    disputed = len(store.disputes.list(profile.id))
    if disputed:
        parts.append(f"{disputed} reason{'s' if disputed != 1 else ''} marked wrong")
    if not parts:
        return Text("No feedback yet: like, dislike or rate a few results (l, d, 1–5) and it shows up here.",
                    style="dim")
    out = Text("Your feedback so far: ", style="bold")
    out.append(", ".join(parts) + ".")
    if counts.get("not_now"):
        out.append(f" Not-now items stay out of answers for {NOT_NOW_DAYS:g} days.", style="dim")
    return out


def interests(store: Store, profile: Profile, facts: Facts) -> Text | None:
    """The interest facets, in plain words (the table below lists each, to pin or delete)."""
    from shieldrec.learning.facets import describe

    facets = store.learned.facets(profile.id)
    if not facets:
        return None
    out = Text("Interests it learned: ", style="bold")
    out.append_text(plain("; ".join(describe(f) for f in facets[:NOTICED_SHOWN]), 1600))
    if len(facets) > NOTICED_SHOWN:
        out.append(f" and {len(facets) - NOTICED_SHOWN} more (below)")
    out.append(".")
    return out


def ranking_model(store: Store, profile: Profile, facts: Facts) -> Text | None:
    """What the personal ranking model learned, from which events, and how much it weighs."""
    from shieldrec.learning.examples import gain
    from shieldrec.learning.words import model_lines, newest_taught

    events = sum(1 for ev in facts.history if gain(ev) is not None)
    model = store.learned.model(profile.id)
    lines = model_lines(model, events, newest_taught(facts.history, model))
    out = Text()
    head, _, rest = lines[0].partition(": ")
    out.append(head + ": ", style="bold")
    out.append_text(plain(" ".join([rest, *lines[1:]]), 1600))
    return out


SECTIONS: list[Section] = [stated, learned, interests, ranking_model, noticed, feedback]


def summary(store: Store, profile: Profile) -> Text:
    facts = Facts(store.preferences(profile), store.history(profile))
    parts = [t for section in SECTIONS if (t := section(store, profile, facts)) is not None and t.plain]
    return Text("\n").join(parts)


class ProfileScreen(Page):
    BINDINGS = keys.bindings("profile")
    NAME = "profile"
    AUTO_FOCUS = ""  # on_mount focuses the beliefs without scrolling the summary away

    def __init__(self) -> None:
        super().__init__()
        self.undo_stack: list[tuple[str, Callable[[], object]]] = []  # (what was deleted, how to restore it)

    def compose(self) -> ComposeResult:
        yield Header(icon="◆")
        with VerticalScroll(id="profile-body", can_focus=False):
            yield Static(id="profile-head")
            yield Label(Text("What ShieldRec believes about you (a add · e edit · x delete)"), classes="section")
            yield DataTable(id="prefs", cursor_type="row", zebra_stripes=True)
            yield Label(Text("Interests it learned from your feedback (p pin · x delete · Ctrl+R resets all it "
                             "learned)"), classes="section")
            yield DataTable(id="facets", cursor_type="row", zebra_stripes=True)
            yield Label(Text("Kept for later (w on a result keeps it; x here removes it)"), classes="section")
            yield DataTable(id="later", cursor_type="row", zebra_stripes=True)
            yield Label(Text("Reasons you said were wrong (x on a result; x here takes it back)"),
                        classes="section")
            yield DataTable(id="disputes", cursor_type="row", zebra_stripes=True)
            yield Label(Text("History (e edit · x delete · Ctrl+Z undoes a delete)"), classes="section")
            yield DataTable(id="history", cursor_type="row", zebra_stripes=True)
        yield from self.bottom()

    def on_mount(self) -> None:
        self.sub_title = f"profile · {self.profile.name}"
        self.query_one("#prefs", DataTable).add_columns("belief", "weight", "where it came from")
        self.query_one("#facets", DataTable).add_columns("interest", "strength", "from your feedback on")
        self.query_one("#later", DataTable).add_columns("kept", "title", "by / from")
        self.query_one("#disputes", DataTable).add_columns("when", "title", "the reason you disputed")
        self.query_one("#history", DataTable).add_columns("when", "what", "title", "by / from")
        self.action_reload()
        # The summary at the top stays in view; the beliefs table takes the keys.
        self.query_one("#prefs", DataTable).focus(scroll_visible=False)

    @staticmethod
    def _fill(table: DataTable, rows: list[tuple[str, list[Text]]], *, hide_empty: bool = False) -> None:
        row = table.cursor_row
        table.clear()
        for key, cells in rows:
            table.add_row(*cells, key=key)
        table.move_cursor(row=min(row, max(0, table.row_count - 1)), scroll=False)
        if hide_empty:
            table.display = bool(rows)

    def action_reload(self) -> None:
        head = Text()
        head.append(f"{self.profile.name}", style="bold")
        if self.profile.about:
            head.append(" — ")
            head.append_text(plain(self.profile.about, 600))
        head.append("\n")
        head.append_text(summary(self.store, self.profile))
        head.append("\nIt stays on this machine; platforms only ever see the public words of a request.", style="dim")
        self.query_one("#profile-head", Static).update(head)

        def day(at: float) -> Text:
            return Text(datetime.datetime.fromtimestamp(at).strftime("%Y-%m-%d"))

        self._fill(self.query_one("#prefs", DataTable), [
            (f"p:{p.id}", [plain(belief(p), 300), Text(f"{p.weight:g}"), plain(origin(p), 500)])
            for p in self.store.preferences(self.profile)])
        self._fill(self.query_one("#facets", DataTable), [
            (f"f:{f.id}", [plain(f"{'likes' if f.kind == 'like' else 'dislikes'} {f.label}"
                                 + (" (pinned)" if f.pinned else ""), 200),
                           Text(f"{f.strength:.1f}"), plain(", ".join(f"'{t}'" for _, t in f.items[:4]), 300)])
            for f in self.store.learned.facets(self.profile.id)], hide_empty=True)
        self._fill(self.query_one("#later", DataTable), [
            (f"l:{e.id}", [day(e.added_at), plain(e.item.title, 200),
                           plain(e.item.creator or ", ".join(e.item.platforms) or e.item.source, 100)])
            for e in self.store.later.list(self.profile.id)], hide_empty=True)
        self._fill(self.query_one("#disputes", DataTable), [
            (f"r:{d.id}", [day(d.at), plain(d.title, 120), plain(d.reason, 300)])
            for d in self.store.disputes.list(self.profile.id)], hide_empty=True)
        rows = []
        for ev in reversed(self.store.history(self.profile)):
            what = _EVENT_WORDS.get(ev.event, ev.event) + (f" {ev.rating:g}" if ev.rating is not None else "")
            by = ev.item.creator or ", ".join(ev.item.platforms) or ev.item.source
            rows.append((f"h:{ev.id}", [day(ev.at), Text(what), plain(ev.item.title, 200), plain(by, 100)]))
        self._fill(self.query_one("#history", DataTable), rows)

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
            ("value", "Value (a topic, or the creator's / source's name)", field_input(c.value)),
            ("weight", "Weight (0-10; 1 is usual)", field_input(f"{c.weight:g}")),
        ]
        body = "An edited learned entry becomes your own statement." if current and current.origin == "learned" else ""
        return Form(title, fields, check, body=body)

    def action_add(self) -> None:
        def added(pref: Preference | None) -> None:
            if pref is not None:
                self.store.add_preference(self.profile, pref)
                self._changed(f"Added: {belief(pref)}.")

        self.app.push_screen(self._pref_form("Add to your profile", None), added)

    def action_edit(self) -> None:
        selected = self._selected()
        if selected is None:
            return
        kind, ident = selected
        if kind == "h":
            self._edit_event(ident)
            return
        if kind != "p":
            self.app.tell("Only beliefs and history entries can be edited; x removes this one.")
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
            self._changed(f"Saved: {belief(pref)}.")

        self.app.push_screen(self._pref_form("Edit this belief", current), edited)

    def _edit_event(self, ident: int) -> None:
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
             field_input("" if ev.rating is None else f"{ev.rating:g}")),
        ]
        self.app.push_screen(Form(f"Edit: {ev.item.title}", fields, check), edited)

    # -- deleting, with a question first and an undo after ---------------------------------

    def _deletion(self, kind: str, ident: int) -> tuple[str, Callable[[], object], Callable[[], object]] | None:
        """(what it is, how to delete it, how to put it back) for the selected row."""
        store, profile = self.store, self.profile
        if kind == "p":
            pref = next((p for p in store.preferences(profile) if p.id == ident), None)
            if pref is None:
                return None
            return (f"the belief “{belief(pref)}”", lambda: store.remove_preference(profile, ident),
                    lambda: store.add_preference(profile, pref))
        if kind == "h":
            ev = next((e for e in store.history(profile) if e.id == ident), None)
            if ev is None:
                return None
            what = _EVENT_WORDS.get(ev.event, ev.event)
            return (f"“{what} '{ev.item.title}'” from your history", lambda: store.remove_event(profile, ident),
                    lambda: store.add_event(profile, ev))
        if kind == "f":
            facet = next((f for f in store.learned.facets(profile.id) if f.id == ident), None)
            if facet is None:
                return None
            before = store.learned.choices(profile.id).get(facet.key, (None, ""))[0]
            return (f"the interest “{facet.label}”", lambda: store.learned.choose(profile.id, facet.key, "deleted",
                                                                                   facet.label),
                    lambda: store.learned.choose(profile.id, facet.key, before, facet.label))
        if kind == "l":
            entry = next((e for e in store.later.list(profile.id) if e.id == ident), None)
            if entry is None:
                return None
            return (f"'{entry.item.title}' from your watch list", lambda: store.later.remove(profile.id, ident),
                    lambda: store.later.add(profile.id, entry))
        dispute = next((d for d in store.disputes.list(profile.id) if d.id == ident), None)
        if dispute is None:
            return None
        return (f"your note that “{dispute.reason}” is wrong", lambda: store.disputes.remove(profile.id, ident),
                lambda: store.disputes.add(profile.id, dispute))

    def action_delete(self) -> None:
        selected = self._selected()
        if selected is None:
            return
        found = self._deletion(*selected)
        if found is None:
            self.app.tell("Not deleted: it is gone already.", "warning")
            return
        what, delete, restore = found

        def confirmed(yes: bool | None) -> None:
            if not yes:
                return
            try:
                delete()
            except ShieldRecError as exc:
                self.app.tell(f"Not deleted: {exc}", "warning")
                return
            self.undo_stack.append((what, restore))
            if selected[0] == "h":  # the history changed: what was learned from it is updated
                self.session.learner.schedule(self.profile)
            self._changed(f"Deleted {what}. Ctrl+Z puts it back.")

        self.app.push_screen(Ask(f"Delete {what}?", "Ctrl+Z on this screen puts it back.", yes="Delete"), confirmed)

    def action_undo(self) -> None:
        if not self.undo_stack:
            self.app.tell("Nothing to undo on this screen.")
            return
        what, restore = self.undo_stack.pop()
        try:
            restore()
        except ShieldRecError as exc:
            self.app.tell(f"Could not put it back: {exc}", "error")
            return
        self._changed(f"Put back {what}.")

    # -- what was learned: pin a facet, reset it all ----------------------------------------

    def action_pin(self) -> None:
        selected = self._selected()
        if selected is None or selected[0] != "f":
            self.app.tell("p pins an interest: choose one in the interests table first.")
            return
        facet = next((f for f in self.store.learned.facets(self.profile.id) if f.id == selected[1]), None)
        if facet is None:
            return
        self.store.learned.choose(self.profile.id, facet.key, None if facet.pinned else "pinned", facet.label)
        self.action_reload()
        self.session.personal.reload()
        self.app.tell(f"{'Unpinned' if facet.pinned else 'Pinned'}: {facet.label}."
                      + ("" if facet.pinned else " It stays, at full weight, whatever later feedback says."))

    def action_reset_learned(self) -> None:
        from shieldrec.learning import reset

        def confirmed(yes: bool | None) -> None:
            if not yes:
                return
            try:
                dropped = reset(self.store, self.profile)
            except ShieldRecError as exc:
                self.app.tell(f"Not reset: {exc}", "error")
                return
            self.session.personal.reload()
            self._changed(f"Reset what was learned ({dropped}); what you stated and your history stay.")

        self.app.push_screen(Ask(
            "Reset what ShieldRec learned about you?",
            "The personal ranking model, the interests and the learned likes and avoids go, and only feedback "
            "from now on teaches it again. What you stated and your history stay. This cannot be undone.",
            yes="Reset"), confirmed)

    def _changed(self, message: str) -> None:
        self.action_reload()
        self.session.refresh()
        self.session.personal.reload()
        self.app.chat.run_worker(self.app.chat.sync(), group="sync")
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
                          "entries, your conversations and watch list. It is your private profile: keep the file safe.")

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
            "This deletes every belief, the whole history, the saved conversations, the watch list, platform "
            "settings and the request log of this profile, and wipes them from the database file. It cannot be "
            "undone. (Tokens in the system keyring stay until you remove them on the Platforms screen.)",
            name, button="Forget everything"), confirmed)
