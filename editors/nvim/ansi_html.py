"""Turns a terminal capture with SGR colour codes (tmux capture-pane -e) into an HTML page."""

import html
import re
import sys

BASE = ["#1e1e1e", "#cd3131", "#0dbc79", "#e5e510", "#2472c8", "#bc3fbc", "#11a8cd", "#e5e5e5",
        "#666666", "#f14c4c", "#23d18b", "#f5f543", "#3b8eea", "#d670d6", "#29b8db", "#ffffff"]


def color(n: int) -> str:
    if n < 16:
        return BASE[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return "#%02x%02x%02x" % (steps[n // 36], steps[n // 6 % 6], steps[n % 6])
    level = 8 + (n - 232) * 10
    return "#%02x%02x%02x" % (level, level, level)


def main() -> None:
    state = {"fg": None, "bg": None, "bold": False, "reverse": False}
    out = []
    for part in re.split(r"(\x1b\[[0-9;]*m)", sys.stdin.read()):
        if part.startswith("\x1b["):
            codes = [int(c) if c else 0 for c in part[2:-1].split(";")]
            i = 0
            while i < len(codes):
                c = codes[i]
                if c == 0:
                    state = {"fg": None, "bg": None, "bold": False, "reverse": False}
                elif c == 1:
                    state["bold"] = True
                elif c == 7:
                    state["reverse"] = True
                elif c in (22,):
                    state["bold"] = False
                elif c == 27:
                    state["reverse"] = False
                elif 30 <= c <= 37 or 90 <= c <= 97:
                    state["fg"] = color(c - 30 if c < 90 else c - 82)
                elif 40 <= c <= 47 or 100 <= c <= 107:
                    state["bg"] = color(c - 40 if c < 100 else c - 92)
                elif c == 39:
                    state["fg"] = None
                elif c == 49:
                    state["bg"] = None
                elif c in (38, 48) and i + 2 < len(codes) and codes[i + 1] == 5:
                    state["fg" if c == 38 else "bg"] = color(codes[i + 2])
                    i += 2
                elif c in (38, 48) and i + 4 < len(codes) and codes[i + 1] == 2:
                    state["fg" if c == 38 else "bg"] = "#%02x%02x%02x" % tuple(codes[i + 2:i + 5])
                    i += 4
                i += 1
            continue
        if not part:
            continue
        fg, bg = state["fg"] or "#d4d4d4", state["bg"] or "#1e1e1e"
        if state["reverse"]:
            fg, bg = bg, fg
        weight = "bold" if state["bold"] else "normal"
        out.append(f'<span style="color:{fg};background:{bg};font-weight:{weight}">{html.escape(part)}</span>')
    body = "".join(out)
    print(
        "<!doctype html><meta charset=utf-8><style>body{margin:0;background:#1e1e1e}"
        "pre{margin:12px;font:15px/1.25 'DejaVu Sans Mono',monospace;color:#d4d4d4}</style>"
        f"<pre>{body}</pre>"
    )


if __name__ == "__main__":
    main()
