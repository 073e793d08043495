"""Offline evaluation: public data sets, a fixed protocol, ShieldRec against baselines in one run."""

from shieldrec.eval.methods import BASELINES, METHODS, PIPELINE, EvalContext, Method
from shieldrec.eval.metrics import METRICS, summarize
from shieldrec.eval.runner import Report, choose, evaluate, format_table

__all__ = [
    "BASELINES", "METHODS", "METRICS", "PIPELINE", "EvalContext", "Method", "Report", "choose", "evaluate",
    "format_table", "summarize",
]
