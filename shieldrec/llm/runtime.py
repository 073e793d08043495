"""The loaded model: one per process and configuration, loaded lazily, used under a lock.

llama-cpp-python is imported only here and only when a model is first needed. Besides
the `Llama` object (tokenizer, grammar-constrained completion, chat templates), a second
llama.cpp context with several sequences serves likelihood scoring: a prompt prefix is
evaluated once into sequence 0, its KV cells are shared with one sequence per candidate
(`seq_cp` on a unified cache copies no data), and many candidates are decoded in one
batch. Logits are read straight from llama.cpp's output buffer, so no n_ctx x n_vocab
array (a gigabyte for Gemma's 262k vocabulary) is ever allocated.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shieldrec.errors import ModelError
from shieldrec.llm.models import BUNDLED, ModelInfo, Progress, bundled_path, describe, resolve
from shieldrec.settings import LlmSettings

log = logging.getLogger(__name__)

SEQUENCES = 8  # sequence 0 holds the prefix; up to 7 candidates share one decode
BATCH_TOKENS = 512
OUTPUT_ROWS = 192  # logits rows per decode: llama.cpp's output buffer is rows x vocab floats
_LSE_CHUNK = 64


class LlmUnavailable(ModelError):
    """The local language model cannot be used (turned off, missing, corrupt, failed to load)."""


class LlmBusyError(ModelError):
    """A request does not fit in the model's context window."""


@dataclass(frozen=True)
class Placement:
    n_gpu_layers: int
    threads: int
    label: str


THREADS_ENV = "SHIELDREC_LLM_THREADS"
MAX_THREADS = 8


def cpu_threads() -> int:
    """One core fewer than the machine has (at most 8), unless SHIELDREC_LLM_THREADS says.

    llama.cpp's worker threads spin while they wait for each other: when any other busy
    thread (the terminal app, the embedding model, another program) wants the same core,
    all of them stall. Measured on a 2-core machine under load: 2 threads took 0.38-2.5 s
    per candidate, 1 thread 0.11-0.16 s.
    """
    raw = os.environ.get(THREADS_ENV, "").strip()
    if raw.isdigit() and int(raw) > 0:
        return int(raw)
    return max(1, min((os.cpu_count() or 2) - 1, MAX_THREADS))


def placement(device: str = "auto") -> Placement:
    """Where llama.cpp will run: every layer on the GPU when this build can offload, else CPU threads."""
    import llama_cpp

    threads = cpu_threads()
    gpu = bool(llama_cpp.llama_supports_gpu_offload())
    if device != "cpu" and gpu:
        return Placement(-1, threads, "GPU (all layers offloaded)")
    if device == "cuda" and not gpu:
        return Placement(0, threads, f"CPU, {threads} thread{'s' if threads > 1 else ''} (this llama.cpp build has no GPU support)")
    return Placement(0, threads, f"CPU, {threads} thread{'s' if threads > 1 else ''}")


