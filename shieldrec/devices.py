"""The one place that decides where torch work runs: CUDA when torch sees a GPU, else the CPU.

The embedder and the learned ranker both ask here, so a setting of "auto" means the same
device for both. torch is imported on the first "auto" question only: a command whose
vectors all come from the cache never pays for the import.
"""

from __future__ import annotations

DEVICES = ("auto", "cpu", "cuda")


def torch_device(requested: str | None = "auto") -> str:
    """`requested` when it names a device, else "cuda" if torch can use a GPU, else "cpu"."""
    if requested not in ("auto", "", None):
        return str(requested)
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
