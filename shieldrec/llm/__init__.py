"""The local language model: likelihood scoring for any GGUF, and for instruction-tuned
models also instruction parsing, listwise re-ranking and explanations.

The model runs in its own process (shieldrec.llm.worker), started on first use; the rest
of ShieldRec talks to it through shieldrec.llm.client, so a crash in llama.cpp costs the
model's help for one request, never the app. Importing this package loads nothing:
every name below is imported on first use.
"""

from __future__ import annotations

from shieldrec.errors import LlmStopped, LlmUnavailable
from shieldrec.lazy import lazy_exports

_EXPORTS = {
    "BUNDLED": "models",
    "SMOLLM2": "models",
    "ModelInfo": "models",
    "NotGguf": "models",
    "describe": "models",
    "ensure_bundled": "models",
    "resolve": "models",
    "LlmClient": "client",
    "LlmStatus": "client",
    "get_llm": "registry",
    "load_in_background": "registry",
    "unload_all": "registry",
    "LlmParts": "components",
    "build_pipeline": "components",
    "llm_parts": "components",
    "Explainer": "explain",
    "IntentReading": "intent",
    "read_instruction": "intent",
    "LikelihoodScorer": "likelihood",
    "ListwiseReranker": "listwise",
    "LocalLLM": "runtime",
}

__all__ = sorted([*_EXPORTS, "LlmStopped", "LlmUnavailable"])

__getattr__ = lazy_exports(__name__, _EXPORTS, globals())