def _log_softmax_at(rows: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """log p(target) for each row of raw logits, without materialising a full log-softmax."""
    out = np.empty(len(targets), dtype=np.float64)
    for start in range(0, len(targets), _LSE_CHUNK):
        block = rows[start : start + _LSE_CHUNK]
        top = block.max(axis=1)
        lse = top + np.log(np.exp(block - top[:, None]).sum(axis=1, dtype=np.float64))
        picked = block[np.arange(len(block)), targets[start : start + _LSE_CHUNK]]
        out[start : start + len(block)] = picked - lse
    return out


class LocalLLM:
    """A GGUF model loaded with llama.cpp. Every method is safe to call from any thread."""

    def __init__(self, path: Path, info: ModelInfo, *, n_ctx: int = 2048, device: str = "auto") -> None:
        try:
            import llama_cpp
            from llama_cpp import Llama
            from llama_cpp._internals import LlamaBatch, LlamaContext
            from llama_cpp._utils import suppress_stdout_stderr
        except ImportError as exc:  # pragma: no cover - a broken install
            raise LlmUnavailable(f"llama-cpp-python is not installed or does not load: {exc}") from exc

        self.path = path
        self.info = info
        self.place = placement(device)
        self.n_ctx = max(256, int(n_ctx))
        self._lock = threading.RLock()
        self._cpp = llama_cpp
        try:
            # llama.cpp prints load chatter to the raw stderr even when told not to.
            with suppress_stdout_stderr(disable=False):
                self._llama = Llama(
                    str(path), n_ctx=self.n_ctx, n_gpu_layers=self.place.n_gpu_layers,
                    n_threads=self.place.threads, n_threads_batch=self.place.threads, seed=0, verbose=False,
                )
                params = llama_cpp.llama_context_default_params()
                params.n_ctx = self.n_ctx
                params.n_batch = params.n_ubatch = BATCH_TOKENS
                params.n_seq_max = SEQUENCES
                params.kv_unified = True  # sequences share the prefix's cells instead of copying them
                params.n_threads = params.n_threads_batch = self.place.threads
                self._ctx = LlamaContext(model=self._llama._model, params=params, verbose=False)
                self._batch = LlamaBatch(n_tokens=BATCH_TOKENS, embd=0, n_seq_max=SEQUENCES, verbose=False)
        except Exception as exc:  # noqa: BLE001 - llama.cpp reports every load failure as ValueError/RuntimeError
            raise LlmUnavailable(f"llama.cpp could not load {path}: {exc}") from exc
        self.n_vocab = self._llama.n_vocab()
        self._closed = False
        self._prefix: list[int] = []
        self._prefix_row: np.ndarray | None = None
        self.template = str(self._llama.metadata.get("tokenizer.chat_template", "") or "")

    # -- basics ---------------------------------------------------------------------------

    @property
    def has_chat_template(self) -> bool:
        return bool(self.template)

    def tokenize(self, text: str, *, bos: bool = False) -> list[int]:
        # special=False: text that spells "<start_of_turn>" stays text, never a control token.
        with self._lock:
            return list(self._llama.tokenize(text.encode("utf-8"), add_bos=bos, special=False))

    def detokenize(self, tokens: Sequence[int]) -> str:
        with self._lock:
            return self._llama.detokenize(list(tokens)).decode("utf-8", errors="replace")

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._batch.close()
            self._ctx.close()
            self._llama.close()

    # -- low-level decoding on the scoring context ---------------------------------------

    def _decode(self, entries: Sequence[tuple[int, int, int, bool]]) -> np.ndarray:
        """Decode (token, position, sequence, wants_logits) entries; the rows of logits asked for."""
        batch = self._batch.batch
        batch.n_tokens = len(entries)
        wanted = 0
        for i, (token, pos, seq, logits) in enumerate(entries):
            batch.token[i] = token
            batch.pos[i] = pos
            batch.seq_id[i][0] = seq
            batch.n_seq_id[i] = 1
            batch.logits[i] = logits
            wanted += bool(logits)
        rc = self._cpp.llama_decode(self._ctx.ctx, batch)
        if rc != 0:
            raise LlmUnavailable(f"llama.cpp failed to evaluate a batch (code {rc})")
        if not wanted:
            return np.zeros((0, self.n_vocab), dtype=np.float32)
        ptr = self._cpp.llama_get_logits(self._ctx.ctx)
        # A view on llama.cpp's buffer: valid until the next decode, so callers use it at once.
        return np.ctypeslib.as_array(ptr, shape=(wanted, self.n_vocab))

    def _load_prefix(self, prefix: list[int]) -> np.ndarray:
        """Make sequence 0 hold exactly `prefix`; its last logits row.

        A prefix already there is reused as is. Any other is evaluated from an empty cache,
        in the same chunks every time: reusing a shared head would save little (the head
        is short next to the candidates) and would make the same request score a little
        differently depending on what ran before it. This way scores are reproducible.
        """
        if prefix == self._prefix and self._prefix_row is not None:
            return self._prefix_row
        self._forget_prefix()
        last: np.ndarray | None = None
        try:
            for start in range(0, len(prefix), BATCH_TOKENS):
                chunk = prefix[start : start + BATCH_TOKENS]
                rows = self._decode([(t, start + i, 0, start + i == len(prefix) - 1) for i, t in enumerate(chunk)])
                if start + len(chunk) == len(prefix):
                    last = rows[0].copy()
        except BaseException:
            self._forget_prefix()
            raise
        assert last is not None
        self._prefix, self._prefix_row = list(prefix), last
        return last

    def _forget_prefix(self) -> None:
        self._ctx.kv_cache_clear()
        self._prefix, self._prefix_row = [], None

    # -- likelihood -----------------------------------------------------------------------

    def score_continuations(self, prefix: Sequence[int], continuations: Sequence[Sequence[int]],
                            *, together: bool = True) -> list[np.ndarray]:
        """Per-token log-probabilities of each continuation right after `prefix`.

        The prefix is evaluated once; with `together`, candidates are decoded in batches of
        up to SEQUENCES-1 sequences that share its KV cells. Batching is faster but lets a
        candidate's score move in the last digits with its batch-mates (kernel tiling and
        cache layout change the float rounding); one at a time, a continuation's score
        depends on the prefix and itself only. Its last token is never decoded (its
        probability comes from the token before it).
        """
        prefix = list(prefix)
        if not prefix:
            raise ValueError("a likelihood prefix needs at least one token")
        longest = max((len(c) for c in continuations), default=0)
        if len(prefix) + longest > self.n_ctx:
            raise LlmBusyError(f"a prompt of {len(prefix) + longest} tokens does not fit the {self.n_ctx}-token context")
        out: list[np.ndarray] = [np.zeros(0)] * len(continuations)
        with self._lock:
            first = self._load_prefix(prefix)
            top = first.max()
            first_lse = float(top + np.log(np.exp(first - top).sum(dtype=np.float64)))
            order = [i for i in range(len(continuations)) if continuations[i]]
            at = 0
            base = len(prefix)
            while at < len(order):
                group: list[int] = []
                rows = 0
                while at < len(order) and len(group) < (SEQUENCES - 1 if together else 1):
                    need = len(continuations[order[at]]) - 1
                    if group and rows + need > OUTPUT_ROWS:
                        break
                    group.append(order[at])
                    rows += need
                    at += 1
                entries: list[tuple[int, int, int, bool]] = []
                spans: list[tuple[int, int, int]] = []
                for k, ci in enumerate(group):
                    seq = k + 1
                    self._ctx.kv_cache_seq_cp(0, seq, -1, -1)
                    tokens = list(continuations[ci])
                    spans.append((ci, len(entries), len(tokens) - 1))
                    entries += [(t, base + j, seq, True) for j, t in enumerate(tokens[:-1])]
                try:
                    logits = self._decode(entries) if entries else np.zeros((0, self.n_vocab), dtype=np.float32)
                    for ci, start, n in spans:
                        tokens = np.asarray(continuations[ci], dtype=np.int64)
                        lps = np.empty(n + 1, dtype=np.float64)
                        lps[0] = float(first[tokens[0]]) - first_lse
                        if n:
                            lps[1:] = _log_softmax_at(logits[start : start + n], tokens[1:])
                        out[ci] = lps
                finally:
                    for k in range(len(group)):
                        self._ctx.kv_cache_seq_rm(k + 1, -1, -1)
        return out

    # -- constrained choice ---------------------------------------------------------------

    def choose_order(self, prompt: Sequence[int], choices: Sequence[int], between: Sequence[int] = ()) -> list[int]:
        """Greedy decoding where each step may only emit a choice token not emitted yet:
        the answer is always a permutation of range(len(choices)). `between` tokens are
        forced after every choice (a separator such as " >")."""
        if len(set(choices)) != len(choices):
            raise ValueError("choice tokens must be distinct")
        prompt = list(prompt)
        n = len(choices)
        if len(prompt) + n * (1 + len(between)) > self.n_ctx:
            raise LlmBusyError(f"a listwise prompt of {len(prompt)} tokens does not fit the {self.n_ctx}-token context")
        ids = np.asarray(choices, dtype=np.int64)
        used: list[int] = []
        with self._lock:
            row = self._load_prefix(prompt)
            first = row
            pos = len(prompt)
            try:
                for _ in range(n - 1):
                    scores = row[ids].astype(np.float64)
                    scores[used] = -np.inf
                    pick = int(np.argmax(scores))
                    used.append(pick)
                    step = [int(choices[pick]), *between]
                    rows = self._decode([(t, pos + i, 0, i == len(step) - 1) for i, t in enumerate(step)])
                    row = rows[0].copy()
                    pos += len(step)
            finally:
                # Back to holding exactly the prompt (the same request again reuses it).
                if not self._ctx.kv_cache_seq_rm(0, len(prompt), -1):
                    self._forget_prefix()
                elif self._prefix:
                    self._prefix_row = first
        used += [i for i in range(n) if i not in used]
        return used

    # -- generation (the Llama object's own context) -------------------------------------

    def complete(self, prompt: str, *, grammar: str | None = None, schema: dict[str, Any] | None = None,
                 max_tokens: int = 128, stop: Sequence[str] = ()) -> tuple[str, str]:
        """Greedy completion of a plain prompt, constrained by a GBNF grammar or a JSON schema.
        Returns (text, finish_reason): "length" means the output was cut and may be partial."""
        from llama_cpp import LlamaGrammar

        with self._lock:
            constraint = None
            if schema is not None:
                constraint = LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)
            elif grammar is not None:
                constraint = LlamaGrammar.from_string(grammar, verbose=False)
            out = self._llama.create_completion(
                prompt, max_tokens=max_tokens, temperature=0.0, grammar=constraint, stop=list(stop), seed=0,
            )
        choice = out["choices"][0]  # type: ignore[index]
        return str(choice["text"]), str(choice.get("finish_reason") or "")

    def _plain(self, messages: list[dict[str, str]]) -> None:
        """Refuse message text that would become a control token (a role marker, BOS/EOS)
        once the rendered template is tokenized with special tokens on. prompts.data()
        already makes this impossible for catalogue text; this is the last line."""
        for m in messages:
            raw = m.get("content", "").encode("utf-8")
            if self._llama.tokenize(raw, add_bos=False, special=True) != self._llama.tokenize(raw, add_bos=False, special=False):
                raise ValueError("message text spells a control token of the chat template")

    def chat(self, messages: list[dict[str, str]], *, schema: dict[str, Any] | None = None,
             grammar: str | None = None, max_tokens: int = 256) -> tuple[str, str]:
        """A chat turn through the model's own template (instruction-tuned models only)."""
        if not self.has_chat_template:
            raise LlmUnavailable(f"{self.info.name} has no chat template: it is a base model")
        from llama_cpp import LlamaGrammar

        with self._lock:
            self._plain(messages)
            kwargs: dict[str, Any] = {}
            if schema is not None:
                kwargs["response_format"] = {"type": "json_object", "schema": schema}
            elif grammar is not None:
                kwargs["grammar"] = LlamaGrammar.from_string(grammar, verbose=False)
            out = self._llama.create_chat_completion(
                messages=messages, max_tokens=max_tokens, temperature=0.0, seed=0, **kwargs  # type: ignore[arg-type]
            )
        choice = out["choices"][0]  # type: ignore[index]
        return str(choice["message"].get("content") or ""), str(choice.get("finish_reason") or "")

    def chat_prompt(self, messages: list[dict[str, str]]) -> str:
        """The text the model's chat template makes of `messages`, ready for the assistant's reply."""
        if not self.has_chat_template:
            raise LlmUnavailable(f"{self.info.name} has no chat template: it is a base model")
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        with self._lock:
            self._plain(messages)
            bos = self._llama.detokenize([self._llama.token_bos()], special=True).decode("utf-8", "replace")
            eos = self._llama.detokenize([self._llama.token_eos()], special=True).decode("utf-8", "replace")
        formatter = Jinja2ChatFormatter(template=self.template, eos_token=eos, bos_token=bos)
        return formatter(messages=messages).prompt  # type: ignore[arg-type]

    def prompt_tokens(self, prompt: str) -> list[int]:
        """Tokens of a whole prompt. A rendered chat prompt already names its BOS and role
        markers, so those (and only those, from our own template) are parsed as special."""
        with self._lock:
            special = self.has_chat_template
            tokens = list(self._llama.tokenize(prompt.encode("utf-8"), add_bos=not special, special=special))
        return tokens


