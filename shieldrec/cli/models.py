"""`shieldrec models`: which language model ShieldRec uses, what it is, and where it runs.

Everything here reads GGUF headers; nothing loads a model into this process. What
llama.cpp sees of the machine comes from a short-lived worker process, and
`models use --check` loads the file in one, to prove llama.cpp can.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from shieldrec.cli.common import LIST_FORMATS, emit, errors_as_click, show_format_option, wants_json
from shieldrec.errors import ModelError
from shieldrec.settings import Settings


CUDA_INSTALL = 'CMAKE_ARGS="-DGGML_CUDA=on" pip install --force-reinstall --no-cache-dir llama-cpp-python'


def _size(n: int) -> str:
    return f"{n / 1e6:,.1f} MB" if n < 1e9 else f"{n / 1e9:,.2f} GB"


def _row(info: Any, *, where: str, in_use: bool, runs_on: str, enabled: bool = True) -> dict[str, Any]:
    """`chosen`: the model the settings name; `in_use`: chosen and the language model switched on."""
    row = info.to_dict()
    row.update(source=where, chosen=in_use, in_use=in_use and enabled, runs_on=runs_on)
    return row


def _marker(row: dict[str, Any]) -> str:
    if row.get("in_use"):
        return " (in use)"
    if row.get("chosen"):
        return " (chosen; not in use: the language model is off, [llm] enabled = false)"
    return ""


class _Machine:
    """llama.cpp's view of this machine, asked for once per command, only if needed."""

    def __init__(self) -> None:
        self._report: dict[str, Any] | None = None
        self.problem = ""

    @property
    def report(self) -> dict[str, Any]:
        if self._report is None:
            from shieldrec.llm.system import report

            try:
                self._report = report()
            except RuntimeError as exc:
                self._report, self.problem = {}, str(exc)
        return self._report

    def runs_on(self, device: str) -> str:
        from shieldrec.llm.system import choose_placement

        if not self.report:
            return f"unknown ({self.problem})"
        return choose_placement(device, bool(self.report.get("gpu_offload"))).label


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _collect(settings: Settings) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows for the bundled model, the configured one and every GGUF in the models folder."""
    from shieldrec.llm.models import (
        BUNDLED,
        SMOLLM2,
        PackagedModelMissing,
        bundled_path,
        describe,
        describe_spec,
        installed,
        verify_bundled,
    )

    runs_on = _Machine().runs_on(settings.llm.device)
    on = settings.llm.enabled
    configured = (settings.llm.model or BUNDLED).strip()
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    seen: list[Path] = []
    bundled = bundled_path()
    if bundled.is_file() and verify_bundled(bundled):
        rows.append(_row(describe(bundled, bundled=True), where="bundled", in_use=configured == BUNDLED,
                         runs_on=runs_on, enabled=on))
    else:
        rows.append({"name": "Gemma 3 270m (bundled)", "path": str(bundled), "source": "bundled",
                     "chosen": configured == BUNDLED, "in_use": configured == BUNDLED and on,
                     "status": "not assembled yet: built on first use, or now with `shieldrec models assemble`"})
    seen.append(bundled)
    try:
        smol = describe_spec(SMOLLM2)
        rows.append(_row(smol, where=SMOLLM2, in_use=configured == SMOLLM2, runs_on=runs_on, enabled=on))
        seen.append(smol.path)
    except PackagedModelMissing as exc:
        rows.append({"name": "SmolLM2 135M Instruct", "path": "", "source": SMOLLM2, "chosen": configured == SMOLLM2,
                     "in_use": configured == SMOLLM2 and on, "status": str(exc)})
    if configured not in (BUNDLED, SMOLLM2):
        path = Path(configured).expanduser()
        try:
            rows.append(_row(describe(path), where="configured", in_use=True, runs_on=runs_on, enabled=on))
        except ModelError as exc:
            problems.append(f"the configured model cannot be used: {exc}")
        seen.append(path)
    for path in installed():
        if any(_same(path, s) for s in seen):
            continue
        try:
            rows.append(_row(describe(path), where="models folder", in_use=False, runs_on=runs_on))
        except ModelError as exc:
            problems.append(str(exc))
    return rows, problems


def _machine_rows(machine: _Machine, repack: bool) -> dict[str, Any]:
    """What llama.cpp sees of this machine, and whether weights are repacked."""
    from shieldrec.llm.system import cpu_flags, describe_repacking

    flags = cpu_flags()
    report = machine.report
    return {
        "cpu_flags": flags,
        "amx": any(f.startswith("amx") for f in flags),
        "repack_weights": repack,
        "repacking": describe_repacking(repack, flags),
        "llama_cpp_python": report.get("llama_cpp_python", ""),
        "llama_cpp_system_info": report.get("system_info", "") or f"unknown ({machine.problem})",
        "repack_controllable": report.get("repack_controllable"),
    }


def _print_info(row: dict[str, Any]) -> None:
    if "status" in row:
        click.echo(f"{row['name']}: {row['status']}")
        return
    click.echo(f"{row['name']}{_marker(row)}")
    lines = [
        ("path", row["path"]),
        ("source", row["source"]),
        ("size", _size(row["size_bytes"])),
        ("architecture", row["architecture"]),
        ("quantization", row["quantization"]),
        ("context length", f"{row['context_length']:,} tokens" if row["context_length"] else "unknown"),
        ("chat template", "yes" if row["chat_template"] else "no"),
        ("kind", row["kind"]),
        ("used for", ", ".join(row["capabilities"])),
        ("runs on", row["runs_on"]),
        ("weight repacking", row["repacking"]),
        ("CPU flags", " ".join(row["cpu_flags"]) or "(none found)"),
        ("llama.cpp", f"llama-cpp-python {row['llama_cpp_python'] or '?'}: {row['llama_cpp_system_info']}"),
    ]
    width = max(len(k) for k, _ in lines)
    for key, value in lines:
        click.echo(f"  {key.ljust(width)}  {value}")
    if not row["chat_template"]:
        click.echo("  (a base model: instruction parsing, listwise re-ranking and explanations are skipped;"
                   " the rule parser and the deterministic reasons are used)")
    if row["repack_controllable"] is False:
        click.echo("  (this llama-cpp-python cannot turn weight repacking off: on a CPU with AMX it may crash;"
                   " upgrade it)")
    if str(row["runs_on"]).startswith("CPU"):
        click.echo(f"  (for an NVIDIA GPU: {CUDA_INSTALL})")


@click.group()
def models() -> None:
    """The local language model: list, inspect, choose, assemble.

    \b
    Default: the bundled Gemma 3 270M (a base model, used for likelihood scoring).
    `shieldrec models use smollm2` picks SmolLM2 135M Instruct, a small chat model that
    also reads instructions, re-ranks the top of a list and writes explanations.
    Any GGUF works: `shieldrec models use PATH`. The model runs in its own process;
    `[llm] repack_weights = true` lets llama.cpp repack weights (faster on some CPUs,
    a crash on CPUs with AMX). With an NVIDIA GPU, install
    llama-cpp-python built for CUDA and every layer runs on the GPU:
      CMAKE_ARGS="-DGGML_CUDA=on" pip install --force-reinstall --no-cache-dir llama-cpp-python
    """


@models.command("list")
@click.option("--format", "fmt", type=click.Choice(LIST_FORMATS), default="table", show_default=True,
              help="Output format.")
@click.option("--json", "as_json", is_flag=True, hidden=True, help="Same as --format json.")
def list_models(fmt: str, as_json: bool) -> None:
    """The bundled model, the configured one and any GGUF in the models folder."""
    with errors_as_click():
        settings = Settings.load()
        rows, problems = _collect(settings)
    fmt = "json" if as_json else fmt
    if fmt != "table":
        emit(rows, fmt, [], "")
    else:
        for row in rows:
            if "status" in row:
                click.echo(f"  {row['name']}  {row['status']}")
                continue
            mark = "*" if row["in_use"] else "-" if row["chosen"] else " "
            template = "chat" if row["chat_template"] else "base"
            ctx = f"{row['context_length']:,} ctx" if row["context_length"] else "ctx ?"
            click.echo(f"{mark} {row['name']}  [{row['source']}]  {row['quantization']}  {_size(row['size_bytes'])}"
                       f"  {ctx}  {template}  {row['path']}")
        click.echo("(* in use" + ("" if settings.llm.enabled else
                                  "; - chosen, but the language model is off: [llm] enabled = false") + ")")
    for problem in problems:
        click.echo(f"warning: {problem}", err=True)


@models.command("info")
@click.argument("model", required=False)
@show_format_option
def info(model: str | None, fmt: str, as_json: bool) -> None:
    """Describe MODEL ("bundled", "smollm2", a file in the models folder, or a path); default: the
    one in use. Also what llama.cpp sees of this machine: its system info, the CPU flags
    that choose its kernels (AVX2, AVX-512, AMX) and whether weights are repacked."""
    from shieldrec.llm.models import BUNDLED, SMOLLM2, describe, describe_spec, progress_bar
    from shieldrec.paths import get_paths

    settings = Settings.load()
    configured = (settings.llm.model or BUNDLED).strip()
    spec = (model or configured).strip()
    machine = _Machine()
    with errors_as_click():
        if spec in (BUNDLED, SMOLLM2):
            with progress_bar() as progress:
                found = describe_spec(spec, progress)
            in_use = spec == configured
        else:
            path = Path(spec).expanduser()
            if not path.exists() and (get_paths().models / spec).is_file():
                path = get_paths().models / spec
            found = describe(path)
            in_use = configured not in (BUNDLED, SMOLLM2) and _same(path, Path(configured).expanduser())
        row = _row(found, where=found.alias or "file", in_use=in_use, runs_on=machine.runs_on(settings.llm.device),
                   enabled=settings.llm.enabled)
        row.update(_machine_rows(machine, settings.llm.repack_weights))
    if wants_json(fmt, as_json):
        click.echo(json.dumps(row, indent=2))
    else:
        _print_info(row)


@models.command("use")
@click.argument("model")
@click.option("--check/--no-check", default=False, help="Also load it with llama.cpp to prove it works.")
def use(model: str, check: bool) -> None:
    """Use MODEL from now on: "bundled" (Gemma 3 270M, a base model), "smollm2" (SmolLM2 135M
    Instruct, a small chat model) or a path to any GGUF file."""
    from shieldrec.llm.models import choose, progress_bar

    settings = Settings.load()
    with errors_as_click():
        with progress_bar() as progress:
            value, found = choose(model, progress)
        if check:
            from shieldrec.llm.client import LlmClient

            # In a worker process: a file that crashes llama.cpp is a refusal, not a crash.
            probe = LlmClient(found.path, found, n_ctx=min(settings.llm.n_ctx, 512), device=settings.llm.device,
                              repack=settings.llm.repack_weights, max_failures=1)
            try:
                probe.start()
                probe.ping()
            finally:
                probe.close()
        settings.llm.model = value
        settings.save()
    click.echo(f"using {found.name} ({found.quantization}, {found.kind}) from {found.path}")
    click.echo(f"used for: {', '.join(found.capabilities)}")


@models.command("assemble")
@click.option("--verify", is_flag=True, help="Re-hash the assembled file even if it was checked before.")
def assemble(verify: bool) -> None:
    """Build the bundled model from its package (done on first use anyway) and check its sha256."""
    from shieldrec.llm.models import bundled_path, ensure_bundled, progress_bar, verify_bundled

    with errors_as_click():
        if verify and bundled_path().is_file() and not verify_bundled(full=True):
            click.echo("the assembled model did not match its checksum: rebuilding it", err=True)
            bundled_path().unlink()
        with progress_bar() as progress:
            path = ensure_bundled(progress)
    click.echo(f"bundled model ready and verified: {path}")
