"""The chat's building blocks: result cards, one turn's view, the status line, the function keys."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import TYPE_CHECKING, TypeVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, Input, Static

from shieldrec.sanitize import clean_text
from shieldrec.tui import keys
from shieldrec.tui.safe import plain

if TYPE_CHECKING:
    from shieldrec.agent import Card, Turn

W = TypeVar("W", bound=Widget)
BAR_CELLS = 10
# How a ranking label reads on a card: what it is, and what the shield did about it.
LABELS = {
    "sponsored": ("sponsored — demoted", "bold black on yellow"),
    "native ad?": ("native ad?", "bold black on yellow"),
    "injection attempt": ("injection attempt — demoted", "bold white on red"),
    "hidden codes removed": ("hidden codes removed — demoted", "bold white on red"),
    "keyword stuffing": ("keyword stuffing — demoted", "bold white on red"),
    "new to you": ("new to you", "bold green"),
}
MARKS = {"liked": "♥ liked", "consumed": "✓ finished"}
LATER_MARK = "◷ for later"
DISPUTED = "✗ you said this reason is wrong"


def part(widget: Widget, selector: str, kind: type[W]) -> W | None:
    """One of `widget`'s parts, or None once it is being taken off the screen: a new conversation
    or a deleted profile clears the transcript whenever the user asks, also while an answer is
    still putting its cards up, and the parts of a widget on its way out go first."""
    return next(iter(widget.query(selector).results(kind)), None)


def score_bar(fraction: float, cells: int = BAR_CELLS) -> str:
    fraction = min(1.0, max(0.0, fraction))
    full = round(fraction * cells)
    return "█" * full + "░" * (cells - full)


def label_text(label: str) -> Text:
    text, style = LABELS.get(label, (label, "bold"))
    return plain(f" {text} ", 60, style=style)


def mark_text(card: Card) -> str:
    """The user's own latest word on the item, as the card shows it."""
    if card.mark == "rated" and card.rating is not None:
        return f"★ {card.rating:g}/5"
    return MARKS.get(card.mark, "")


def minutes(value: float) -> str:
    total = round(value)
    return f"{total // 60}h {total % 60:02d}m" if total >= 60 else f"{total} min"


def facts_line(card: Card) -> str:
    """Year · runtime · genres, where the platform sent them."""
    from shieldrec.ranking import facts

    item = card.item
    parts = []
    year = facts.year(item)
    if year:
        parts.append(str(year))
    runtime = facts.runtime_minutes(item)
    if runtime:
        parts.append(minutes(runtime))
    genres = facts.genres(item)
    if genres:
        parts.append(", ".join(genres[:6]))
    return " · ".join(parts)


def credit(card: Card) -> str:
    """Whose text the description is (e.g. a Wikipedia plot), as the platform credits it."""
    value = card.item.meta.get("attribution")
    return value if isinstance(value, str) else ""


