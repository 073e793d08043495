"""The diversity stage: maximal marginal relevance over the fused list.

Each next pick maximises (1 - d) * relevance - d * (similarity to what is already
picked), with d the user's diversity setting: 0 keeps the relevance order, 1 spreads the
list as widely as the candidates allow. Relevance is rescaled to 0..1 first so the
setting means the same whatever the scorers' units.
"""

from __future__ import annotations

import numpy as np

SIMILAR = 0.3  # cosine above which "similar to X above" explains a demotion
NEAR_DUPLICATE = 0.6  # and above which it is "much like X above"


def mmr(relevance: np.ndarray, similarity: np.ndarray, diversity: float) -> tuple[list[int], list[int]]:
    """The order to show the candidates in, and for each candidate the index of the already
    placed candidate it most resembled when it was placed (-1 when it was first)."""
    n = int(relevance.shape[0])
    if n == 0:
        return [], []
    d = float(min(max(diversity, 0.0), 1.0))
    if d == 0.0 or n == 1:
        order = list(np.argsort(-relevance, kind="stable"))
        return [int(i) for i in order], [-1] * n
    span = float(relevance.max() - relevance.min())
    rel = (relevance - relevance.min()) / span if span > 0 else np.zeros(n)
    sim = np.clip(similarity, 0.0, 1.0)
    base = (1.0 - d) * rel
    closest = np.zeros(n)
    nearest = np.full(n, -1, dtype=np.int64)
    taken = np.zeros(n, dtype=bool)
    order: list[int] = []
    resembled = [-1] * n
    for _ in range(n):
        score = np.where(taken, -np.inf, base - d * closest)
        j = int(np.argmax(score))
        order.append(j)
        resembled[j] = int(nearest[j])
        taken[j] = True
        row = sim[j]
        closer = row > closest
        closest = np.where(closer, row, closest)
        nearest = np.where(closer, j, nearest)
    return order, resembled
