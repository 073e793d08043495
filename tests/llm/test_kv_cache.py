"""What makes likelihood scoring affordable: the prompt prefix is evaluated once and kept in llama.cpp's
KV cache, and the candidates are decoded together, several sequences in one batch.

The model runs in this process (what the worker runs), with every batch it decodes recorded on its way
to llama.cpp: each entry is (token, position, sequence, wants_logits).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from shieldrec.llm.models import describe
from shieldrec.llm.runtime import SEQUENCES, LocalLLM

pytestmark = [pytest.mark.llm, pytest.mark.slow]

TITLES = ("The Old Man and the Sea", "Moby-Dick, or The Whale", "Jaws: The Revenge", "Dune Messiah", "Emma in Winter",
          "It Follows",
          "Twenty Thousand Leagues Under the Seas", "Master and Commander", "The Perfect Storm")


@pytest.fixture(scope="module")
def local(bundled_gguf: Path) -> Iterator[LocalLLM]:
    llm = LocalLLM(bundled_gguf, describe(bundled_gguf, bundled=True), n_ctx=1024, device="cpu")
    yield llm
    llm.close()


@pytest.fixture
def decoded(local: LocalLLM, monkeypatch: pytest.MonkeyPatch) -> list[list[tuple[int, int, int, bool]]]:
    """Every batch the model decodes from here on (the real decode still runs)."""
    batches: list[list[tuple[int, int, int, bool]]] = []
    real = local._decode

    def recording(entries: list[tuple[int, int, int, bool]]) -> np.ndarray:
        batches.append(list(entries))
        return real(entries)

    monkeypatch.setattr(local, "_decode", recording)
    return batches


def _prompt(local: LocalLLM, reader: str) -> tuple[list[int], list[list[int]]]:
    prefix = local.tokenize(f"A reader who {reader}. Their next pick:", bos=True)
    return prefix, [local.tokenize(f" {title}") for title in TITLES]


def test_the_prefix_is_evaluated_once_and_then_read_from_the_cache(
        local: LocalLLM, decoded: list[list[tuple[int, int, int, bool]]]) -> None:
    prefix, candidates = _prompt(local, "loves quiet novels about the sea")
    first = local.score_continuations(prefix, candidates)
    in_prefix = [e for batch in decoded for e in batch if e[2] == 0]
    assert [e[0] for e in in_prefix] == prefix  # every prefix token decoded once, in order, in sequence 0
    decoded.clear()
    again = local.score_continuations(prefix, candidates)
    assert decoded and not [e for batch in decoded for e in batch if e[2] == 0]  # no prefix token decoded again
    # The candidates sit right after the cached prefix, and score exactly as before.
    assert min(e[1] for batch in decoded for e in batch) == len(prefix)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))

    other, _ = _prompt(local, "wants a frightening film tonight")
    decoded.clear()
    local.score_continuations(other, candidates)
    assert [e[0] for batch in decoded for e in batch if e[2] == 0] == other  # a new prefix is evaluated in full


def test_candidates_share_a_batch_and_score_as_they_would_alone(
        local: LocalLLM, decoded: list[list[tuple[int, int, int, bool]]]) -> None:
    prefix, candidates = _prompt(local, "reads sea stories and adventure")
    assert all(len(c) > 1 for c in candidates)  # each needs its own decoded tokens
    local.score_continuations(prefix, candidates[:1])  # the prefix is cached: only candidates decode below
    decoded.clear()
    together = local.score_continuations(prefix, candidates, together=True)
    batches_together = [sorted({e[2] for e in batch} - {0}) for batch in decoded]  # candidate sequences
    decoded.clear()
    alone = local.score_continuations(prefix, candidates, together=False)
    batches_alone = [sorted({e[2] for e in batch} - {0}) for batch in decoded]

    assert len(batches_alone) == len(candidates), batches_alone
    assert all(len(seqs) == 1 for seqs in batches_alone), batches_alone  # one candidate per decode
    # Up to SEQUENCES-1 candidates in one decode, each in its own sequence beside the prefix.
    assert max(len(seqs) for seqs in batches_together) == min(len(candidates), SEQUENCES - 1)
    assert len(batches_together) < len(candidates)
    for a, b in zip(together, alone, strict=True):
        assert a.shape == b.shape and np.all(np.isfinite(a))


@pytest.mark.xfail(strict=True, reason=(
    "measured here: a candidate decoded beside others scores up to 0.5 nats per token away from the same "
    "candidate decoded alone (runtime.score_continuations promises a difference in the last digits only); "
    "until the cause is found, batched likelihoods are not those of the candidate alone"))
def test_a_candidates_score_hardly_moves_with_its_batch_mates(local: LocalLLM) -> None:
    prefix, candidates = _prompt(local, "reads sea stories and adventure")
    together = local.score_continuations(prefix, candidates, together=True)
    alone = local.score_continuations(prefix, candidates, together=False)
    for a, b in zip(together, alone, strict=True):
        np.testing.assert_allclose(a, b, atol=0.02)
