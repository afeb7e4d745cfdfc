#!/usr/bin/env bash
# The real app in a real terminal (tmux) with the real default model: first start in a new
# workspace (indexes the user guide), one question, a +1 rating, a /summarize, a restart, then
# the same screen at 120x30 and 80x24; the screens go to OUT_DIR as text.
#
#   scripts/tmux_demo.sh ["QUESTION"] [OUT_DIR]
#
# Needs tmux, and the project installed in .venv (`make run` once does it), or GPTCHAT=path.
set -euo pipefail

question=${1:-"How do I leave files out of an index?"}
out_dir=${2:-tmux-demo}
gptchat=${GPTCHAT:-"$(pwd)/.venv/bin/gptchat"}
home=$(mktemp -d -t gptchat-demo-XXXX)
session="gptchat-demo-$$"
mkdir -p "$out_dir"

screen() { tmux capture-pane -p -t "$session"; }

wait_for() {  # wait_for TEXT SECONDS: until the screen shows TEXT
    local deadline=$((SECONDS + $2))
    until screen | grep -qF -- "$1"; do
        if ((SECONDS > deadline)); then
            echo "timed out waiting for: $1" >&2
            screen >&2
            exit 1
        fi
        sleep 0.5
    done
}

wait_still() {  # wait until the screen has not changed for 3 s (the answer is done)
    local last="" now
    while true; do
        now=$(screen)
        [[ "$now" == "$last" ]] && return
        last=$now
        sleep 3
    done
}

start_app() {
    tmux new-session -d -s "$session" -x 140 -y 45 \
        "cd '$home' && HF_HUB_OFFLINE=1 '$gptchat'; sleep 600"
}

trap 'tmux kill-session -t "$session" 2>/dev/null || true' EXIT

start=$SECONDS
start_app
wait_for "gptchat — ready" 300
echo "first start (guide indexed, model loaded): $((SECONDS - start)) s"
screen >"$out_dir/1-first-start.txt"

tmux send-keys -t "$session" "$question" Enter
wait_for "╭─ answer" 60
wait_still
screen >"$out_dir/2-answer.txt"

tmux send-keys -t "$session" Up
sleep 0.5
tmux send-keys -t "$session" "+"
wait_for "rated +1" 10
screen >"$out_dir/3-rated.txt"

tmux send-keys -t "$session" Escape
sleep 0.5  # an Escape with keys close behind reads as Alt+key
tmux send-keys -t "$session" "/summarize getting-started.md" Enter
wait_for "╭─ summary of" 60
wait_still
screen >"$out_dir/4-summary.txt"

tmux send-keys -t "$session" C-q
sleep 1
tmux kill-session -t "$session"
start_app
wait_for "rated +1" 60
screen >"$out_dir/5-after-restart.txt"
tmux resize-window -t "$session" -x 120 -y 30
sleep 2
screen >"$out_dir/6-120x30.txt"
tmux resize-window -t "$session" -x 80 -y 24
sleep 2
screen >"$out_dir/7-80x24.txt"
echo "screens in $out_dir/; workspace $home"