# -- the process-wide cache -------------------------------------------------------------

_cache: dict[tuple[str, str, int], LocalLLM] = {}
# (setting, device, n_ctx) -> (file fingerprint, model): a repeat call skips re-reading the header.
_by_setting: dict[tuple[str, str, int], tuple[tuple[int, int], LocalLLM]] = {}
_cache_lock = threading.Lock()


def _fingerprint(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


_loader: ThreadPoolExecutor | None = None


def get_llm(settings: LlmSettings, progress: Progress | None = None) -> LocalLLM:
    """The model the settings name, loaded on first use and shared by everything in the process."""
    if not settings.enabled:
        raise LlmUnavailable("the local language model is turned off in settings ([llm] enabled = false)")
    spec = (settings.model or BUNDLED).strip()
    # "bundled" means a different file under another SHIELDREC_HOME.
    setting = (str(bundled_path()) if spec == BUNDLED else spec, settings.device or "auto", int(settings.n_ctx))
    with _cache_lock:
        known = _by_setting.get(setting)
    if known is not None:
        try:
            if _fingerprint(known[1].path) == known[0]:
                return known[1]
        except OSError:
            pass  # gone: resolve again, which says so
    try:
        path = resolve(spec, progress)
        info = describe(path, bundled=spec == BUNDLED)
    except ModelError as exc:
        raise LlmUnavailable(str(exc)) from exc
    key = (str(path), settings.device or "auto", int(settings.n_ctx))
    with _cache_lock:
        llm = _cache.get(key)
        if llm is None:
            llm = LocalLLM(path, info, n_ctx=settings.n_ctx, device=settings.device or "auto")
            if not _cache:
                # Closed while llama_cpp's module globals still exist: left to garbage
                # collection at interpreter exit, Llama.__del__ fails noisily.
                atexit.register(unload_all)
            _cache[key] = llm
            log.info("loaded %s (%s) on %s", info.name, info.quantization, llm.place.label)
        _by_setting[setting] = (_fingerprint(path), llm)
        return llm


class UsesModel:
    """A part built from a loaded model, or from the settings that load it on first use.

    A failed load is remembered: the ranking goes on without this part instead of
    retrying (and failing) on every request."""

    def __init__(self, source: LocalLLM | LlmSettings) -> None:
        self._llm = source if isinstance(source, LocalLLM) else None
        self._settings = source if isinstance(source, LlmSettings) else None
        self._failure: LlmUnavailable | None = None

    @property
    def llm(self) -> LocalLLM:
        if self._llm is None:
            if self._failure is not None:
                raise self._failure
            assert self._settings is not None
            try:
                self._llm = get_llm(self._settings)
            except LlmUnavailable as exc:
                self._failure = exc
                raise
        return self._llm


def load_in_background(settings: LlmSettings) -> Future[LocalLLM]:
    """Start loading off the calling (UI) thread; the Future holds the model or LlmUnavailable."""
    global _loader
    with _cache_lock:
        if _loader is None:
            _loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shieldrec-llm")
        return _loader.submit(get_llm, settings)


def unload_all() -> None:
    """Free every loaded model (a settings change, or tests that need a clean slate)."""
    with _cache_lock:
        models = list(_cache.values())
        _cache.clear()
        _by_setting.clear()
    for llm in models:
        llm.close()
