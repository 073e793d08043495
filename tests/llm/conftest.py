"""The bundled model, assembled and loaded once for the whole session.

Every test has its own SHIELDREC_HOME (tests/conftest.py), so the assembled file is
built once in a session folder and tests point their settings at it by path.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from shieldrec.items import HistoryEvent, Item, Preference
from shieldrec.ranking.types import RankRequest
from shieldrec.settings import LlmSettings, Settings

N_CTX = 1024


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
def llm(llm_settings: LlmSettings):  # noqa: ANN201 - LocalLLM, imported lazily
    from shieldrec.llm.runtime import get_llm

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


# A Gemma-style chat template. Added to a copy of the bundled weights it gives a model that
# takes the chat code paths for real (template rendering, response_format, role markers);
# the weights are still the base model's, so only validity can be asserted, not quality.
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}<start_of_turn>{{ 'model' if m['role'] == 'assistant' else 'user' }}"
    "\n{{ m['content'] }}<end_of_turn>\n{% endfor %}"
    "{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)


def _with_metadata(source: Path, target: Path, key: str, value: str) -> Path:
    """Copy a GGUF file adding one string key to its header (tensor data unchanged)."""
    import struct

    from shieldrec.llm.gguf import _Reader

    with source.open("rb") as fh:
        reader = _Reader(fh, source)
        fh.seek(8)
        n_tensors, n_kv = reader.unpack("<Q"), reader.unpack("<Q")
        alignment = 32
        for _ in range(n_kv):
            name = reader.string()
            value_read = reader.value(reader.unpack("<I"))
            if name == "general.alignment" and isinstance(value_read, int):
                alignment = value_read
        kv_end = fh.tell()
        for _ in range(n_tensors):
            reader.string(keep=False)
            dims = reader.unpack("<I")
            fh.seek(8 * dims + 4 + 8, 1)
        infos_end = fh.tell()
        data_start = -(-infos_end // alignment) * alignment
        fh.seek(0)
        head = fh.read(infos_end)
        fh.seek(data_start)
        encoded_key, encoded_value = key.encode(), value.encode()
        extra = (struct.pack("<Q", len(encoded_key)) + encoded_key + struct.pack("<I", 8)
                 + struct.pack("<Q", len(encoded_value)) + encoded_value)
        out = head[:16] + struct.pack("<Q", n_kv + 1) + head[24:kv_end] + extra + head[kv_end:infos_end]
        out += b"\0" * (-len(out) % alignment)
        with target.open("wb") as dst:
            dst.write(out)
            while block := fh.read(1 << 22):
                dst.write(block)
    return target


@pytest.fixture(scope="session")
def chat_gguf(bundled_gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("chat-model")
    return _with_metadata(bundled_gguf, folder / "gemma-chat-template.gguf", "tokenizer.chat_template", CHAT_TEMPLATE)


@pytest.fixture(scope="session")
def chat_llm(chat_gguf: Path):  # noqa: ANN201 - LocalLLM
    from shieldrec.llm.runtime import get_llm

    return get_llm(LlmSettings(model=str(chat_gguf), n_ctx=N_CTX))
