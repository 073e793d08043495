"""The chat: type what you want, get ranked cards, teach the agent from the keyboard."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Static

from shieldrec.errors import ShieldRecError
from shieldrec.tui import keys
from shieldrec.tui.safe import plain
from shieldrec.tui.screens.modals import Choose, Removed
from shieldrec.tui.widgets import RemovedButton, ResultCard, StatusLine, TurnView

if TYPE_CHECKING:
    from shieldrec.agent import AgentSession, Feedback, Turn
    from shieldrec.tui.app import ShieldRecApp

EXAMPLE = "something hopeful, no horror"


class ChatScreen(Screen[None]):
    BINDINGS = keys.bindings("chat")
    app: ShieldRecApp

    def __init__(self) -> None:
        super().__init__(id="chat")
        self.pending: str | None = None  # typed before the profile was open; asked once it is

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="◆")
        yield StatusLine()
        with VerticalScroll(id="transcript"):
            yield Static(Text("Opening your profile…"), id="welcome")
        yield Input(placeholder=f"Tell ShieldRec what you want, e.g. “{EXAMPLE}”   (F1: help)", id="ask")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#ask", Input).focus()

    # -- state from the app ---------------------------------------------------------------

    @property
    def session(self) -> AgentSession | None:
        return self.app.session

    @property
    def status(self) -> StatusLine:
        return self.query_one(StatusLine)

    def welcome(self, text: Text) -> None:
        self.query_one("#welcome", Static).update(text)

    def session_ready(self) -> None:
        session = self.session
        assert session is not None
        name = session.profile.name
        text = Text()
        text.append(f"Hello, {name}. ", style="bold")
        text.append("Tell me what you are in the mood for, in your own words. I ask the platforms for public "
                    "keywords only and re-rank what they send here, with your private profile.\n")
        text.append("Follow up with “more like the second one”, “no, shorter” or “only books”. "
                    "↓ moves to the results; l d n b t s o act on the one in focus; F1 lists every key.", style="dim")
        latest = session.store.conversations.latest(session.profile.id)
        if latest is not None and not session.turns:
            when = datetime.datetime.fromtimestamp(latest.updated_at).strftime("%b %d")
            text.append("\nLast conversation: ", style="dim")
            text.append_text(plain(f"“{latest.title}” ({when})", 120, style="dim italic"))
            text.append(" — Ctrl+R to resume it.", style="dim")
        self.welcome(text)
        self.query_one("#ask", Input).disabled = False
        if self.pending:
            text, self.pending = self.pending, None
            self.ask(text)

    def no_session(self, message: str) -> None:
        self.welcome(plain(message, 2000, multiline=True))

    # -- asking ---------------------------------------------------------------------------

    @on(Input.Submitted, "#ask")
    def _submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            return
        event.input.value = ""
        if self.session is None:
            if self.app.opening:
                self.pending = text
                self.status.set("pending", "will search once your profile is open", busy=True)
            else:
                self.app.tell("No profile is open; see the message above for how to set one up.", "warning")
            return
        self.ask(text)

    def _focused_item(self) -> str | None:
        focused = self.app.focused
        return focused.item_id if isinstance(focused, ResultCard) else None

    @work(exclusive=True, group="ask")
    async def ask(self, text: str) -> None:
        session = self.session
        if session is None:
            return
        status = self.status
        status.set("pending", "")
        status.set("ask", "asking the platforms", busy=True)
        try:
            turn = await session.ask(text, on_status=self._progress, focused=self._focused_item())
        except ShieldRecError as exc:
            self.app.tell(f"That did not work: {exc}", "error")
            return
        except Exception as exc:  # noqa: BLE001 - never a traceback on screen
            self.app.log.error(f"ask failed: {exc!r}")
            self.app.tell(f"Something went wrong while searching ({type(exc).__name__}: {exc}). "
                          "Try again; if it persists, check the Platforms screen (F4).", "error")
            return
        finally:
            for key in list(status.parts):
                if key.startswith("p:") or key in ("ask", "rank"):
                    status.set(key, "")
        view = await self.show_turn(turn)
        for name, error in turn.errors.items():
            self.app.tell(f"{name} did not answer: {error}. Showing what the other platforms sent; "
                          "check it on the Platforms screen (F4).", "warning", timeout=8)
        if not turn.counts and not turn.errors:
            self.app.tell("No platform is switched on: add or enable one on the Platforms screen (F4).", "warning")
        if session.can_refine(turn):
            await self._refine(session, view)

    async def _refine(self, session: AgentSession, view: TurnView) -> None:
        """The language model's re-ranking, after the answer is already on screen."""
        status = self.status
        status.set("refine", "re-ranking with the language model", busy=True)
        try:
            await session.refine(view.turn)
        except ShieldRecError as exc:
            self.app.tell(f"The language model could not re-rank this answer: {exc}. It stays as it is.", "warning")
            return
        except Exception as exc:  # noqa: BLE001
            self.app.tell(f"The language model failed ({type(exc).__name__}: {exc}); the answer stays as it is.",
                          "warning")
            return
        finally:
            status.set("refine", "")
        if view.is_attached:
            await view.rebuild()

    def _progress(self, source: str, state: str) -> None:
        status = self.status
        status.set("ask", "")
        if source == "ranking":
            status.set("rank", "" if state == "done" else state, busy=state != "done")
            return
        mark = {"pending": "…", "done": "✓", "timeout": "timed out"}.get(state, "✗")
        status.set(f"p:{source}", f"{source} {mark}", busy=state == "pending")

    async def show_turn(self, turn: Turn) -> TurnView:
        transcript = self.query_one("#transcript", VerticalScroll)
        view = TurnView(turn)
        await transcript.mount(view)
        transcript.scroll_end(animate=False)
        view.scroll_visible(top=True, animate=False)
        return view

    async def show_conversation(self, turns: list[Turn]) -> None:
        await self.clear_transcript()
        for turn in turns:
            await self.show_turn(turn)

    async def clear_transcript(self) -> None:
        await self.query(TurnView).remove()

    # -- feedback -------------------------------------------------------------------------

    def sync(self) -> None:
        """After feedback or an undo: every turn follows the profile; focus stays on a visible card."""
        focused = self.app.focused
        for view in self.query(TurnView):
            view.sync()
        if isinstance(focused, ResultCard) and focused.card.hidden:
            self._move_focus(focused, +1, hidden_ok=True)

    def _cards(self) -> list[ResultCard]:
        return [c for view in self.query(TurnView) for c in view.visible_cards()]

    def _move_focus(self, card: ResultCard, step: int, hidden_ok: bool = False) -> None:
        cards = self._cards()
        everything = [c for view in self.query(TurnView) for c in view.query(ResultCard)]
        if card in cards:
            i = cards.index(card) + step
        else:  # the card just left the list: its neighbour in the full order takes the focus
            after = everything[everything.index(card) + 1:] if card in everything else []
            following = [c for c in after if c in cards]
            i = cards.index(following[0]) if following else len(cards) - 1
        if 0 <= i < len(cards):
            cards[i].focus()
            cards[i].scroll_visible()
        elif step > 0 or not cards:
            self.query_one("#ask", Input).focus()

    def action_focus_input(self) -> None:
        self.query_one("#ask", Input).focus()

    def on_key(self, event: events.Key) -> None:
        # From the input, ↓ moves into the newest answer's cards.
        if event.key == "down" and isinstance(self.app.focused, Input):
            views = list(self.query(TurnView))
            cards = views[-1].visible_cards() if views else []
            if cards:
                cards[0].focus()
                cards[0].scroll_visible()
                event.stop()

    @on(ResultCard.Action)
    def _card_action(self, message: ResultCard.Action) -> None:
        card = message.card
        item = card.card.item
        session = self.session
        if message.action == "next":
            self._move_focus(card, +1)
            return
        if message.action == "previous":
            self._move_focus(card, -1)
            return
        if message.action == "removed":
            self._show_removed(card.turn)
            return
        if message.action == "open":
            self.app.open_url(item.url, item.title)
            return
        if message.action == "copy":
            self.app.copy_to_clipboard(f"{item.title}\n{item.url}".strip())
            self.app.tell(f"Copied '{item.title}'" + (" and its link." if item.url else "."))
            return
        if message.action == "undo":
            self.action_undo()
            return
        if session is None:
            return
        if message.action == "block":
            self._block(card, message.arg)
            return
        act = {"like": session.like, "dislike": session.dislike, "not_now": session.not_now}[message.action]
        self._feedback(lambda: act(item))

    def _feedback(self, do: Callable[[], Feedback]) -> None:
        try:
            token = do()
        except ShieldRecError as exc:
            self.app.tell(f"Not saved: {exc}", "error")
            return
        self.sync()
        self.app.tell(token.summary() + "  (Ctrl+Z to undo)", timeout=6)

    def _block(self, card: ResultCard, target: str) -> None:
        from shieldrec.ranking import facts

        session = self.session
        assert session is not None
        item = card.card.item
        if target == "creator":
            values = [item.creator] if item.creator else []
        elif target == "topic":
            values = list(facts.genres(item))
        else:
            values = list(dict.fromkeys([*item.platforms, *([item.source] if item.source else [])]))
        if not values:
            self.app.tell(f"'{item.title}' names no {target} to block. You can add a block on the Profile "
                          "screen (F3).", "warning")
            return

        def block(value: str | None) -> None:
            if value:
                self._feedback(lambda: session.block(target, value, item))

        if len(values) == 1:
            block(values[0])
        else:
            self.app.push_screen(
                Choose(f"Block which {target}?", [(v, plain(v, 200)) for v in values],
                       body=f"From '{item.title}'. Items with it will be kept out from now on."),
                block,
            )

    def action_undo(self) -> None:
        session = self.session
        if session is None:
            return
        from shieldrec.agent import NothingToUndo

        try:
            token = session.undo()
        except NothingToUndo:
            self.app.tell("Nothing to undo.")
            return
        except ShieldRecError as exc:
            self.app.tell(f"Could not undo: {exc}", "error")
            return
        self.sync()
        self.app.tell(f"Undone: {token.description}.")

    # -- conversations and removed items --------------------------------------------------

    def _show_removed(self, turn: Turn | None) -> None:
        if turn is None:
            self.app.tell("Nothing asked yet.")
            return
        rows = [(d.item.title, d.item.creator, d.reason) for d in turn.withheld]
        self.app.push_screen(Removed(f"Kept out of the answer to “{turn.text}”", rows))

    def action_show_removed(self) -> None:
        focused = self.app.focused
        if isinstance(focused, ResultCard):
            self._show_removed(focused.turn)
        else:
            self._show_removed(self.session.turns[-1] if self.session and self.session.turns else None)

    @on(RemovedButton.Pressed)
    def _removed_pressed(self, event: RemovedButton.Pressed) -> None:
        if isinstance(event.button, RemovedButton):
            self._show_removed(event.button.turn)

    async def action_new_conversation(self) -> None:
        if self.session is None:
            return
        self.session.new_conversation()
        await self.clear_transcript()
        self.session_ready()
        self.app.tell("New conversation. The last one is saved; Ctrl+R brings it back.")

    def action_conversations(self) -> None:
        session = self.session
        if session is None:
            return
        convs = session.conversations()
        if not convs:
            self.app.tell("No saved conversation yet.")
            return
        options = []
        for conv in convs[:50]:
            when = datetime.datetime.fromtimestamp(conv.updated_at).strftime("%Y-%m-%d %H:%M")
            label = Text(f"{when}  ", style="dim")
            label.append_text(plain(conv.title or "(untitled)", 100))
            options.append((str(conv.id), label))

        async def resume(choice: str | None) -> None:
            if choice:
                await self.resume(int(choice))

        self.app.push_screen(Choose("Resume a conversation", options), resume)

    async def resume(self, conversation_id: int | None = None) -> None:
        session = self.session
        if session is None:
            return
        try:
            turns = session.resume(conversation_id)
        except ShieldRecError as exc:
            self.app.tell(f"Cannot resume: {exc}", "warning")
            return
        await self.show_conversation(turns)
        self.app.tell(f"Resumed a conversation of {len(turns)} answer{'s' if len(turns) != 1 else ''}.")
