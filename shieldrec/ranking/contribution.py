"""What every built-in signal hands to fusion: one value per candidate, and why."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Contribution:
    """One signal for every candidate: its value and, where it can say one, why."""

    values: np.ndarray
    reasons: list[str]

    @classmethod
    def zeros(cls, n: int) -> Contribution:
        return cls(np.zeros(n, dtype=np.float32), [""] * n)
