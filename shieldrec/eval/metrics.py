"""Ranking metrics for one relevant item per list (leave-one-out), from its 1-based rank."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

NDCG_CUTOFFS = (1, 5, 10, 20)
HIT_CUTOFFS = (1, 3)
METRICS = tuple([f"NDCG@{k}" for k in NDCG_CUTOFFS] + [f"HR@{k}" for k in HIT_CUTOFFS] + ["MRR"])


def rank_of(target: str, ranking: Sequence[str]) -> int:
    """The 1-based position of `target`; a ranking that dropped it puts it after everything."""
    try:
        return ranking.index(target) + 1
    except ValueError:
        return len(ranking) + 1


def ndcg_at(rank: int, k: int) -> float:
    """With a single relevant item the ideal DCG is 1, so NDCG is its discounted gain."""
    return 1.0 / math.log2(rank + 1) if 1 <= rank <= k else 0.0


def hit_at(rank: int, k: int) -> float:
    return 1.0 if 1 <= rank <= k else 0.0


def reciprocal_rank(rank: int) -> float:
    return 1.0 / rank if rank >= 1 else 0.0


def summarize(ranks: Iterable[int]) -> dict[str, float]:
    """Each metric averaged over the lists (users); an empty input averages to 0."""
    ranks = list(ranks)
    n = len(ranks) or 1
    out = {f"NDCG@{k}": sum(ndcg_at(r, k) for r in ranks) / n for k in NDCG_CUTOFFS}
    out.update({f"HR@{k}": sum(hit_at(r, k) for r in ranks) / n for k in HIT_CUTOFFS})
    out["MRR"] = sum(reciprocal_rank(r) for r in ranks) / n
    return out
