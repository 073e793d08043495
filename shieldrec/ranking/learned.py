"""The learned ranker: a small torch model over `features.FEATURES`, trained listwise.

The shipped weights are a JSON file inside the package (`weights/ranker-v*.json`, with
its model card beside it) that loads in milliseconds without importing torch: scoring a
20-candidate request is a couple of small numpy products. torch is used to train
(`train`, `scripts/train_ranker.py`) and to score large batches (`LearnedRanker.module`),
on the device `shieldrec.devices.torch_device` picks.

Score = prior(x) + head(x): the prior is the shipped model; `ResidualHead` is a linear
term over the same features that starts at zero and is meant to be fitted per profile on
that profile's own feedback, so a new profile ranks exactly as the prior does.

A score splits into one part per feature group (`contributions`): the prior's first layer
is linear in the features, so for the linear model the split is exact; for a hidden layer
it is the drop in score when the group is set to its neutral value (0: every feature is
centred within the request). That split is what says which reason is true.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from shieldrec.errors import ModelError
from shieldrec.ranking.features import FEATURES, GATES, GROUPS, MODEL_FEATURES, open_gates, schema_fingerprint

log = logging.getLogger(__name__)

WEIGHTS_PACKAGE = "shieldrec.ranking.weights"
SHIPPED = "ranker-v2.json"
FORMAT = 2


@dataclass
class RankerWeights:
    """Everything needed to score: the layers, the feature names they expect, and the card."""

    features: tuple[str, ...]
    layers: list[tuple[np.ndarray, np.ndarray]]  # (W: out x in, b: out), tanh between layers
    shift: np.ndarray  # subtracted from each feature before the first layer...
    spread: np.ndarray  # ...which is then divided by this
    scale: float = 1.0  # model output -> score units (comparable with the hand-set signals)
    version: str = "dev"
    card: dict[str, Any] = field(default_factory=dict)
    # Per open gate (features.GATES), a correction added to the linear layer's weights: a request
    # that carries an instruction, or public counts, is scored with weights fitted to such requests.
    gates: dict[str, np.ndarray] = field(default_factory=dict)
    schema: str = field(default_factory=schema_fingerprint)

    @property
    def kind(self) -> str:
        return "linear" if len(self.layers) == 1 else f"mlp-{self.layers[0][0].shape[0]}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": self.version,
            "kind": self.kind,
            "features": list(self.features),
            "shift": [round(float(v), 7) for v in self.shift],
            "spread": [round(float(v), 7) for v in self.spread],
            "scale": round(float(self.scale), 7),
            "schema": self.schema,
            "gates": {g: [round(float(v), 7) for v in w] for g, w in self.gates.items()},
            "layers": [{"weight": [[round(float(v), 7) for v in row] for row in w],
                        "bias": [round(float(v), 7) for v in b]} for w, b in self.layers],
            "card": self.card,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> RankerWeights:
        try:
            if raw.get("format") != FORMAT:
                raise ValueError(f"format {raw.get('format')!r}, expected {FORMAT}")
            schema = str(raw.get("schema", ""))
            if schema != schema_fingerprint():
                # Weights fitted to other feature code score numbers that mean something else now.
                raise ValueError(f"they were trained on feature schema {schema or 'unknown'!r}, and this version "
                                 f"computes {schema_fingerprint()!r}: retrain them (scripts/train_ranker.py)")
            names = tuple(str(n) for n in raw["features"])
            f = len(names)
            layers = []
            width = f
            for layer in raw["layers"]:
                w = np.asarray(layer["weight"], dtype=np.float32)
                b = np.asarray(layer["bias"], dtype=np.float32)
                if w.ndim != 2 or w.shape[1] != width or b.shape != (w.shape[0],):
                    raise ValueError(f"a layer of shape {w.shape} does not follow one of width {width}")
                layers.append((w, b))
                width = w.shape[0]
            if not layers or width != 1:
                raise ValueError("the last layer must have one output")
            shift = np.asarray(raw["shift"], dtype=np.float32)
            spread = np.asarray(raw["spread"], dtype=np.float32)
            if shift.shape != (f,) or spread.shape != (f,) or not np.all(spread > 0):
                raise ValueError("shift and spread must have one positive entry per feature")
            scale = float(raw.get("scale", 1.0))
            gates = {}
            for g, w in dict(raw.get("gates") or {}).items():
                if g not in GATES:
                    raise ValueError(f"unknown gate {g!r} (known: {', '.join(GATES)})")
                gates[g] = np.asarray(w, dtype=np.float32)
                if gates[g].shape != (f,) or len(layers) != 1:
                    raise ValueError(f"gate {g!r} needs one weight per feature of a linear model")
            arrays = [shift, spread, *(a for pair in layers for a in pair), *gates.values()]
            if not math.isfinite(scale) or not all(np.all(np.isfinite(a)) for a in arrays):
                raise ValueError("it holds a number that is not finite")
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"the ranker weights cannot be used: {exc}") from exc
        return cls(names, layers, shift, spread, scale, str(raw.get("version", "dev")), dict(raw.get("card") or {}),
                   gates, schema)

    def save(self, path: Path) -> Path:
        path.write_text(json.dumps(self.to_dict(), indent=1) + "\n", "utf-8")
        return path


def load_weights(path: Path | None = None) -> RankerWeights:
    """The weights in `path`, or the shipped ones."""
    try:
        if path is None:
            text = resources.files(WEIGHTS_PACKAGE).joinpath(SHIPPED).read_text("utf-8")
            where = f"{WEIGHTS_PACKAGE}/{SHIPPED}"
        else:
            text, where = Path(path).read_text("utf-8"), str(path)
        raw = json.loads(text)
    except (OSError, ValueError) as exc:
        raise ModelError(f"the ranker weights cannot be read ({exc}); reinstall ShieldRec") from exc
    if not isinstance(raw, dict):
        raise ModelError(f"{where} does not hold ranker weights")
    return RankerWeights.from_dict(raw)


@dataclass
class ResidualHead:
    """A per-profile linear correction over the same features, added to the prior's output.

    Zero weights change nothing. `weight` is in model-output units per raw feature unit."""

    weight: np.ndarray = field(default_factory=lambda: np.zeros(len(FEATURES), dtype=np.float32))
    bias: float = 0.0
    events: int = 0  # how much feedback fitted it (for the blend rule and for the user to see)

    def __post_init__(self) -> None:
        self.weight = np.asarray(self.weight, dtype=np.float32).reshape(-1)
        if self.weight.shape != (len(FEATURES),) or not np.all(np.isfinite(self.weight)):
            raise ModelError(f"a profile head needs {len(FEATURES)} finite weights")


class LearnedRanker:
    """Scores feature matrices with shipped (or given) weights; safe to share between threads."""

    def __init__(self, weights: RankerWeights) -> None:
        missing = [n for n in weights.features if n not in FEATURES]
        if missing:
            raise ModelError(f"the ranker weights expect features this version does not compute: {missing}")
        self.weights = weights
        self._columns = np.asarray([FEATURES.index(n) for n in weights.features], dtype=np.int64)
        self._groups = {g: np.asarray([weights.features.index(n) for n in names if n in weights.features],
                                      dtype=np.int64) for g, names in GROUPS.items()}
        # A profile head reads every computed feature, including ones the prior leaves out.
        self._head_groups = {g: np.asarray([FEATURES.index(n) for n in names], dtype=np.int64)
                             for g, names in GROUPS.items()}

    @classmethod
    def shipped(cls) -> LearnedRanker:
        return _shipped()

    @property
    def version(self) -> str:
        return self.weights.version

    def _inputs(self, x: np.ndarray) -> np.ndarray:
        w = self.weights
        return (x[:, self._columns] - w.shift) / w.spread

    def _layers(self, x: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """The layers that score this request: the first one corrected for each gate it opens."""
        layers = self.weights.layers
        if not self.weights.gates:
            return layers
        w, b = layers[0]
        for g in open_gates(x):
            if g in self.weights.gates:
                w = w + self.weights.gates[g][None, :]
        return [(w, b), *layers[1:]]

    def _forward(self, z: np.ndarray, layers: list[tuple[np.ndarray, np.ndarray]] | None = None) -> np.ndarray:
        h = z
        layers = self.weights.layers if layers is None else layers
        last = len(layers) - 1
        for i, (w, b) in enumerate(layers):
            h = h @ w.T + b
            if i < last:
                h = np.tanh(h)
        return h[:, 0]

    def score(self, x: np.ndarray, head: ResidualHead | None = None) -> np.ndarray:
        """One score per row of `x` (n x len(FEATURES)), in score units."""
        if x.shape[0] == 0:
            return np.zeros(0, dtype=np.float64)
        out = self._forward(self._inputs(x), self._layers(x)).astype(np.float64)
        if head is not None:
            out = out + x.astype(np.float64) @ head.weight + head.bias
        return out * self.weights.scale

    def contributions(self, x: np.ndarray, head: ResidualHead | None = None) -> dict[str, np.ndarray]:
        """Each feature group's part of `score(x)`, in score units; the parts sum to the score
        less its request-wide constant (which moves no candidate)."""
        n = x.shape[0]
        if n == 0:
            return {g: np.zeros(0) for g in GROUPS}
        z = self._inputs(x)
        neutral = -self.weights.shift / self.weights.spread  # a raw feature of 0, standardised
        layers = self._layers(x)
        linear = len(layers) == 1
        # Linear: each feature's part is exact, weight x (feature - neutral). Otherwise: the drop
        # in score when the group is set to neutral.
        terms = (z - neutral) * layers[0][0][0] if linear else None
        full = None if linear else self._forward(z, layers)
        scale = self.weights.scale
        out: dict[str, np.ndarray] = {}
        for group, cols in self._groups.items():
            part = np.zeros(n)
            if cols.size and terms is not None:
                part = terms[:, cols].sum(axis=1).astype(np.float64)
            elif cols.size:
                held = z.copy()
                held[:, cols] = neutral[cols]
                part = (full - self._forward(held, layers)).astype(np.float64)
            if head is not None:
                idx = self._head_groups[group]
                part = part + x[:, idx].astype(np.float64) @ head.weight[idx]
            # Rounding leaves ~1e-8 where a group's features are all 0: that is no push at all.
            out[group] = np.where(np.abs(part) < 1e-6, 0.0, part) * scale
        return out

    def module(self, device: str = "auto") -> Any:
        """The prior as a torch module on `device` ("auto": CUDA when torch sees a GPU), for batches:
        it takes raw feature rows (... x n x len(FEATURES): the last but one dimension holds one
        request's candidates, which is what a gate is read over) and returns scores in score units."""
        import torch

        from shieldrec.devices import torch_device

        w = self.weights
        net = _build_module(len(w.features), [layer.shape[0] for layer, _ in w.layers[:-1]])
        with torch.no_grad():
            for lin, (weight, bias) in zip((m for m in net if isinstance(m, torch.nn.Linear)), w.layers):
                lin.weight.copy_(torch.from_numpy(weight))
                lin.bias.copy_(torch.from_numpy(bias))
        gates = [(np.asarray([FEATURES.index(c) for c in GATES[g]], dtype=np.int64), delta) for g, delta in w.gates.items()]
        scorer = _scorer_class()(self._columns, w.shift, w.spread, net, w.scale, gates)
        return scorer.to(torch_device(device)).eval()


@lru_cache(maxsize=1)
def _scorer_class() -> type:
    import torch

    class Scorer(torch.nn.Module):
        """Column choice and standardisation, then the layers, then the scale: what `score` does."""

        def __init__(self, columns: np.ndarray, shift: np.ndarray, spread: np.ndarray, net: Any, scale: float,
                     gates: Sequence[tuple[np.ndarray, np.ndarray]] = ()) -> None:
            super().__init__()
            for i, (cols, delta) in enumerate(gates):
                self.register_buffer(f"gate_cols_{i}", torch.from_numpy(cols))
                self.register_buffer(f"gate_delta_{i}", torch.from_numpy(np.asarray(delta, dtype=np.float32)))
            self.gates = len(gates)
            self.register_buffer("columns", torch.from_numpy(columns))
            self.register_buffer("shift", torch.from_numpy(shift))
            self.register_buffer("spread", torch.from_numpy(spread))
            self.net = net
            self.scale = float(scale)

        def forward(self, x: Any) -> Any:
            z = (x.index_select(-1, self.columns) - self.shift) / self.spread
            out = self.net(z).squeeze(-1)
            for i in range(self.gates):
                cols, delta = getattr(self, f"gate_cols_{i}"), getattr(self, f"gate_delta_{i}")
                opened = (x.index_select(-1, cols) != 0).any(dim=-1).any(dim=-1, keepdim=True)
                out = out + opened * (z @ delta)
            return out * self.scale

    return Scorer


@lru_cache(maxsize=1)
def _shipped() -> LearnedRanker:
    started = time.perf_counter()
    ranker = LearnedRanker(load_weights())
    log.info("loaded ranker %s in %.1f ms", ranker.version, (time.perf_counter() - started) * 1000)
    return ranker


def _build_module(n_features: int, hidden: Sequence[int]) -> Any:
    import torch

    layers: list[Any] = []
    width = n_features
    for h in hidden:
        layers += [torch.nn.Linear(width, h), torch.nn.Tanh()]
        width = h
    layers.append(torch.nn.Linear(width, 1))
    return torch.nn.Sequential(*layers)


# -- training ----------------------------------------------------------------------------------


@dataclass
class TrainingList:
    """One ranked list to learn from: a feature row per candidate and the index of the one chosen."""

    x: np.ndarray
    target: int


@dataclass
class TrainingReport:
    lists: int
    epochs: int
    seconds: float
    device: str
    final_loss: float


def _pad(lists: Sequence[TrainingList], columns: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    width = max(len(t.x) for t in lists)
    x = np.zeros((len(lists), width, len(columns)), dtype=np.float32)
    mask = np.zeros((len(lists), width), dtype=bool)
    target = np.zeros(len(lists), dtype=np.int64)
    for i, t in enumerate(lists):
        x[i, : len(t.x)] = t.x[:, columns]
        mask[i, : len(t.x)] = True
        target[i] = t.target
    return x, mask, target


def _sharpness(xt: Any, mt: Any, tt: Any, direction: Any) -> float:
    """The factor t that makes t * (x . direction) the best listwise fit (a 1-D search)."""
    import torch

    with torch.no_grad():
        base = (xt @ direction).masked_fill(~mt, 0.0)
        best_t, best_loss = 1.0, float("inf")
        for t in np.geomspace(0.05, 50.0, 41):
            logits = (float(t) * base).masked_fill(~mt, -1e9)
            loss = float(torch.nn.functional.cross_entropy(logits, tt))
            if loss < best_loss:
                best_t, best_loss = float(t), loss
    return best_t


def train(
    lists: Sequence[TrainingList],
    *,
    features: Sequence[str] = MODEL_FEATURES,
    hidden: Sequence[int] = (),
    epochs: int = 60,
    batch: int = 256,
    lr: float = 0.02,
    weight_decay: float = 1e-4,
    seed: int = 0,
    device: str = "auto",
    scale_to: float | None = None,
    prior: Mapping[str, float] | None = None,
    prior_strength: float = 0.0,
    gates: Sequence[str] = (),
    gate_strength: float = 0.01,
    version: str = "dev",
    card: Mapping[str, Any] | None = None,
) -> tuple[RankerWeights, TrainingReport]:
    """Fit a listwise (softmax cross-entropy over each list) model; deterministic for a seed on CPU.

    `prior` (linear models): a weight per feature, in score units per raw feature unit, that
    the fit starts from and is pulled back to with `prior_strength`; its overall sharpness is
    fitted first. A feature the lists never exercise keeps its prior weight, so knowledge no
    training set holds (what an instruction is worth, when none has instructions) is kept.
    `scale_to`: the score spread (mean within-list standard deviation) the output should have,
    so learned scores sit on the same scale as the hand-set penalties; None keeps logits.
    `gates` (linear models): features.GATES to fit a weight correction for, each pulled to 0 with
    `gate_strength`, so a gate few lists open changes little."""
    import torch

    from shieldrec.devices import torch_device

    lists = [t for t in lists if len(t.x) >= 2 and 0 <= t.target < len(t.x)]
    if not lists:
        raise ValueError("nothing to train on: every list was empty or had no target")
    names = tuple(features)
    columns = np.asarray([FEATURES.index(n) for n in names], dtype=np.int64)
    if gates and hidden:
        raise ValueError("gates go with a linear model")
    unknown = [g for g in gates if g not in GATES]
    if unknown:
        raise ValueError(f"unknown gates {unknown}; known: {list(GATES)}")
    opened = np.asarray([[g in open_gates(t.x) for g in gates] for t in lists], dtype=np.float32).reshape(len(lists),
                                                                                                      len(gates))
    x, mask, target = _pad(lists, columns)
    rows = x[mask]
    shift = np.zeros(len(names), dtype=np.float32)  # features are centred within each list already
    spread = np.maximum(rows.std(axis=0), 1e-3).astype(np.float32)

    where = torch_device(device)
    torch.manual_seed(seed)
    gen = np.random.default_rng(seed)
    net = _build_module(len(names), hidden).to(where)
    xt = torch.from_numpy((x - shift) / spread).to(where)
    mt = torch.from_numpy(mask).to(where)
    tt = torch.from_numpy(target).to(where)
    started = time.perf_counter()
    anchor = None
    if prior and not hidden:
        raw = np.asarray([float(prior.get(n, 0.0)) for n in names], dtype=np.float32) * spread
        anchor = torch.from_numpy(raw * _sharpness(xt, mt, tt, torch.from_numpy(raw).to(where))).to(where)
        with torch.no_grad():
            net[0].weight.copy_(anchor.unsqueeze(0))
            net[0].bias.zero_()
    delta = torch.zeros((len(gates), len(names)), device=where, requires_grad=True)
    gt = torch.from_numpy(opened).to(where)
    opt = torch.optim.Adam([*net.parameters(), delta], lr=lr,
                           weight_decay=0.0 if anchor is not None else weight_decay)

    def logits_of(idx: Any) -> Any:
        out = net(xt[idx]).squeeze(-1)
        if len(gates):
            out = out + torch.einsum("lnf,lg,gf->ln", xt[idx], gt[idx], delta)
        return out.masked_fill(~mt[idx], -1e9)

    loss_value = float("nan")
    for _ in range(epochs):
        order = gen.permutation(len(lists))
        for start in range(0, len(order), batch):
            idx = torch.from_numpy(order[start : start + batch]).to(where)
            loss = torch.nn.functional.cross_entropy(logits_of(idx), tt[idx])
            if anchor is not None:
                loss = loss + prior_strength * ((net[0].weight[0] - anchor) ** 2).sum()
            if len(gates):
                loss = loss + gate_strength * (delta**2).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss_value = float(loss.detach())
    seconds = time.perf_counter() - started
    with torch.no_grad():
        layers = [(m.weight.detach().cpu().numpy().astype(np.float32), m.bias.detach().cpu().numpy().astype(np.float32))
                  for m in net if isinstance(m, torch.nn.Linear)]
        logits = logits_of(torch.arange(len(lists), device=where)).cpu().numpy()
        fitted = {g: delta[i].detach().cpu().numpy().astype(np.float32) for i, g in enumerate(gates)}
    weights = RankerWeights(names, layers, shift, spread, 1.0, version, dict(card or {}), fitted)
    if scale_to:
        spreads = [float(logits[i, mask[i]].std()) for i in range(len(lists))]
        typical = float(np.mean(spreads)) if spreads else 1.0
        weights.scale = scale_to / typical if typical > 1e-6 else 1.0
    return weights, TrainingReport(len(lists), epochs, seconds, where, loss_value)
