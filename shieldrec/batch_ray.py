"""`shieldrec rerank --engine ray`: the same ranking on a Ray cluster (`pip install 'shieldrec[ray]'`).

The driver does what needs the profile database: it parses and checks every line (the same
per-line errors), reads the profile once and hands each actor a copy (nothing on Ray can
write it back), and writes the output. The requests become a Ray Dataset; `map_batches`
ranks them on a pool of actors, each of which builds the pipeline once (`build_ranker`,
as every entry point does) and loads the models once. Workers never write the database:
where its file is reachable (a local cluster, a shared disk) they read stored vectors
through a read-only connection, and the vectors they had to encode travel back to the
driver, which stores them, so every text is still encoded at most once.
"""

from __future__ import annotations

import logging
import math
import os
import pickle
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from shieldrec.batch import BATCH_SIZE, build_ranker, rank_all, with_profile
from shieldrec.errors import ShieldRecError
from shieldrec.items import HistoryEvent, Preference
from shieldrec.ranking.embedder import MODEL_ID
from shieldrec.ranking.types import RankRequest, RankResult
from shieldrec.settings import Settings
from shieldrec.store import Store

MAX_DEFAULT_ACTORS = 8
# What the workers need in their environment: nothing may reach for a model hub.
WORKER_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


class RayUnavailable(ShieldRecError):
    pass


