"""The chat's building blocks: result cards, one turn's view, the status line."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, Static

from shieldrec.sanitize import clean_text
from shieldrec.tui import keys
from shieldrec.tui.safe import plain

if TYPE_CHECKING:
    from shieldrec.agent import Card, Turn

BAR_CELLS = 10
# How a ranking label reads on a card: what it is, and what the shield did about it.
LABELS = {
    "sponsored": ("sponsored — demoted", "bold black on yellow"),
    "native ad?": ("native ad?", "bold black on yellow"),
    "injection attempt": ("injection attempt — demoted", "bold white on red"),
    "hidden codes removed": ("hidden codes removed — demoted", "bold white on red"),
    "new to you": ("new to you", "bold green"),
}
MARKS = {"liked": "♥ liked", "rated": "★ rated", "consumed": "✓ finished"}


def score_bar(fraction: float, cells: int = BAR_CELLS) -> str:
    fraction = min(1.0, max(0.0, fraction))
    full = round(fraction * cells)
    return "█" * full + "░" * (cells - full)


def label_text(label: str) -> Text:
    text, style = LABELS.get(label, (label, "bold"))
    return plain(f" {text} ", 60, style=style)


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

    @property
    def item_id(self) -> str:
        return self.card.item.item_id

    def compose(self) -> ComposeResult:
        yield Static(classes="rank")
        yield Static(classes="body")

    def on_mount(self) -> None:
        self.refresh_card()

    def refresh_card(self) -> None:
        self.display = not self.card.hidden
        self.query_one(".rank", Static).update(Text(f"{self.position:>2}", style="bold"))
        self.query_one(".body", Static).update(self._render_card())

    def _render_card(self) -> Text:
        c, item = self.card, self.card.item
        low, high = self.span
        fraction = 1.0 if high - low < 1e-9 else (c.score - low) / (high - low)
        out = Text()
        out.append_text(plain(item.title, 160, style="bold"))
        if item.creator:
            out.append("  — ", style="dim")
            out.append_text(plain(item.creator, 80, style="italic"))
        if c.mark in MARKS:
            out.append(f"  {MARKS[c.mark]}", style="bold magenta")
        out.append("\n")
        out.append(score_bar(0.1 + 0.9 * fraction), style="cyan")
        out.append(f" {c.score:+.2f}", style="dim")
        sources = ", ".join(item.platforms or ([item.source] if item.source else []))
        if sources:
            out.append("  ")
            out.append_text(plain(sources, 80, style="dim"))
        for label in c.labels:
            out.append(" ")
            out.append_text(label_text(label))
        if c.reasons:
            out.append("\n")
            out.append_text(plain(" · ".join(c.reasons), 400))
        if self.expanded:
            if item.text:
                out.append("\n")
                out.append_text(plain(item.text, 600, style="dim"))
            if item.url:
                out.append("\n")
                out.append_text(plain(item.url, 300, style="underline"))
        return out

    def _send(self, action: str, arg: str = "") -> None:
        self.post_message(self.Action(self, action, arg))

    def action_like(self) -> None:
        self._send("like")

    def action_dislike(self) -> None:
        self._send("dislike")

    def action_not_now(self) -> None:
        self._send("not_now")

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


class TurnView(Vertical):
    """One exchange: the user's words, the agent's answer, its cards and what it kept out."""

    def __init__(self, turn: Turn) -> None:
        super().__init__(classes="turn")
        self.turn = turn

    def compose(self) -> ComposeResult:
        t = self.turn
        yield Static(plain(f"› {t.text}", 1000, style="bold"), classes="user")
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
        for name, error in t.errors.items():
            reply.append("\n")
            reply.append_text(plain(f"⚠ {name}: {error}", 500, style="bold yellow"))
        yield Static(reply, classes="agent")
        scores = [c.score for c in t.cards] or [0.0]
        span = (min(min(scores), 0.0), max(scores))
        for card in t.cards:
            yield ResultCard(card, t, span)
        yield RemovedButton(t)

    def on_mount(self) -> None:
        self.sync()

    def sync(self) -> None:
        """Follow the turn's state: hidden cards go, positions close up, the removed count grows."""
        position = 0
        for card in self.query(ResultCard):
            if not card.card.hidden:
                position += 1
                card.position = position
            card.refresh_card()
        self.query_one(RemovedButton).sync()

    async def rebuild(self) -> None:
        """Show the turn's cards again after it was re-ranked; the item in focus keeps the focus."""
        focused = self.app.focused
        item_id = focused.item_id if isinstance(focused, ResultCard) and focused.turn is self.turn else None
        await self.recompose()
        self.sync()
        for card in self.visible_cards():
            if card.item_id == item_id:
                card.focus()

    def visible_cards(self) -> list[ResultCard]:
        return [c for c in self.query(ResultCard) if not c.card.hidden]


class StatusLine(Static):
    """What is loading or pending right now, on one line."""

    SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"

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

    def _draw(self) -> None:
        out = Text()
        if self.busy:
            out.append(self.SPINNER[self._frame] + " ", style="bold cyan")
        for n, (key, text) in enumerate(self.parts.items()):
            if n:
                out.append("  ·  ", style="dim")
            out.append_text(plain(text, 200, style="bold" if key in self.busy else ""))
        self.update(out)
