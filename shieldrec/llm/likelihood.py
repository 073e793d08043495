"""Likelihood scoring: what a base language model is good for.

For each candidate, how much more likely its text becomes when the model has read the
user's profile and request first: the mean per-token log-probability after the profile
prompt minus the same after a neutral prompt (pointwise mutual information). The
per-token mean keeps long descriptions from losing for their length; subtracting the
unconditional term keeps common, predictable texts from winning for their blandness.
The profile prompt is evaluated once per request and shared by every candidate, which
are decoded in batches; the unconditional terms depend on the text alone, are computed
one text at a time and remembered across requests. So the same request always gets the
same scores, whatever ran before it.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from shieldrec.items import Item
from shieldrec.llm import prompts
from shieldrec.llm.client import LlmClient
from shieldrec.llm.registry import UsesModel
from shieldrec.ranking.constraints import parse_instruction
from shieldrec.ranking.types import RankRequest, Signal
from shieldrec.settings import LlmSettings

if TYPE_CHECKING:
    from shieldrec.llm.runtime import LocalLLM

log = logging.getLogger(__name__)

MAX_TOKENS = 64  # of each candidate's text: bounds the cost per candidate
SCALE = 0.5  # nats per token of PMI that map to a signal of about +-0.76 (tanh(1))
REASON_AT = 0.5
UNCONDITIONAL_MEMORY = 50_000

# (model file, continuation tokens) -> mean unconditional log-probability, shared by every
# scorer in the process: it depends on the model and the text, never on the user.
_unconditional: OrderedDict[tuple[str, tuple[int, ...]], float] = OrderedDict()
_unconditional_lock = threading.Lock()


class LikelihoodScorer(UsesModel):
    """The `Scorer` named "llm": fused with the user's weight for "llm", like any other signal."""

    name = "llm"

    def __init__(self, source: LlmClient | LocalLLM | LlmSettings, *, max_tokens: int = MAX_TOKENS, scale: float = SCALE) -> None:
        super().__init__(source)
        self.max_tokens = max(4, int(max_tokens))
        self.scale = float(scale) if scale > 0 else SCALE

    def _tokens(self, items: Sequence[Item]) -> list[list[int]]:
        """Each item's continuation, all tokenized in one call; an item with no text is
        read by its id instead (and, failing that, as one arbitrary token)."""
        llm = self.llm
        out = [t[: self.max_tokens] for t in llm.tokenize_many([prompts.continuation(item) for item in items])]
        empty = [i for i, t in enumerate(out) if not t]
        if empty:
            by_id = llm.tokenize_many([prompts.data(items[i].item_id, 40) for i in empty])
            for i, tokens in zip(empty, by_id):
                out[i] = tokens[: self.max_tokens] or [llm.n_vocab - 1]
        return out

    def _unconditional_means(self, conts: list[list[int]]) -> np.ndarray:
        llm = self.llm
        keys = [(str(llm.path), tuple(c)) for c in conts]
        with _unconditional_lock:
            known = {k: _unconditional[k] for k in keys if k in _unconditional}
            for k in known:
                _unconditional.move_to_end(k)
        todo = list(dict.fromkeys(k for k in keys if k not in known))
        if todo:
            prefix = llm.tokenize(prompts.NEUTRAL_PREFIX, bos=True)
            # One at a time: a remembered value must not depend on which request computed it,
            # or the same request would score differently after others ran.
            scored = llm.score_continuations(prefix, [list(k[1]) for k in todo], together=False)
            with _unconditional_lock:
                for key, lps in zip(todo, scored):
                    known[key] = float(lps.mean())
                    _unconditional[key] = known[key]
                while len(_unconditional) > UNCONDITIONAL_MEMORY:
                    _unconditional.popitem(last=False)
        return np.asarray([known[k] for k in keys], dtype=np.float64)

    def pmi(self, request: RankRequest, items: Sequence[Item]) -> np.ndarray:
        """Per item: mean log p(text | profile and request) - mean log p(text), in nats per token."""
        if not items:
            return np.zeros(0)
        llm = self.llm
        intent = request.intent if request.intent is not None else parse_instruction(request.instruction)
        conts = self._tokens(items)
        prefix = llm.tokenize(prompts.likelihood_prefix(request, intent), bos=True)
        conditional = np.asarray([float(lps.mean()) for lps in llm.score_continuations(prefix, conts)])
        return conditional - self._unconditional_means(conts)

    def score(self, request: RankRequest, items: list[Item]) -> list[Signal]:
        pmi = self.pmi(request, items)
        if len(pmi) == 0:
            return []
        center = float(np.median(pmi))
        out = []
        for value in pmi:
            v = math.tanh((float(value) - center) / self.scale)
            if v >= REASON_AT:
                reason = "the local language model finds it a likely pick for you"
            elif v <= -REASON_AT:
                reason = "demoted: the local language model finds it an unlikely pick for you"
            else:
                reason = ""
            out.append(Signal(v, reason))
        return out
