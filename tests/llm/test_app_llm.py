"""The terminal app with the language model in its worker: the worker dies, the app does not.

Driven with Textual's Pilot against the real demo platform, the real embedding model and
the bundled Gemma in a real worker process, which is SIGKILLed while it re-ranks an answer.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from textual.widgets import Input

from shieldrec.platforms.demo_server import DemoServer
from shieldrec.settings import LlmSettings, Settings
from shieldrec.store import Store, load_profile_file
from shieldrec.tui.app import ShieldRecApp
from shieldrec.tui.widgets import TurnView

from ..tui.conftest import screen_text, wait_for

pytestmark = [pytest.mark.llm, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]


async def test_the_app_carries_on_when_the_model_dies_and_brings_it_back(  # noqa: ANN001
        store: Store, demo: DemoServer, embedder, llm_settings: LlmSettings, procs) -> None:
    store.import_profile(load_profile_file(REPO / "profiles" / "maya.toml"))
    settings = Settings()
    settings.llm = LlmSettings(**vars(llm_settings))
    app = ShieldRecApp("maya", store=store, settings=settings, embedder=embedder, demo=demo, opener=lambda url: None)
    async with app.run_test(size=(100, 32), notifications=True) as pilot:
        await wait_for(pilot, lambda: app.session is not None and bool(app.session.scorers), timeout=120,
                       what="the profile and the language model")
        session = app.session
        assert session is not None
        session.shown = session.refine_top = 4  # the model re-ranks 4 cards, not 20: the same path, cheaper
        client = session.scorers[0].llm
        first = client.pid
        assert first is not None
        # The status line is told by the loading thread through the app's message queue: a moment later.
        await wait_for(pilot, lambda: "LLM: Gemma 3 270m" in screen_text(app), what="the model named on screen")

        async def ask(text: str) -> TurnView:
            before = len(session.turns)
            app.chat.query_one("#ask", Input).focus()
            await pilot.press(*text)
            await pilot.press("enter")
            await wait_for(pilot, lambda: len(session.turns) > before
                           and len(app.chat.query(TurnView)) == len(session.turns), what=f"an answer to {text!r}")
            return list(app.chat.query(TurnView))[-1]

        killer = procs.signal_when_busy(first, signal.SIGKILL, timeout=120)
        view = await ask("something hopeful, no horror")
        # the answer comes on screen while the model is still busy with it
        await wait_for(pilot, lambda: bool(view.visible_cards()), what="the answer's cards")
        await wait_for(pilot, lambda: client.stats["stops"] == 1, timeout=120, what="the worker's death")
        killer.join(timeout=5)
        await wait_for(pilot, lambda: "re-ranking with the language model" not in screen_text(app), timeout=60,
                       what="the re-ranking to give up")
        await pilot.pause(0.3)
        text = screen_text(app)
        assert app.is_running and "language model stopped" in text  # the status line says so
        assert not view.turn.refined and view.visible_cards()  # the first answer stands, not called re-ranked
        assert "Re-ranked with the language model." not in text

        await pilot.press("down", "l")  # feedback still goes to the profile
        await wait_for(pilot, lambda: any(e.event == "liked" for e in store.history(app.profile)),  # type: ignore[arg-type]
                       what="the like to be saved")

        again = await ask("a hopeful space adventure")  # the next request gets a fresh worker
        await wait_for(pilot, lambda: again.turn.refined, timeout=300, what="the re-ranking with a fresh worker")
        assert client.pid not in (None, first)
        await pilot.pause(0.3)
        assert all("llm" in c.card.components for c in again.visible_cards())
        assert "LLM: Gemma 3 270m" in screen_text(app)  # the status line is back to the model's name
