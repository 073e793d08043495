#!/usr/bin/env bash
# Drive the real terminal app in tmux through one chat turn and save what the screen shows.
#
#   bash scripts/tui_demo.sh ["what to ask"]     -> out/tui_capture.txt (also printed)
#
# It runs `shieldrec` at 100x32 in a throw-away SHIELDREC_HOME with the example profile
# (profiles/maya.toml) and the bundled demo platform, types the request, waits for the
# answer (and the language model's re-ranking of it), moves to the first result, and captures
# the pane.
set -euo pipefail

cd "$(dirname "$0")/.."
ask="${1:-something hopeful, no horror}"
bin=".venv/bin"
out="out/tui_capture.txt"

if ! command -v tmux >/dev/null; then
  echo "tmux is needed: apt-get install -y tmux" >&2
  exit 1
fi

home="$(mktemp -d -t shieldrec-demo-XXXXXX)"
session="shieldrec-demo-$$"
cleanup() {
  tmux kill-session -t "$session" 2>/dev/null || true
  rm -rf "$home"
}
trap cleanup EXIT

export SHIELDREC_HOME="$home" HF_HUB_OFFLINE=1
"$bin/shieldrec" profile import profiles/maya.toml >/dev/null
"$bin/shieldrec" profile use maya >/dev/null

tmux new-session -d -s "$session" -x 100 -y 32 \
  "env SHIELDREC_HOME='$home' HF_HUB_OFFLINE=1 TERM=xterm-256color '$bin/shieldrec'"

# Wait until the screen shows "$1" (or, with "!", until it no longer does), up to $2 seconds.
wait_for() {
  local text="$1" limit="$2" gone=0
  if [[ "$text" == !* ]]; then gone=1; text="${text:1}"; fi
  for _ in $(seq 1 $((limit * 4))); do
    if tmux capture-pane -p -t "$session" | grep -qF -- "$text"; then
      [[ $gone == 0 ]] && return 0
    else
      [[ $gone == 1 ]] && return 0
    fi
    sleep 0.25
  done
  echo "timed out waiting for: $1" >&2
  tmux capture-pane -p -t "$session" >&2
  return 1
}

wait_for "Hello, maya" 30
wait_for "!loading the embedding model" 180
# The language model's name shows on the right of the status line once it is loaded (asking
# before that gets an answer the model does not re-rank).
wait_for "LLM:" 300
tmux send-keys -t "$session" -l "$ask"
tmux send-keys -t "$session" Enter
wait_for "picks from" 120
# With the language model on (the default), the answer shows at once and is re-ranked once the
# model has scored it.
wait_for "Re-ranked with the language model" 600 || echo "(captured without the language model's re-ranking)" >&2
sleep 0.5
tmux send-keys -t "$session" Down
sleep 0.5

mkdir -p out
tmux capture-pane -p -t "$session" > "$out"
tmux send-keys -t "$session" C-q
cat "$out"
echo "(saved to $out)" >&2
