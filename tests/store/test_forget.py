"""`forget` forgets: after a profile has really been used (questions in the app, a batch
re-rank), forgetting it leaves none of its vectors, none of their keys and none of its text
in the database file, while another profile's vectors stay usable."""

from __future__ import annotations

import pytest

import hashlib
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from shieldrec.agent import AgentSession
from shieldrec.cli import cli
from shieldrec.platforms import ensure_demo_platform
from shieldrec.platforms.demo_server import DemoServer
from shieldrec.ranking import Embedder
from shieldrec.ranking.semantic import item_text
from shieldrec.settings import Settings
from shieldrec.store import Store, load_profile_file

pytestmark = pytest.mark.slow  # real servers, processes or the embedding model


def _file_bytes(store: Store) -> bytes:
    files = [store.path, *store.path.parent.glob(store.path.name + "-*")]  # the WAL and shm too
    return b"".join(f.read_bytes() for f in files if f.exists())


def _vectors(store: Store) -> dict[tuple[str, str], bytes]:
    rows = store.db.execute("SELECT model_id, content_hash, vector FROM embeddings").fetchall()
    return {(m, h): bytes(v) for m, h, v in rows}


async def test_forget_removes_every_vector_the_profile_caused(store: Store, profiles_dir: Path,
                                                              catalog: object) -> None:
    settings = Settings()
    settings.llm.enabled = False
    settings.embedding_device = "cpu"
    maya = store.import_profile(load_profile_file(profiles_dir / "maya.toml"))
    sam = store.import_profile(load_profile_file(profiles_dir / "sam.toml"))
    history = store.history(maya)
    with DemoServer(catalog=catalog) as demo:  # type: ignore[arg-type]
        ensure_demo_platform(store, maya, demo)
        ensure_demo_platform(store, sam, demo)
        session = AgentSession(store, maya, settings)
        session.candidates = 6
        await session.ask("something hopeful, no horror")
        await session.ask("only books")
        session.like(session.turns[0].visible[0].item)
        # The batch path with the same profile, in the same file.
        done = CliRunner().invoke(cli, ["rerank", "--profile", "maya", "--input",
                                        str(profiles_dir / "requests.jsonl")])
        assert done.exit_code == 0, done.output
        used_by_maya = _vectors(store)
        assert len(used_by_maya) > 20
        # Another profile asks the same platform: some vectors are now both profiles'.
        other = AgentSession(store, sam, settings, embedder=None)
        other.candidates = 6
        await other.ask("something hopeful")
    everything = _vectors(store)
    sams = {k for k in everything if store.db.execute(
        "SELECT 1 FROM embedding_owners WHERE profile_id = ? AND model_id = ? AND content_hash = ?",
        [sam.id, *k]).fetchone()}
    only_mayas = set(used_by_maya) - sams
    assert only_mayas and sams & set(used_by_maya)

    store.forget("maya")

    blob = _file_bytes(store)
    for model_id, key in only_mayas:
        assert key.encode() not in blob
        assert used_by_maya[(model_id, key)] not in blob  # the vector itself, byte for byte
    # What the issue found surviving: her history as the pipeline embeds it, under any key.
    model = Embedder(device="cpu")
    for ev in history:
        for text in (item_text(ev.item), ev.item.title):
            vec = np.asarray(model.encode([text])[0], dtype=np.float32)
            assert vec.tobytes() not in blob, text
            assert hashlib.sha256(text.encode()).hexdigest().encode() not in blob
            assert store.embeddings.key(text).encode() not in blob
        assert ev.item.title.encode() not in blob
    # Sam's vectors, shared ones included, are still there and still found.
    remaining = _vectors(store)
    assert sams <= set(remaining)
    assert store.db.execute("SELECT COUNT(*) FROM embedding_owners").fetchone()[0] == len(sams)
