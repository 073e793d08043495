"""The local language model: likelihood scoring for any GGUF, and for instruction-tuned
models also instruction parsing, listwise re-ranking and explanations.

llama-cpp-python is imported on first use only; nothing here loads a model at import.
"""

from shieldrec.llm.components import LlmParts, build_pipeline, llm_parts
from shieldrec.llm.explain import Explainer
from shieldrec.llm.intent import IntentReading, read_instruction
from shieldrec.llm.likelihood import LikelihoodScorer
from shieldrec.llm.listwise import ListwiseReranker
from shieldrec.llm.models import BUNDLED, ModelInfo, NotGguf, describe, ensure_bundled, resolve
from shieldrec.llm.runtime import LlmUnavailable, LocalLLM, get_llm, load_in_background, unload_all

__all__ = [
    "BUNDLED",
    "Explainer",
    "IntentReading",
    "LikelihoodScorer",
    "ListwiseReranker",
    "LlmParts",
    "LlmUnavailable",
    "LocalLLM",
    "ModelInfo",
    "NotGguf",
    "build_pipeline",
    "describe",
    "ensure_bundled",
    "get_llm",
    "llm_parts",
    "load_in_background",
    "read_instruction",
    "resolve",
    "unload_all",
]