class ResultCard(Widget, can_focus=True):
    """One ranked item: its position, then title, score bar, sources, labels and reasons.
    Keys act on it; everything it shows is plain text."""

    BINDINGS = keys.bindings("card")

    class Action(Message):
        """A key pressed on a card, for the chat screen to carry out."""

        def __init__(self, card: ResultCard, action: str, arg: str = "") -> None:
            super().__init__()
            self.card = card
            self.action = action
            self.arg = arg

    def __init__(self, card: Card, turn: Turn, span: tuple[float, float]) -> None:
        super().__init__(classes="card")
        self.card = card
        self.turn = turn
        self.span = span  # the turn's lowest and highest score, for the bar
        self.position = card.rank
        self.expanded = False
        self.compact = False
        self.later = False  # on the watch list
        self.disputed: set[str] = set()  # reasons the user said were wrong

    @property
    def item_id(self) -> str:
        return self.card.item.item_id

    def compose(self) -> ComposeResult:
        yield Static(classes="rank")
        yield Static(classes="body")

    def on_mount(self) -> None:
        self.refresh_card()

    def refresh_card(self) -> None:
        self.set_class(self.compact and not self.expanded, "-compact")
        rank, body = part(self, ".rank", Static), part(self, ".body", Static)
        if rank is None or body is None:
            return
        rank.update(Text(f"{self.position:>2}", style="bold"))
        body.update(self.render_card())

    def render_card(self) -> Text:
        c, item = self.card, self.card.item
        low, high = self.span
        fraction = 1.0 if high - low < 1e-9 else (c.score - low) / (high - low)
        mark = mark_text(c)
        # Once the user has said something about it, "new to you" is no longer true.
        labels = [lab for lab in c.labels if not (lab == "new to you" and (mark or c.mark))]
        out = Text()
        out.append_text(plain(item.title, 160, style="bold"))
        if item.creator:
            out.append("  — ", style="dim")
            out.append_text(plain(item.creator, 80, style="italic"))
        if mark:
            out.append(f"  {mark}", style="bold magenta")
        if self.later:
            out.append(f"  {LATER_MARK}", style="bold cyan")
        sources = ", ".join(item.platforms or ([item.source] if item.source else []))
        if self.compact and not self.expanded:
            out.append(f"  {c.score:+.2f}", style="dim")
            if sources:
                out.append("  ")
                out.append_text(plain(sources, 40, style="dim"))
            for label in labels:
                if label != "new to you":
                    out.append(" ")
                    out.append_text(label_text(label))
            out.no_wrap = True
            out.overflow = "ellipsis"
            return out
        out.append("\n")
        out.append(score_bar(0.1 + 0.9 * fraction), style="cyan")
        out.append(f" {c.score:+.2f}", style="dim")
        if sources:
            out.append("  ")
            out.append_text(plain(sources, 80, style="dim"))
        for label in labels:
            out.append(" ")
            out.append_text(label_text(label))
        if c.reasons:
            out.append("\n")
            for n, reason in enumerate(c.reasons):
                if n:
                    out.append(" · ")
                if reason in self.disputed:
                    out.append_text(plain(reason, 300, style="strike dim"))
                    out.append(f" ({DISPUTED})", style="italic")
                else:
                    out.append_text(plain(reason, 300))
        if self.expanded:
            self._details(out)
        return out

    def _details(self, out: Text) -> None:
        item = self.card.item
        line = facts_line(self.card)
        if line:
            out.append("\n")
            out.append_text(plain(line, 300, style="bold"))
        if item.text:
            out.append("\n")
            out.append_text(plain(item.text, 600, style="dim"))
        who = credit(self.card)
        if who:
            out.append("\n")
            out.append_text(plain(who, 200, style="dim italic"))
        link = self.app.resolve_link(item) if hasattr(self.app, "resolve_link") else item.url
        if link:
            out.append("\n")
            out.append_text(plain(link, 300, style="underline"))

    def _send(self, action: str, arg: str = "") -> None:
        self.post_message(self.Action(self, action, arg))

    def action_like(self) -> None:
        self._send("like")

    def action_dislike(self) -> None:
        self._send("dislike")

    def action_not_now(self) -> None:
        self._send("not_now")

    def action_later(self) -> None:
        self._send("later")

    def action_rate(self, stars: int) -> None:
        self._send("rate", str(stars))

    def action_dispute(self) -> None:
        self._send("dispute")

    def action_block(self, target: str) -> None:
        self._send("block", target)

    def action_open(self) -> None:
        self._send("open")

    def action_copy(self) -> None:
        self._send("copy")

    def action_undo(self) -> None:
        self._send("undo")

    def action_next(self) -> None:
        self._send("next")

    def action_previous(self) -> None:
        self._send("previous")

    def action_show_removed(self) -> None:
        self._send("removed")

    def action_more(self) -> None:
        self._send("more")

    def action_view(self) -> None:
        self._send("view")

    def action_details(self) -> None:
        self.expanded = not self.expanded
        self.refresh_card()


class RemovedButton(Button):
    """"7 removed — show": opens the list of what the shield kept out of this answer."""

    def __init__(self, turn: Turn) -> None:
        super().__init__(self._label(turn), classes="removed", compact=True)
        self.turn = turn

    @staticmethod
    def _label(turn: Turn) -> Text:
        n = len(turn.withheld)
        return Text(f"{n} removed — show" if n else "nothing removed")

    def sync(self) -> None:
        self.label = self._label(self.turn)
        self.disabled = not self.turn.withheld


class MoreButton(Button):
    """"Show 10 more (33 left)": the next page of the same ranking."""

    def __init__(self, turn: Turn) -> None:
        super().__init__(self._label(turn), classes="more", compact=True)
        self.turn = turn

    @staticmethod
    def _label(turn: Turn) -> Text:
        from shieldrec.agent.view import PAGE

        left = turn.remaining
        return Text(f"show {min(PAGE, left)} more ({left} left)" if left else "no more")

    def sync(self) -> None:
        self.label = self._label(self.turn)
        self.display = self.turn.remaining > 0


