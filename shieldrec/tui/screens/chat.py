"""The chat: type what you want, get ranked cards, teach the agent from the keyboard."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Static

from shieldrec.errors import InvalidInput, ShieldRecError
from shieldrec.tui import keys
from shieldrec.tui.safe import plain
from shieldrec.tui.screens.modals import Ask, Choose, Form, Removed, field_input
from shieldrec.tui.widgets import AskInput, FunctionKeys, MoreButton, RemovedButton, ResultCard, StatusLine, TurnView

if TYPE_CHECKING:
    from shieldrec.agent import AgentSession, Feedback, Turn
    from shieldrec.tui.app import ShieldRecApp

EXAMPLE = "something hopeful, no horror"
PLACEHOLDER = f"What would you like? e.g. “{EXAMPLE}”  (F1: help)"
# Blocking a creator or topic asks first when it would take out more than this many picks on screen.
BLOCK_ASKS_ABOVE = 1


class ChatScreen(Screen[None]):
    BINDINGS = keys.bindings("chat")
    app: ShieldRecApp

    def __init__(self) -> None:
        super().__init__(id="chat")
        self.pending: str | None = None  # typed before the profile was open; asked once it is
        self.compact = False

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="◆")
        yield StatusLine()
        with VerticalScroll(id="transcript", can_focus=False):
            yield Static(Text("Opening your profile…"), id="welcome")
        yield AskInput(placeholder=PLACEHOLDER, id="ask")
        yield FunctionKeys("chat", self.app.keymap)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.compact = self.app.settings.tui.compact
        self.ask_input.focus()

    # -- state from the app ---------------------------------------------------------------

    @property
    def session(self) -> AgentSession | None:
        return self.app.session

    @property
    def status(self) -> StatusLine:
        return self.query_one(StatusLine)

    @property
    def ask_input(self) -> AskInput:
        return self.query_one("#ask", AskInput)

    @property
    def views(self) -> list[TurnView]:
        return list(self.query(TurnView))

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
        text.append("Follow up with “more like the second one”, “only books” or “why not Dune?”. "
                    "↓ moves to the results, ↑ recalls earlier requests; F1 lists every key.", style="dim")
        latest = session.store.conversations.latest(session.profile.id)
        if latest is not None and not session.turns:
            when = datetime.datetime.fromtimestamp(latest.updated_at).strftime("%b %d")
            text.append("\nLast conversation: ", style="dim")
            text.append_text(plain(f"“{latest.title}” ({when})", 120, style="dim italic"))
            text.append(" — Ctrl+R to resume it.", style="dim")
        self.welcome(text)
        field = self.ask_input
        field.disabled = False
        field.history = list(reversed(session.store.conversations.recent_inputs(session.profile.id)))
        if self.pending:
            text_, self.pending = self.pending, None
            self.ask(text_)

    def no_session(self, message: str) -> None:
        self.welcome(plain(message, 2000, multiline=True))

    # -- asking ---------------------------------------------------------------------------

    @on(Input.Submitted, "#ask")
    async def _submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            return
        event.input.value = ""
        self.ask_input.remember(text)
        if self.session is None:
            if self.app.opening:
                self.pending = text
                self.status.set("pending", "will search once your profile is open", busy=True)
            else:
                self.app.tell("No profile is open; see the message above for how to set one up.", "warning")
            return
        answer = self.session.why_not(text)
        if answer is not None:
            await self.show_note(text, answer)
            return
        self.ask(text)

    async def show_note(self, question: str, answer: str) -> None:
        """An answer in words that ranks nothing ("why not X?")."""
        transcript = self.query_one("#transcript", VerticalScroll)
        body = Text()
        body.append_text(plain(f"› {question}", 1000, style="bold"))
        body.append("\n")
        body.append_text(plain(answer, 3000, multiline=True))
        note = Static(body, classes="note")
        await transcript.mount(note)
        transcript.scroll_end(animate=False)

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
        view = TurnView(turn, compact=self.compact)
        self._marks(view)
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
        await self.query(".note").remove()
        self.ask_input.focus()

    # -- feedback -------------------------------------------------------------------------

    def _marks(self, *views: TurnView) -> None:
        """What the cards mark beside the ranking: on the watch list, reasons disputed (read once)."""
        session = self.session
        if session is None or not views:
            return
        later = session.store.later.ids(session.profile.id)
        disputed = session.store.disputes.marked(session.profile.id)
        for view in views:
            view.later, view.disputed = later, disputed

    async def sync(self) -> None:
        """After feedback, paging or an undo: every turn follows the profile; the focus stays on a
        card where one was (the next one up when it left), else on the request line."""
        focused = self.app.focused
        where: tuple[TurnView, int] | None = None
        if isinstance(focused, ResultCard):
            for view in self.views:
                cards = view.cards()
                if focused in cards:
                    where = (view, cards.index(focused))
        views = self.views
        self._marks(*views)
        for view in views:
            await view.sync()
        if where is None or (focused is not None and focused.is_attached and focused is self.app.focused):
            return
        view, index = where
        cards = view.cards()
        if cards:
            target = cards[min(index, len(cards) - 1)]
            target.focus()
            target.scroll_visible()
        else:
            self.ask_input.focus()

    def _all_cards(self) -> list[ResultCard]:
        return [c for view in self.views for c in view.cards()]

    def _step(self, card: ResultCard, step: int) -> None:
        """↓/↑ between cards across every answer; ↓ past the last one goes back to typing."""
        cards = self._all_cards()
        if card not in cards:
            self.ask_input.focus()
            return
        i = cards.index(card) + step
        if 0 <= i < len(cards):
            cards[i].focus()
            cards[i].scroll_visible()
        elif step > 0:
            self.ask_input.focus()

    def action_focus_input(self) -> None:
        self.ask_input.focus()

    @on(AskInput.Leave)
    def _into_results(self) -> None:
        views = self.views
        cards = views[-1].cards() if views else []
        if cards:
            cards[0].focus()
            cards[0].scroll_visible()

    def _view_of(self, card: ResultCard) -> TurnView | None:
        return next((v for v in self.views if v.turn is card.turn), None)

    @on(ResultCard.Action)
    async def _card_action(self, message: ResultCard.Action) -> None:
        card = message.card
        item = card.card.item
        session = self.session
        action = message.action
        if action in ("next", "previous"):
            self._step(card, 1 if action == "next" else -1)
        elif action == "removed":
            self._show_removed(card.turn)
        elif action == "open":
            self.app.open_url(self.app.resolve_link(item), item.title)
        elif action == "copy":
            url = self.app.resolve_link(item)
            self.app.copy_to_clipboard(f"{item.title}\n{url}".strip())
            self.app.tell(f"Copied '{item.title}'" + (" and its link." if url else "."))
        elif action == "undo":
            await self.action_undo()
        elif action == "more":
            view = self._view_of(card)
            if view is not None:
                await self.more(view)
        elif action == "view":
            view = self._view_of(card)
            if view is not None:
                self.choose_view(view)
        elif session is None:
            return
        elif action == "block":
            await self._block(card, message.arg)
        elif action == "dispute":
            await self._dispute(card)
        elif action == "rate":
            stars = int(message.arg)
            await self._feedback(lambda: session.rate(item, stars))
        else:
            act = {"like": session.like, "dislike": session.dislike, "not_now": session.not_now,
                   "later": session.later}[action]
            await self._feedback(lambda: act(item))

    async def _feedback(self, do: Callable[[], Feedback]) -> None:
        try:
            token = do()
        except ShieldRecError as exc:
            self.app.tell(f"Not saved: {exc}", "error")
            return
        await self.sync()
        self.app.tell(token.summary() + "  (Ctrl+Z to undo)", timeout=6)

    async def _block(self, card: ResultCard, target: str) -> None:
        from shieldrec.agent.view import card_sources
        from shieldrec.ranking import facts

        item = card.card.item
        if target == "creator":
            values = [item.creator] if item.creator else []
        elif target == "topic":
            values = list(facts.genres(item))
        else:
            values = card_sources(card.card)
        if not values:
            self.app.tell(f"'{item.title}' names no {target} to block. You can add a block on the Profile "
                          "screen (F3).", "warning")
            return
        if len(values) == 1:
            await self._confirm_block(target, values[0], item)
            return

        async def picked(value: str | None) -> None:
            if value:
                await self._confirm_block(target, value, item)

        self.app.push_screen(
            Choose(f"Block which {target}?", [(v, plain(v, 200)) for v in values],
                   body=f"From '{item.title}'. Items with it will be kept out from now on."),
            picked,
        )

    async def _confirm_block(self, target: str, value: str, item: Any) -> None:
        """Block at once when it takes out only this pick; ask first (with the count) when it
        takes out more, and always for a whole platform."""
        session = self.session
        assert session is not None
        hit = session.block_impact(target, value)
        on_screen = sum(len(v.turn.visible) for v in self.views)

        async def block(yes: bool | None = True) -> None:
            if yes:
                await self._feedback(lambda: session.block(target, value, item))

        if target != "source" and len(hit) <= BLOCK_ASKS_ABOVE:
            await block()
            return
        what = f"the platform '{value}'" if target == "source" else f"{target} '{value}'"
        self.app.push_screen(Ask(
            f"Block {what}?",
            f"This takes {len(hit)} of the {on_screen} picks on screen out (the next ones move up), and keeps "
            f"everything {'from' if target == 'source' else 'with'} {what} out of every answer from now on. "
            "Ctrl+Z undoes it; the Profile screen (F3) lists every block.",
            yes=f"Block ({len(hit)})"), block)

    async def _dispute(self, card: ResultCard) -> None:
        session = self.session
        assert session is not None
        item = card.card.item
        reasons = [r for r in card.card.reasons if r not in card.disputed]
        if not reasons:
            self.app.tell("This pick has no reason left to dispute.", "warning")
            return

        async def record(reason: str | None) -> None:
            if reason:
                await self._feedback(lambda: session.dispute(item, reason))

        if len(reasons) == 1:
            await record(reasons[0])
            return
        self.app.push_screen(Choose("Which reason is wrong?", [(r, plain(r, 300)) for r in reasons],
                                    body=f"For '{item.title}'. It is remembered and marked wherever it shows."),
                             record)

    async def action_undo(self) -> None:
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
        await self.sync()
        self.app.tell(f"Undone: {token.description}.")

    # -- paging, views, compact, export ---------------------------------------------------

    def _target_view(self) -> TurnView | None:
        """The answer in focus, else the newest one."""
        focused = self.app.focused
        if isinstance(focused, ResultCard):
            return self._view_of(focused)
        views = self.views
        return views[-1] if views else None

    async def more(self, view: TurnView) -> None:
        before = len(view.turn.visible)
        added = view.turn.show_more()
        if not added:
            self.app.tell("That is every pick in this answer. Ask again, or look at what was removed (Ctrl+O).")
            return
        await view.sync()
        cards = view.cards()
        if before < len(cards):
            cards[before].focus()
            cards[before].scroll_visible()

    @on(MoreButton.Pressed)
    async def _more_pressed(self, event: MoreButton.Pressed) -> None:
        if isinstance(event.button, MoreButton):
            view = next((v for v in self.views if v.turn is event.button.turn), None)
            if view is not None:
                await self.more(view)

    def choose_view(self, view: TurnView) -> None:
        from shieldrec.agent.view import PAGE, SORTS, View, card_kind, card_sources
        from textual.widgets import Select

        turn, current = view.turn, view.turn.view
        kinds = sorted({k for c in turn.cards if (k := card_kind(c))})
        sources = sorted({s for c in turn.cards for s in card_sources(c)})

        def year(text: str, name: str) -> int | None:
            text = str(text).strip()
            if not text:
                return None
            if not text.isdigit() or not 1000 <= int(text) <= 2999:
                raise InvalidInput(f"{name} is a year such as 1999 (or empty)")
            return int(text)

        def check(values: dict[str, Any]) -> View:
            low, high = year(values["year_from"], "From"), year(values["year_to"], "To")
            if low and high and low > high:
                raise InvalidInput("'From' comes after 'To'")
            return View(sort=values["sort"] or "rank", kind=values["kind"] or "", source=values["source"] or "",
                        year_from=low, year_to=high)

        fields = [
            ("sort", "Order", Select([(label, key) for key, label in SORTS.items()], value=current.sort,
                                     allow_blank=False, compact=True)),
            ("kind", "Only this kind", Select([("every kind", ""), *[(f"{k}s", k) for k in kinds]],
                                              value=current.kind if current.kind in kinds else "",
                                              allow_blank=False, compact=True)),
            ("source", "Only from", Select([("every platform", ""), *[(s, s) for s in sources]],
                                           value=current.source if current.source in sources else "",
                                           allow_blank=False, compact=True)),
            ("year_from", "From year", field_input(str(current.year_from or ""), placeholder="any")),
            ("year_to", "To year", field_input(str(current.year_to or ""), placeholder="any")),
        ]

        async def chosen(new: View | None) -> None:
            if new is None:
                return
            if new != current:
                turn.view, turn.page = new, PAGE
            await view.sync()
            cards = view.cards()
            if cards:
                cards[0].focus()
                cards[0].scroll_visible()
            self.app.tell(f"Showing {new.describe() or 'the ranking as it is'}: {len(turn.visible)} picks.")

        self.app.push_screen(Form("Sort and filter this answer", fields, check, buttons=(("ok", "Show"),),
                                  body="The ranking itself stays as it is; this only changes what shows."),
                             chosen)

    async def action_compact(self) -> None:
        await self.set_compact(not self.compact)
        self.app.settings.tui.compact = self.compact
        self.app.save_settings(quiet=True)
        self.app.tell("One line per pick (Ctrl+T for full cards)." if self.compact
                      else "Full cards with their reasons (Ctrl+T for one line each).")

    async def set_compact(self, compact: bool) -> None:
        self.compact = compact
        for view in self.views:
            view.compact = compact
            await view.sync()

    def action_export(self) -> None:
        from textual.widgets import Select

        from shieldrec.agent import export

        view = self._target_view()
        if view is None:
            self.app.tell("Nothing to save yet: ask for something first.")
            return
        turn = view.turn
        stamp = datetime.datetime.fromtimestamp(turn.at).strftime("%Y%m%d-%H%M")
        default = str(Path.cwd() / f"shieldrec-answer-{stamp}")

        def check(values: dict[str, Any]) -> tuple[str, str, str]:
            fmt = values["format"] or "markdown"
            text = export.render([turn], fmt)
            if values["_button"] == "copy":
                return "copy", fmt, text
            path = str(values["path"]).strip()
            if not path:
                raise InvalidInput("give a file to save to (or Copy instead)")
            return "save", path if Path(path).suffix else path + export.SUFFIX[fmt], text

        def done(result: tuple[str, str, str] | None) -> None:
            if result is None:
                return
            how, where, text = result
            if how == "copy":
                self.app.copy_to_clipboard(text)
                self.app.tell(f"The answer is on the clipboard as {where} ({len(turn.visible)} picks).")
                return
            from shieldrec.cli.common import atomic_output

            target = Path(where).expanduser()
            try:
                with atomic_output(str(target)) as fh:
                    fh.write(text)
            except OSError as exc:
                self.app.tell(f"Not saved: {exc.strerror or exc}. Choose another place.", "error")
                return
            self.app.tell(f"Saved the answer to {target} ({len(turn.visible)} picks).")

        fields = [
            ("format", "Format", Select([("Markdown", "markdown"), ("JSON", "json")], value="markdown",
                                        allow_blank=False, compact=True)),
            ("path", "File (the suffix follows the format when you leave it out)", field_input(default)),
        ]
        self.app.push_screen(Form(f"Save the answer to “{turn.text}”", fields, check,
                                  buttons=(("copy", "Copy"), ("ok", "Save")),
                                  body="The picks on screen with their reasons and links, and what was kept out. "
                                       "Nothing of your profile goes with it."), done)

    # -- conversations and removed items --------------------------------------------------

    def _show_removed(self, turn: Turn | None) -> None:
        if turn is None:
            self.app.tell("Nothing asked yet.")
            return
        rows = [(d.item.title, d.item.creator, d.reason) for d in turn.withheld]
        self.app.push_screen(Removed(f"Kept out of the answer to “{turn.text}”", rows))

    def action_show_removed(self) -> None:
        view = self._target_view()
        self._show_removed(view.turn if view is not None else None)

    @on(RemovedButton.Pressed)
    def _removed_pressed(self, event: RemovedButton.Pressed) -> None:
        if isinstance(event.button, RemovedButton):
            self._show_removed(event.button.turn)

    async def action_new_conversation(self) -> None:
        if self.session is None:
            self.ask_input.focus()
            return
        self.session.new_conversation()
        await self.clear_transcript()
        self.session_ready()
        self.app.tell("New conversation. The last one is saved; Ctrl+R brings it back.")

    def action_conversations(self) -> None:
        from shieldrec.tui.screens.conversations import Conversations

        session = self.session
        if session is None:
            return
        if not session.conversations():
            self.app.tell("No saved conversation yet.")
            return

        def deleted(conversation_id: int) -> None:
            if session.conversation_id == conversation_id:
                session.new_conversation()
                self.run_worker(self.clear_transcript(), group="transcript")
            self.app.tell("Conversation deleted.")

        async def resume(choice: int | None) -> None:
            if choice is not None:
                await self.resume(choice)
            else:
                self.ask_input.focus()

        self.app.push_screen(Conversations(session.store, session.profile.id, session.conversation_id, deleted),
                             resume)

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
