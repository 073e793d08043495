"""The device settings (`auto`, `cpu`, `cuda`; README, GPU): what each one does for the embedding model and for
the language model, on a machine with or without a GPU."""

from __future__ import annotations

import pytest

from shieldrec.devices import torch_device
from shieldrec.errors import ModelError
from shieldrec.llm.system import choose_placement
from shieldrec.ranking import Embedder
from shieldrec.settings import Settings


def test_a_named_device_is_used_as_named() -> None:
    assert torch_device("cpu") == "cpu" and torch_device("cuda") == "cuda"


@pytest.mark.parametrize(
    ("device", "gpu", "layers", "label"),
    [
        ("auto", True, -1, "GPU (all layers offloaded)"),
        ("cuda", True, -1, "GPU (all layers offloaded)"),
        ("cpu", True, 0, "CPU"),  # cpu keeps the model off a GPU that is there
        ("auto", False, 0, "CPU"),
        ("cuda", False, 0, "CPU"),  # asked for, not there: CPU, and the label says why
    ],
)
def test_the_language_model_goes_where_the_setting_and_the_build_allow(device: str, gpu: bool, layers: int,
                                                                         label: str) -> None:
    place = choose_placement(device, gpu)
    assert place.n_gpu_layers == layers and place.label.startswith(label) and place.threads >= 1
    assert ("no GPU support" in place.label) == (device == "cuda" and not gpu)


def test_devices_are_read_from_the_configuration(shieldrec_home) -> None:  # noqa: ANN001
    s = Settings()
    s.embedding_device, s.llm.device = "cuda", "cpu"
    s.save()
    again = Settings.load()
    assert (again.embedding_device, again.llm.device) == ("cuda", "cpu")


@pytest.mark.slow
def test_the_embedding_model_runs_on_the_device_asked_for() -> None:
    import torch

    cpu = Embedder(device="cpu")
    assert cpu.device == "cpu" and cpu.encode(["a quiet sea story"]).shape == (1, 384)
    auto = Embedder(device="auto")
    assert auto.device == ("cuda" if torch.cuda.is_available() else "cpu")
    cuda = Embedder(device="cuda")
    if torch.cuda.is_available():
        assert cuda.encode(["a quiet sea story"]).shape == (1, 384)
    else:  # a machine without a GPU: a sentence naming the device, not a torch traceback
        with pytest.raises(ModelError, match="cannot be loaded on cuda"):
            cuda.encode(["a quiet sea story"])
