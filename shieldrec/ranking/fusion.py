"""The fusion stage: each signal times its user-visible weight, plus fixed penalties.

Built-in signals and pluggable scorers (the local language model's, for one) are
treated alike: weight from settings.ranking.weights (0 when absent), contribution kept
per item under the signal's name so the user can see what moved what. A pluggable
scorer that fails or answers nonsense is logged and contributes nothing.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from shieldrec.items import Item
from shieldrec.ranking.contribution import Contribution
from shieldrec.ranking.types import RankRequest, Scorer
from shieldrec.sanitize import clean_text

log = logging.getLogger(__name__)

SIGNAL_LIMIT = 3.0  # a pluggable scorer's values are clipped here: one scorer cannot drown the rest


@dataclass
class Fused:
    scores: np.ndarray
    components: list[dict[str, float]]
    # Per item: (contribution, reason) for every signal that has something to say.
    evidence: list[list[tuple[float, str]]]


def scorer_name(scorer: Scorer) -> str:
    """The name a plug-in scorer's weight and component go by."""
    return str(getattr(scorer, "name", "") or type(scorer).__name__)


def run_scorers(
    scorers: Sequence[Scorer], request: RankRequest, items: list[Item], weights: Mapping[str, float]
) -> dict[str, Contribution]:
    """Pluggable scorers with a non-zero weight; a failing one is dropped (and logged)."""
    out: dict[str, Contribution] = {}
    for scorer in scorers:
        name = scorer_name(scorer)
        if not weights.get(name, 0.0) or not items:
            continue  # a zero weight means its work would be thrown away: skip it
        try:
            signals = list(scorer.score(request, list(items)))
            if len(signals) != len(items):
                raise ValueError(f"returned {len(signals)} signals for {len(items)} items")
            values = np.asarray([float(s.value) for s in signals], dtype=np.float64)
            if not np.all(np.isfinite(values)):
                raise ValueError("returned a value that is not a finite number")
            reasons = [clean_text(getattr(s, "reason", ""), 200) for s in signals]
        except Exception as exc:  # noqa: BLE001 - any failure of a plug-in drops only that plug-in
            log.warning("scorer %r failed and was left out of this ranking: %s", name, exc)
            continue
        out[name] = Contribution(np.clip(values, -SIGNAL_LIMIT, SIGNAL_LIMIT).astype(np.float32), reasons)
    return out


def fuse(
    n: int,
    signals: Mapping[str, Contribution],
    weights: Mapping[str, float],
    penalties: Mapping[str, np.ndarray],
) -> Fused:
    """Weighted sum of `signals`; `penalties` (already in score units, >= 0) are subtracted."""
    scores = np.zeros(n, dtype=np.float64)
    parts: list[tuple[str, np.ndarray, list[str]]] = []
    for name, contribution in signals.items():
        weight = float(weights.get(name, 0.0))
        if not weight or not math.isfinite(weight):
            continue
        weighted = weight * contribution.values.astype(np.float64)
        scores += weighted
        parts.append((name, weighted, contribution.reasons))
    for name, amount in penalties.items():
        scores -= amount
        parts.append((name, -amount, [""] * n))
    np.nan_to_num(scores, copy=False, nan=0.0, posinf=SIGNAL_LIMIT, neginf=-SIGNAL_LIMIT)
    rows = [(name, v.tolist(), reasons) for name, v, reasons in parts]  # Python floats: cheap to read one by one
    components = [{name: round(v[j], 6) for name, v, _ in rows if v[j] != 0.0} for j in range(n)]
    evidence = [[(v[j], reasons[j]) for _, v, reasons in rows if reasons[j] and v[j] != 0.0] for j in range(n)]
    return Fused(scores, components, evidence)