class _ReadOnlyVectors:
    """The embedding cache as a worker sees it: stored vectors read through a read-only
    connection; new ones, and the keys of those it read, kept aside for the driver to store
    and to record as the profile's (so that `profile forget` finds them)."""

    def __init__(self, database: str | None, secret: bytes) -> None:
        from sqlite_utils import Database

        from shieldrec.store.embeddings import EmbeddingCache

        self._cache: EmbeddingCache | None = None
        self._keys = EmbeddingCache(Database(memory=True), secret)
        self.new: list[tuple[str, np.ndarray]] = []
        self.read: list[str] = []
        if database and Path(database).is_file():
            conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True, check_same_thread=False)
            self._cache = EmbeddingCache(Database(conn), secret)

    def key(self, text: str) -> str:
        return self._keys.key(text)

    def owned_by(self, profile_id: int | None) -> _ReadOnlyVectors:
        return self  # ownership is recorded by the driver, which alone writes the database

    def get_many(self, model_id: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        if self._cache is None:
            return {}
        try:
            found = self._cache.get_many(model_id, hashes)
        except sqlite3.Error:
            return {}  # a database busy or gone costs encoding time, never the ranking
        self.read.extend(found)
        return found

    def put_many(self, model_id: str, items: Sequence[tuple[str, np.ndarray]]) -> None:
        self.new.extend((h, np.asarray(v, dtype=np.float32)) for h, v in items)


class _WorkerStore:
    """All of a store a worker's pipeline may touch: the read-only vectors."""

    def __init__(self, database: str | None, secret: bytes) -> None:
        self.embeddings = _ReadOnlyVectors(database, secret)


class RankActor:
    """One actor of the pool: the pipeline built and the models loaded once, then batch after batch."""

    def __init__(self, settings: Settings, profile: tuple[list[HistoryEvent], list[Preference]],
                 top: int | None, database: str | None, secret: bytes, learned: Any = None) -> None:
        self.store = _WorkerStore(database, secret)
        # The profile's learned part travels as a read-only copy, like its history.
        self.pipeline, _ = build_ranker(settings, self.store, learned=learned)  # type: ignore[arg-type]
        self.pipeline.embedder.load()
        # A copy of what the driver read: nothing here can write it back.
        self.history, self.preferences = profile
        self.top = top

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        requests = [with_profile(pickle.loads(b), self.history, self.preferences) for b in batch["request"]]
        results = list(rank_all(self.pipeline, requests, top=self.top, batch_size=len(requests)))
        seen = self.store.embeddings
        new, read = seen.new, seen.read
        seen.new, seen.read = [], []
        vectors = np.empty(len(results), dtype=object)
        vectors[:] = [b""] * len(results)
        vectors[0] = pickle.dumps((new, read)) if new or read else b""
        out = np.empty(len(results), dtype=object)
        out[:] = [pickle.dumps(r) for r in results]
        return {"i": batch["i"], "result": out, "vectors": vectors}


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise RayUnavailable("the Ray engine is an optional extra: pip install 'shieldrec[ray]'") from None
    return ray


def rank_on_ray(
    requests: Sequence[RankRequest],
    settings: Settings,
    store: Store,
    profile: tuple[list[HistoryEvent], list[Preference]],
    *,
    owner: int | None = None,
    top: int | None = None,
    address: str | None = None,
    actors: int | None = None,
    batch_size: int | None = None,
) -> Iterator[RankResult]:
    """Results in input order, as `rank_all` gives them on the local engine. `profile` (history,
    preferences) is applied on the actors; `store` only receives the vectors they encoded, and
    records the ones they used as `owner`'s."""
    if not requests:
        return
    ray = _ray()
    if not ray.is_initialized():
        logging.getLogger("ray").setLevel(logging.ERROR)
        os.environ.update({k: os.environ.get(k, v) for k, v in WORKER_ENV.items()})
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING,
                     runtime_env={"env_vars": WORKER_ENV})
        except Exception as exc:  # noqa: BLE001 - whatever Ray says, the user needs its words
            raise RayUnavailable(f"cannot start or join a Ray cluster{f' at {address}' if address else ''}: "
                                 f"{exc}") from None
    from ray.data import ActorPoolStrategy, DataContext

    cpus = int(ray.cluster_resources().get("CPU", 1))
    size = actors or max(1, min(cpus, MAX_DEFAULT_ACTORS))
    # Several batches per actor, so the pool shares the work; never more than the local engine's.
    per_batch = batch_size or max(1, min(BATCH_SIZE, math.ceil(len(requests) / (size * 4))))
    context = DataContext.get_current()
    context.execution_options.preserve_order = True
    logging.getLogger("ray.data").setLevel(logging.WARNING)  # no progress lines in the output stream
    dataset = ray.data.from_items([{"i": n, "request": pickle.dumps(r)} for n, r in enumerate(requests)])
    ranked = dataset.map_batches(
        RankActor,
        fn_constructor_kwargs={"settings": settings, "profile": profile, "top": top,
                               "database": str(store.path), "secret": store.embeddings.secret,
                               "learned": _learned(store, owner)},
        batch_size=per_batch,
        batch_format="numpy",
        compute=ActorPoolStrategy(size=size),
        num_cpus=1,
    )
    cache = store.embeddings.owned_by(owner)
    expected = 0
    try:
        for batch in ranked.iter_batches(batch_format="numpy", batch_size=None):
            for i, blob, vectors in zip(batch["i"], batch["result"], batch["vectors"]):
                if int(i) != expected:
                    raise ShieldRecError(f"the Ray engine returned request {int(i)} where {expected} was due")
                if vectors:
                    new, read = pickle.loads(vectors)
                    cache.put_many(MODEL_ID, new)
                    cache.claim(MODEL_ID, read)
                expected += 1
                yield pickle.loads(blob)
    except ray.exceptions.RayError as exc:
        raise ShieldRecError(f"the Ray engine failed: {_first_line(exc)}") from None
    if expected != len(requests):
        raise ShieldRecError(f"the Ray engine answered {expected} of {len(requests)} requests")


def _learned(store: Store, owner: int | None) -> Any:
    """The profile's personal model and facets, read once by the driver (None without a profile)."""
    if owner is None:
        return None
    return store.learned.model(owner), store.learned.facets(owner)


def _first_line(exc: BaseException) -> str:
    lines = [x for x in str(exc).splitlines() if x.strip()]
    return lines[-1] if lines else type(exc).__name__
