"""The loaded model, as the language-model worker process holds it (shieldrec.llm.worker).

llama-cpp-python is imported only here, and only inside that worker (or a benchmark that
measures the model in process). Nothing in the app or the batch path constructs a
LocalLLM: they talk to the worker through shieldrec.llm.client. Besides
the `Llama` object (tokenizer, grammar-constrained completion, chat templates), a second
llama.cpp context with several sequences serves likelihood scoring: a prompt prefix is
evaluated once into sequence 0, its KV cells are shared with one sequence per candidate
(`seq_cp` on a unified cache copies no data), and many candidates are decoded in one
batch. Logits are read straight from llama.cpp's output buffer, so no n_ctx x n_vocab
array (a gigabyte for Gemma's 262k vocabulary) is ever allocated.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from shieldrec.errors import LlmBusyError, LlmUnavailable
from shieldrec.llm.models import ModelInfo
from shieldrec.llm.system import Placement, choose_placement

log = logging.getLogger(__name__)

SEQUENCES = 8  # sequence 0 holds the prefix; up to 7 candidates share one decode
BATCH_TOKENS = 512
OUTPUT_ROWS = 192  # logits rows per decode: llama.cpp's output buffer is rows x vocab floats
_LSE_CHUNK = 64


def placement(device: str = "auto") -> Placement:
    """Where llama.cpp will run: every layer on the GPU when this build can offload, else CPU threads."""
    import llama_cpp

    return choose_placement(device, bool(llama_cpp.llama_supports_gpu_offload()))


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


def _repack_aware(llama_class: type, extra_bufts: bool, verbose: bool) -> type:
    """`Llama` whose model parameters carry `use_extra_bufts` before the model is loaded.

    llama.cpp's extra buffer types repack weights into layouts for the CPU's widest
    kernels (AMX on recent Xeons); on AMX machines that build segfaults at the first
    computation. `Llama` has no argument for it, but it builds its parameters as the
    attribute `model_params` and only then loads, so the value is set as the attribute is.
    At that same moment a verbose load log is turned down from debug (a line per tensor)
    to info (sizes, buffer types, the CPU features used), which is what a log is read for.
    """

    class RepackAwareLlama(llama_class):  # type: ignore[misc,valid-type]
        @property
        def model_params(self) -> Any:
            return self.__dict__["_shieldrec_model_params"]

        @model_params.setter
        def model_params(self, params: Any) -> None:
            if hasattr(params, "use_extra_bufts"):
                params.use_extra_bufts = extra_bufts
            if verbose:
                logging.getLogger("llama-cpp-python").setLevel(logging.INFO)
            self.__dict__["_shieldrec_model_params"] = params

    return RepackAwareLlama


class LocalLLM:
    """A GGUF model loaded with llama.cpp. Every method is safe to call from any thread.

    `repack`: let llama.cpp repack weights into its extra buffer types (off by default: it
    crashes on CPUs with AMX). `verbose`: let llama.cpp's load log through to stderr (the
    worker sends its stderr to a log file; in process it would land on the user's terminal).
    """

    def __init__(self, path: Path, info: ModelInfo, *, n_ctx: int = 2048, device: str = "auto",
                 repack: bool = False, verbose: bool = False) -> None:
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
            with suppress_stdout_stderr(disable=verbose):
                self._llama = _repack_aware(Llama, bool(repack), verbose)(
                    str(path), n_ctx=self.n_ctx, n_gpu_layers=self.place.n_gpu_layers,
                    n_threads=self.place.threads, n_threads_batch=self.place.threads, seed=0, verbose=verbose,
                )
                # From here on only warnings and errors, not a timing report per completion.
                self._llama.verbose = False
                logging.getLogger("llama-cpp-python").setLevel(logging.WARNING)
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

    @property
    def load_params(self) -> dict[str, Any]:
        """The model parameters llama.cpp was given, read back from the structure it loaded
        with (None for a field this llama-cpp-python does not have)."""
        loaded = self._llama._model.params
        return {
            "use_extra_bufts": bool(loaded.use_extra_bufts) if hasattr(loaded, "use_extra_bufts") else None,
            "n_gpu_layers": int(loaded.n_gpu_layers),
            "n_threads": self.place.threads,
            "n_ctx": self.n_ctx,
        }

    # -- basics ---------------------------------------------------------------------------

    @property
    def has_chat_template(self) -> bool:
        return bool(self.template)

    def tokenize(self, text: str, *, bos: bool = False) -> list[int]:
        # special=False: text that spells "<start_of_turn>" stays text, never a control token.
        with self._lock:
            return list(self._llama.tokenize(text.encode("utf-8"), add_bos=bos, special=False))

    def tokenize_many(self, texts: Sequence[str], *, bos: bool = False) -> list[list[int]]:
        with self._lock:
            return [list(self._llama.tokenize(t.encode("utf-8"), add_bos=bos, special=False)) for t in texts]

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
