"""The personal model: a linear correction over the ranker's features, fitted on one profile's
feedback by a few gradient steps, on top of the shipped prior.

    score(x) = prior(x) + blend(n) · x·h

`h` is fitted on the profile's own lists (examples.py): for every pair of candidates the user
judged differently, the better one should score higher (a weighted pairwise logistic loss on
the prior's score plus x·h), with a ridge penalty that pulls h back to 0, that is, to the
prior. The blend is the rule that decides how much it counts:

    blend(n) = 0                      when n < MIN_EVENTS feedback events
             = n / (n + HALF_EVENTS)  otherwise, times `trust`

so its weight grows with evidence: 0 for a new profile and for one with five events (it then
ranks exactly as the prior does), one half at HALF_EVENTS events, close to 1 at thousands.
`trust` is a check on feedback the fit did not see: the newest HELD_OUT share of the lists is
held out, and when the corrected model orders them worse than the prior, trust is 0 (the
profile keeps ranking as the prior until more feedback says otherwise).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from shieldrec.items import HistoryEvent
from shieldrec.learning.examples import Judged
from shieldrec.store.learned import PersonalModel

MIN_EVENTS = 10
HALF_EVENTS = 40
HELD_OUT = 0.2
MIN_HELD_OUT_PAIRS = 8
STEPS = 40
LR = 0.1
RIDGE = 0.1
FROZEN = ("platform_rank",)  # the order a list was shown in is ours, not the user's taste


def blend(events: int, trust: float = 1.0) -> float:
    return 0.0 if events < MIN_EVENTS else round(trust * events / (events + HALF_EVENTS), 4)


@dataclass
class Pairs:
    """Every "a above b" of a set of lists: feature differences, the prior's score difference,
    and how much each pair counts (the difference of the two gains)."""

    diff: np.ndarray  # pairs x features
    prior: np.ndarray  # pairs
    weight: np.ndarray  # pairs

    @property
    def count(self) -> int:
        return int(self.diff.shape[0])


def pairs(lists: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> Pairs:
    """From (features, prior scores, gains) per list."""
    diffs, priors, weights = [], [], []
    for x, p, g in lists:
        i, j = np.nonzero(g[:, None] > g[None, :])
        if i.size:
            diffs.append(x[i] - x[j])
            priors.append(p[i] - p[j])
            weights.append(g[i] - g[j])
    if not diffs:
        return Pairs(np.zeros((0, 0), dtype=np.float32), np.zeros(0), np.zeros(0))
    return Pairs(np.concatenate(diffs).astype(np.float32), np.concatenate(priors).astype(np.float32),
                 np.concatenate(weights).astype(np.float32))


def fit(p: Pairs, n_features: int, frozen: Sequence[int] = (), start: np.ndarray | None = None,
        steps: int = STEPS, ridge: float = RIDGE, device: str = "cpu") -> np.ndarray:
    """h (the prior's output units per raw feature unit) by `steps` full-batch Adam steps on
    the weighted pairwise logistic loss plus the ridge, with its gradient written out (a
    profile's few thousand comparisons cost more in autograd's bookkeeping than in arithmetic).
    On the CPU (the default: done before a GPU would have its data) in numpy, deterministic;
    on "cuda"/"auto", the same steps in torch on the device `shieldrec.devices` picks."""
    if p.count == 0:
        return np.zeros(n_features, dtype=np.float32)
    mask = np.ones(n_features, dtype=np.float32)
    mask[list(frozen)] = 0.0
    g0 = None if start is None else np.asarray(start, dtype=np.float32)
    if device == "cpu":
        # Matrices this small finish before a second BLAS thread has started; on a busy CPU its
        # spinning makes the fit several times slower.
        # A damaged feature makes the steps' arithmetic invalid (numpy would warn at each); the result
        # is checked below instead, once.
        with _blas().limit(limits=1, user_api="blas"), np.errstate(invalid="ignore"):
            h = _adam(np, p.diff, p.prior, p.weight, mask, g0, steps, ridge)
    else:
        h = _fit_torch(p, mask, g0, steps, ridge, device)
    # Weights that are not numbers would scramble every list they touch: no learned weights then.
    return h if np.isfinite(h).all() else np.zeros(n_features, dtype=np.float32)


def _fit_torch(p: Pairs, mask: np.ndarray, g0: np.ndarray | None, steps: int, ridge: float,
               device: str) -> np.ndarray:
    import torch

    from shieldrec.devices import torch_device

    where = torch_device(device)

    def on(a: np.ndarray | None) -> Any:
        return None if a is None else torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).to(where)

    out = _adam(torch, on(p.diff), on(p.prior), on(p.weight), on(mask), on(g0), steps, ridge)
    return out.cpu().numpy()


@lru_cache(maxsize=1)
def _blas() -> Any:
    """The BLAS libraries numpy loaded, found once (finding them costs milliseconds)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def _adam(xp: Any, diff: Any, prior: Any, weight: Any, mask: Any, start: Any, steps: int, ridge: float,
          b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> Any:
    """The fit on numpy or torch arrays alike (`xp` is the module)."""
    scale = xp.clip(xp.abs(diff).mean(0), 1e-3, None)  # each feature's typical difference: one step size
    z = diff / scale * mask
    w = weight / weight.sum()
    g = start * scale if start is not None else xp.zeros_like(scale)
    m, v = xp.zeros_like(g), xp.zeros_like(g)
    for t in range(1, steps + 1):
        margin = xp.clip(prior + z @ g, -30.0, 30.0)
        # d/dg of sum(w * softplus(-margin)) + ridge * |g|^2
        grad = -(z.T @ (w / (1.0 + xp.exp(margin)))) + 2.0 * ridge * g
        m = b1 * m + (1 - b1) * grad
        v = b2 * v + (1 - b2) * grad * grad
        g = g - LR * (m / (1 - b1**t)) / (xp.sqrt(v / (1 - b2**t)) + eps)
    h = g * mask / scale
    return h.astype(np.float32) if xp is np else h.float()


def order_agreement(p: Pairs, h: np.ndarray | None, weight: float = 1.0) -> float:
    """Weighted share of pairs put in the user's order (ties count half)."""
    if p.count == 0:
        return float("nan")
    margin = p.prior + (p.diff @ h * weight if h is not None else 0.0)
    right = np.where(margin > 1e-9, 1.0, np.where(margin < -1e-9, 0.0, 0.5))
    return float((right * p.weight).sum() / p.weight.sum())


@dataclass
class Fitted:
    model: PersonalModel
    pairs: int
    seconds: float


def train(lists: Sequence[Judged], features: Sequence[tuple[list[str], np.ndarray]], prior_scores: Sequence[np.ndarray],
          feature_names: Sequence[str], prior_version: str, *, newest_event: int = 0,
          previous: PersonalModel | None = None, feedback: Sequence[HistoryEvent] | None = None) -> Fitted:
    """Fit the profile's correction from its lists (features and prior scores per list, as the
    pipeline's `features_many` and the ranker give them) and decide its blend. `feedback`: every
    feedback event it learns from (default: those the lists hold), what its count and the blend
    rule read."""
    started = time.perf_counter()
    triples = []
    for judged, (ids, x), scores in zip(lists, features, prior_scores):
        if len(ids) < 2:
            continue
        g = np.asarray([judged.gains.get(i, 0.0) for i in ids], dtype=np.float32)
        triples.append((x, np.asarray(scores, dtype=np.float32), g))
    names = tuple(feature_names)
    frozen = [names.index(f) for f in FROZEN if f in names]
    start = None
    if previous is not None and previous.features == names and previous.prior == prior_version:
        start = previous.weights
    events = list(feedback) if feedback is not None else [ev for j in lists for ev in j.events]
    n = len({(ev.item.item_id, ev.event, ev.at) for ev in events})
    cut = int(round(len(triples) * (1 - HELD_OUT)))
    trust, held = 1.0, {}
    if 0 < cut < len(triples):
        fit_part, check_part = pairs(triples[:cut]), pairs(triples[cut:])
        if check_part.count >= MIN_HELD_OUT_PAIRS and fit_part.count:
            trial = fit(fit_part, len(names), frozen, start)
            a = blend(n)
            before, after = order_agreement(check_part, None), order_agreement(check_part, trial, a or 1.0)
            held = {"pairs": float(check_part.count), "prior": round(before, 4), "personal": round(after, 4)}
            trust = 1.0 if after >= before else 0.0
    every = pairs(triples)
    h = fit(every, len(names), frozen, start)
    taught: dict[str, int] = {}
    for ev in {(ev.item.item_id, ev.event, ev.at): ev for ev in events}.values():
        taught[ev.event] = taught.get(ev.event, 0) + 1
    seconds = time.perf_counter() - started
    model = PersonalModel(prior=prior_version, features=names, weights=h, events=n, pairs=every.count,
                          blend=blend(n, trust), taught_by=taught, newest_event=newest_event, held_out=held,
                          seconds=round(seconds, 4))
    return Fitted(model, every.count, seconds)
