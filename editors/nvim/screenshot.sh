#!/usr/bin/env bash
# Renders docs/images/lsp-nvim.png: Neovim (in a 118x28 tmux terminal) with `ix lsp` showing a
# diagnostic as it is typed, captured with its colours (tmux capture-pane -e), turned into HTML
# and photographed by headless Chromium.
#
#   editors/nvim/screenshot.sh [IX_BINARY]     (needs nvim, tmux, chromium)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
ix="${1:-$root/target/debug/ix}"
work="$(mktemp -d)"
trap 'tmux kill-session -t ix-shot 2>/dev/null || true; rm -rf "$work"' EXIT
sed 's/framework sim-fast/framework sim-fsat/' "$root/sweeps/demo.ix" >"$work/demo.ix"
line="$(grep -n 'framework sim-fsat' "$work/demo.ix" | cut -d: -f1)"
cd "$work"
tmux new-session -d -s ix-shot -x 118 -y 28 \
  "env TERM=xterm-256color IX_BIN='$ix' nvim -u '$root/editors/nvim/init.lua' -i NONE -n +$line demo.ix"
sleep 3
# Put the cursor on the typo.
tmux send-keys -t ix-shot "${line}G" "13|"
sleep 2
tmux capture-pane -t ix-shot -e -p >"$work/screen.ansi"
python3 "$root/editors/nvim/ansi_html.py" <"$work/screen.ansi" >"$work/screen.html"
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1160,540 \
  --screenshot="$root/docs/images/lsp-nvim.png" "file://$work/screen.html" 2>/dev/null
echo "wrote docs/images/lsp-nvim.png"
