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
    sim = np.clip(similarity, 0.0, 1.0).tolist()
    base = ((1.0 - d) * rel).tolist()
    # Plain floats: for the few dozen candidates of a request, a Python loop is several times
    # faster than a numpy call per step. Ties go to the lower index, as np.argmax would.
    closest = [0.0] * n
    nearest = [-1] * n
    free = list(range(n))
    order: list[int] = []
    resembled = [-1] * n
    for _ in range(n):
        j, best = free[0], float("-inf")
        for i in free:
            score = base[i] - d * closest[i]
            if score > best:
                j, best = i, score
        free.remove(j)
        order.append(j)
        resembled[j] = nearest[j]
        row = sim[j]
        for i in range(n):
            if row[i] > closest[i]:
                closest[i] = row[i]
                nearest[i] = j
    return order, resembled
