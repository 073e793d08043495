"""What the machine offers llama.cpp: the CPU flags that decide its kernels, and its own
system info. `python -m shieldrec.llm.system` prints both (CI does, before the tests).

The CPU flags come from /proc/cpuinfo here; llama.cpp's view comes from a worker process
(`python -m shieldrec.llm.worker --system`), so asking never imports llama_cpp into the
caller's process.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CPUINFO = Path("/proc/cpuinfo")
# The instruction sets llama.cpp's CPU kernels are chosen by; AMX is the one whose
# weight repacking crashes (extra buffer types), so it is the one to look for first.
_MATTER = re.compile(r"^(avx2|avx512\w*|amx\w*|avx_vnni\w*|fma|f16c)$")


THREADS_ENV = "SHIELDREC_LLM_THREADS"
MAX_THREADS = 8


@dataclass(frozen=True)
class Placement:
    n_gpu_layers: int
    threads: int
    label: str


def cpu_threads() -> int:
    """One core fewer than the machine has (at most 8), unless SHIELDREC_LLM_THREADS says.

    llama.cpp's worker threads spin while they wait for each other: when any other busy
    thread (the terminal app, the embedding model, another program) wants the same core,
    all of them stall. Measured on a 2-core machine under load: 2 threads took 0.38-2.5 s
    per candidate, 1 thread 0.11-0.16 s.
    """
    raw = os.environ.get(THREADS_ENV, "").strip()
    if raw.isdigit() and int(raw) > 0:
        return int(raw)
    return max(1, min((os.cpu_count() or 2) - 1, MAX_THREADS))


def choose_placement(device: str, gpu: bool) -> Placement:
    """Every layer on the GPU when the llama.cpp build can offload and `device` allows, else CPU threads."""
    threads = cpu_threads()
    cpu = f"CPU, {threads} thread{'s' if threads > 1 else ''}"
    if device != "cpu" and gpu:
        return Placement(-1, threads, "GPU (all layers offloaded)")
    if device == "cuda" and not gpu:
        return Placement(0, threads, f"{cpu} (this llama.cpp build has no GPU support)")
    return Placement(0, threads, cpu)


def cpu_flags(cpuinfo: Path = CPUINFO) -> list[str]:
    """The flags of the first CPU that matter to llama.cpp, sorted; [] where /proc/cpuinfo is not."""
    try:
        text = cpuinfo.read_text("utf-8", errors="replace")
    except OSError:
        return []
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return sorted({f for f in value.split() if _MATTER.match(f)})
    return []


def has_amx(flags: list[str]) -> bool:
    return any(f.startswith("amx") for f in flags)


def report(timeout: float = 60.0) -> dict[str, Any]:
    """llama.cpp's system info and build, from a short-lived worker process.

    Raises RuntimeError with the worker's last words when it cannot answer."""
    try:
        done = subprocess.run([sys.executable, "-m", "shieldrec.llm.worker", "--system"], capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"llama.cpp did not report its system info within {timeout:.0f} s") from None
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise RuntimeError(f"llama.cpp could not report its system info: {last}")
    return json.loads(lines[-1])


def describe_repacking(enabled: bool, flags: list[str]) -> str:
    """One line: whether weights are repacked, and what that means on this CPU."""
    if enabled:
        warn = " (this CPU has AMX: llama.cpp is known to crash here with repacking on)" if has_amx(flags) else ""
        return f"on ([llm] repack_weights = true){warn}"
    return "off (the default; [llm] repack_weights = true turns it on)"


def main() -> int:
    flags = cpu_flags()
    print(f"CPU flags that matter to llama.cpp: {' '.join(flags) or '(none found)'}")
    print(f"AMX: {'yes' if has_amx(flags) else 'no'}")
    try:
        info = report()
    except RuntimeError as exc:
        print(str(exc))
        return 1
    print(f"llama-cpp-python {info['llama_cpp_python']}; GPU offload: {'yes' if info['gpu_offload'] else 'no'}; "
          f"weight repacking can be turned off: {'yes' if info['repack_controllable'] else 'NO'}")
    print(f"llama.cpp system info: {info['system_info']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