class TurnView(Vertical):
    """One exchange: the user's words, the agent's answer, its cards and what it kept out.
    Only the cards on screen are mounted; `sync` follows the turn as feedback, paging and
    the view change it."""

    def __init__(self, turn: Turn, *, compact: bool = False) -> None:
        super().__init__(classes="turn")
        self._sync_lock = asyncio.Lock()
        self.turn = turn
        self.compact = compact
        self.later: set[str] = set()
        self.disputed: set[tuple[str, str]] = set()

    @property
    def span(self) -> tuple[float, float]:
        """The score range the bars stretch over: the first page's, so the tail's low scores do not
        flatten the bars of the picks people compare (a lower card shows an almost empty bar)."""
        from shieldrec.agent.view import PAGE

        scores = [c.score for c in self.turn.cards[:PAGE]] or [0.0]
        return min(min(scores), 0.0), max(scores)

    def compose(self) -> ComposeResult:
        t = self.turn
        yield Static(plain(f"› {t.text}", 1000, style="bold"), classes="user")
        yield Static(self.reply(), classes="agent")
        yield Vertical(classes="cards")
        with Horizontal(classes="turn-buttons"):
            yield MoreButton(t)
            yield RemovedButton(t)

    def reply(self) -> Text:
        t = self.turn
        reply = Text(clean_text(t.summary(), 400))
        if t.note:
            reply.append("  ")
            reply.append_text(plain(t.note, 400, style="italic"))
        for line in t.notes:
            reply.append("\n")
            reply.append_text(plain(line, 300, style="italic"))
        if t.refined:
            reply.append("\nRe-ranked with the language model.", style="italic")
        if t.sent:
            reply.append("\n")
            reply.append_text(plain(f"sent to the platforms: “{t.sent}” (nothing else about you)", 400, style="dim"))
        for note in getattr(t, "notes", None) or ():
            reply.append("\n")
            reply.append_text(plain(note, 400, style="italic"))
        for name, error in t.errors.items():
            reply.append("\n")
            reply.append_text(plain(f"⚠ {name}: {error}", 500, style="bold yellow"))
        return reply

    async def on_mount(self) -> None:
        await self.sync()

    def cards(self) -> list[ResultCard]:
        box = part(self, ".cards", Vertical)
        return list(box.query_children(ResultCard)) if box is not None else []

    async def sync(self) -> None:
        """Show the turn as it is now: hidden cards go and the next ones come up, positions close
        up, the counts follow. Cards still shown keep their widget (and the focus). A view taken
        off the screen meanwhile stops here. One sync at a time: two interleaved at their awaits (a sort
        and a filter pressed in quick succession) would each move cards by positions the other changed."""
        async with self._sync_lock:
            await self._sync()

    async def _sync(self) -> None:
        box = part(self, ".cards", Vertical)
        if box is None:
            return
        # One widget per item: cards are placed by their item, so a repeated item would be moved
        # twice and leave a hole where it first stood.
        first: dict[str, Card] = {}
        for c in self.turn.visible:
            first.setdefault(c.item.item_id, c)
        wanted = list(first.values())
        current: dict[str, ResultCard] = {}
        gone: list[ResultCard] = []
        for w in self.cards():
            if w.item_id in first and w.item_id not in current:
                current[w.item_id] = w
            else:
                gone.append(w)
        if gone:
            await box.remove_children(gone)
            if not box.is_attached:
                return
        span = self.span
        for pos, card in enumerate(wanted):
            widget = current.get(card.item.item_id)
            if widget is None:
                widget = ResultCard(card, self.turn, span)
                self._dress(widget, card, pos)
                children = list(box.children)
                await box.mount(widget, before=children[pos] if pos < len(children) else None)
                if not box.is_attached:
                    return
                continue
            children = list(box.children)
            if widget not in children or pos >= len(children):
                return  # the app is taking the view down under this sync (closing, or a new chat)
            if children[pos] is not widget:
                box.move_child(widget, before=children[pos])
            widget.card, widget.turn, widget.span = card, self.turn, span
            self._dress(widget, card, pos)
            widget.refresh_card()
        agent = part(self, ".agent", Static)
        if agent is not None:
            agent.update(self.reply())
        for removed in self.query(RemovedButton):
            removed.sync()
        for more in self.query(MoreButton):
            more.sync()

    def _dress(self, widget: ResultCard, card: Card, pos: int) -> None:
        widget.position = pos + 1
        widget.compact = self.compact
        widget.later = card.item.item_id in self.later
        widget.disputed = {r for (i, r) in self.disputed if i == card.item.item_id}

    async def rebuild(self) -> None:
        """Show the turn's cards again after it was re-ranked; the item in focus keeps the focus."""
        await self.sync()

    def visible_cards(self) -> list[ResultCard]:
        return self.cards()


