"""Listwise re-ranking of the top of the list by an instruction-tuned model.

The model sees the top K items as labelled data blocks and answers with the labels in
order. Decoding is constrained so that the answer is always a permutation: at each step
only a label not used yet may be emitted, so no pass is ever half-valid. LLM rankers
favour whatever is shown first, so each pass shows the items in a different seeded
shuffle and the passes are aggregated by Borda count; ties keep the fused order.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from shieldrec.errors import LlmUnavailable, ModelError
from shieldrec.items import Item
from shieldrec.llm import prompts
from shieldrec.llm.client import LlmClient
from shieldrec.llm.registry import UsesModel
from shieldrec.ranking.types import Ranked, RankRequest
from shieldrec.settings import LlmSettings

if TYPE_CHECKING:
    from shieldrec.llm.runtime import LocalLLM

log = logging.getLogger(__name__)

LABELS = "ABCDEFGHIJKLMNOPQRST"  # one token each in common vocabularies; K is capped at 20
MIN_K, MAX_K = 2, len(LABELS)
SEPARATOR = " >"
MOVED_UP = "the local language model placed it higher among the top {k}"


class LabelTokensError(ModelError):
    """This model's vocabulary has no single, distinct token for each label."""


def borda(permutations: Sequence[Sequence[int]], n: int) -> np.ndarray:
    """Points per item: n-1 for a first place, 0 for a last, summed over the passes."""
    points = np.zeros(n, dtype=np.float64)
    for perm in permutations:
        for place, item in enumerate(perm):
            points[item] += n - 1 - place
    return points


def is_permutation(answer: Sequence[int], n: int) -> bool:
    return len(answer) == n and sorted(answer) == list(range(n))


class ListwiseReranker(UsesModel):
    """The pipeline's `reorder` hook. Only instruction-tuned models are asked, unless
    `allow_base_model` (for measuring cost and validity: a base model's order means little)."""

    def __init__(self, source: LlmClient | LocalLLM | LlmSettings, *, top_k: int = 10, passes: int = 3, seed: int = 0,
                 allow_base_model: bool = False) -> None:
        super().__init__(source)
        self.top_k = min(max(int(top_k), MIN_K), MAX_K)
        self.passes = max(int(passes), 1)
        self.seed = seed
        self.allow_base_model = allow_base_model
        self._labels: tuple[list[int], list[int]] | None = None

    def _label_tokens(self) -> tuple[list[int], list[int]]:
        if self._labels is None:
            llm = self.llm
            choices = []
            for letter, tokens in zip(LABELS, llm.tokenize_many([" " + letter for letter in LABELS])):
                if len(tokens) != 1:
                    raise LabelTokensError(f"{llm.info.name} splits the label {letter!r}; listwise ranking is skipped")
                choices.append(tokens[0])
            if len(set(choices)) != len(choices):
                raise LabelTokensError(f"{llm.info.name} merges labels; listwise ranking is skipped")
            self._labels = (choices, llm.tokenize(SEPARATOR))
        return self._labels

    def _prompt(self, request: RankRequest, labelled: list[tuple[str, Item]]) -> list[int]:
        """The prompt's tokens; descriptions are shortened (to nothing, at worst) until the
        prompt and the answer fit the context window."""
        llm = self.llm
        room = llm.n_ctx - len(labelled) * 4 - 8
        chars = prompts.ITEM_CHARS
        while True:
            if llm.has_chat_template:
                messages = prompts.listwise_messages(request, labelled, chars)
                tokens = llm.prompt_tokens(llm.chat_prompt(messages) + prompts.LISTWISE_ANSWER)
            else:
                tokens = llm.tokenize(prompts.listwise_prompt(request, labelled, chars), bos=True)
            if len(tokens) <= room or chars == 0:
                return tokens
            chars = chars // 2 if chars > 50 else 0

    def orders(self, request: RankRequest, items: Sequence[Item]) -> list[list[int]]:
        """One permutation of range(len(items)) per pass, best first, in the items' own indices."""
        llm = self.llm
        if not llm.has_chat_template and not self.allow_base_model:
            raise LlmUnavailable(f"{llm.info.name} is a base model: listwise re-ranking needs a chat model")
        n = len(items)
        choices, between = self._label_tokens()
        rng = np.random.default_rng([self.seed, zlib.crc32(request.request_id.encode("utf-8"))])
        out = []
        for _ in range(self.passes):
            shown = [int(i) for i in rng.permutation(n)]
            labelled = [(LABELS[pos], items[i]) for pos, i in enumerate(shown)]
            picked = llm.choose_order(self._prompt(request, labelled), choices[:n], between)
            order = [shown[p] for p in picked]
            if is_permutation(order, n):
                out.append(order)
            else:  # cannot happen with constrained decoding; checked so a bug cannot reorder anything
                log.warning("listwise pass discarded: not a permutation")
        return out

    def __call__(self, request: RankRequest, ranked: list[Ranked]) -> list[Ranked]:
        k = min(self.top_k, len(ranked))
        if k < MIN_K:
            return ranked
        head = ranked[:k]
        orders = self.orders(request, [r.item for r in head])
        if not orders:
            return ranked
        points = borda(orders, k)
        # Stable sort on points: ties keep the fused order the model was asked to improve on.
        new = sorted(range(k), key=lambda i: (-points[i], i))
        out = []
        for place, i in enumerate(new):
            r = head[i]
            if place < i:
                r.reasons = [*r.reasons, MOVED_UP.format(k=k)]
            out.append(r)
        return out + ranked[k:]
