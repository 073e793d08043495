"""Local re-ranking of what platforms send: filters, scorers, fusion, diversity, reasons."""

from shieldrec.ranking.embedder import Embedder
from shieldrec.ranking.pipeline import Pipeline
from shieldrec.ranking.types import (
    Ranked,
    RankRequest,
    RankResult,
    Removed,
    Scorer,
    Signal,
)

__all__ = ["Embedder", "Pipeline", "RankRequest", "RankResult", "Ranked", "Removed", "Scorer", "Signal"]