class StatusLine(Static):
    """What is loading or pending right now, on one line. Activities read from the left; the
    state of the models (loading, in use, stopped) stays on the right, each in its own slot."""

    SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
    MODEL_SLOTS = ("model", "llm")

    def __init__(self) -> None:
        super().__init__("", id="status")
        self.parts: dict[str, str] = {}
        self.busy: set[str] = set()
        self._frame = 0

    def on_mount(self) -> None:
        self.set_interval(0.12, self._tick)

    def set(self, key: str, text: str, *, busy: bool = False) -> None:
        if text:
            self.parts[key] = text
        else:
            self.parts.pop(key, None)
        (self.busy.add if busy and text else self.busy.discard)(key)
        self._draw()

    def _tick(self) -> None:
        if self.busy:
            self._frame = (self._frame + 1) % len(self.SPINNER)
            self._draw()

    def _join(self, keys_: Iterable[str]) -> Text:
        out = Text()
        for n, key in enumerate(keys_):
            if n:
                out.append("  ·  ", style="dim")
            out.append_text(plain(self.parts[key], 200, style="bold" if key in self.busy else ""))
        return out

    def _draw(self) -> None:
        left = Text()
        if self.busy:
            left.append(self.SPINNER[self._frame] + " ", style="bold cyan")
        left.append_text(self._join(k for k in self.parts if k not in self.MODEL_SLOTS))
        right = self._join(k for k in self.MODEL_SLOTS if k in self.parts)
        grid = Table.grid(expand=True)
        grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        grid.add_column(justify="right", no_wrap=True)
        grid.add_row(left, right)
        self.update(grid)


class AskInput(Input):
    """The request line: ↑ and ↓ go through earlier requests, as in a shell; ↓ past the
    newest goes down into the answer's cards."""

    BINDINGS = keys.bindings("input")

    class Leave(Message):
        """↓ with nothing newer to show: the chat moves the focus into the results."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.history: list[str] = []  # oldest first
        self.index: int | None = None  # into `history` while browsing it
        self.draft = ""

    def remember(self, text: str) -> None:
        if text in self.history:
            self.history.remove(text)
        self.history.append(text)
        self.index = None

    def action_history(self, step: int) -> None:
        if self.index is None:
            if step > 0:
                self.post_message(self.Leave())
                return
            if not self.history:
                return
            self.draft = self.value
            self.index = len(self.history) - 1
        else:
            self.index += step
            if self.index < 0:
                self.index = 0
                return
            if self.index >= len(self.history):
                self.index = None
                self.value = self.draft
                self.cursor_position = len(self.value)
                return
        self.value = self.history[self.index]
        self.cursor_position = len(self.value)


class FunctionKeys(Static):
    """F1 Help  F2 Chat  F3 Profile …: every screen's function keys on one line, always shown
    (the footer below it lists what the focused part can do), then the palette and quit keys
    where the width allows. Keys follow config.toml remaps; each name can be clicked."""

    def __init__(self, current: str, keymap: dict[str, str]) -> None:
        super().__init__(id="fkeys")
        self.current = current
        self.keymap = keymap

    def on_mount(self) -> None:
        self.update(self.content())

    def content(self) -> Content:
        by_id = {k.id: k for k in keys.GROUPS["app"][1]}
        parts: list[Content] = []
        for name in keys.SCREENS:
            key = by_id[f"app.{name}"]
            shown = keys.display(keys.effective(key, self.keymap)).split(" / ")[0]
            action = "app.help" if name == "help" else f"app.show('{name}')"
            label = Content.from_markup(f"[@click={action}]$key[/]", key=shown).stylize("reverse")
            word = Content.from_markup(f"[@click={action}]$word[/]", word=f" {key.description} ")
            if name == self.current:
                word = word.stylize("bold underline")
            parts.append(label + word)
        for ident, action, word in (("app.palette", "app.command_palette", "Commands"), ("app.quit", "app.quit", "Quit")):
            shown = keys.display(keys.effective(by_id[ident], self.keymap)).replace("Ctrl+", "^")
            parts.append(Content.from_markup(f"[@click={action}]$k[/]", k=f"{shown} {word}").stylize("dim"))
        return Content(" ").join(parts)
