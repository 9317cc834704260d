"""Where a profiled process spent its time: py-spy's collapsed stacks (``--format raw``) summed
by function, own time (the frame on top) and total time (anywhere on the stack), the top N.

Usage: python bench/profile_top.py FILE [--top 25] [--under FUNCTION]
(``--under``: only the samples whose stack holds FUNCTION, e.g. ``_one`` or ``_round``.)
"""

from __future__ import annotations

import argparse
import collections
import re

FRAME = re.compile(r"^(?P<func>[^ ]+) \((?P<file>[^:]+)(?::\d+)?\)$")


def short(frame: str) -> str:
    """``func (path/to/file.py:12)`` → ``func (file.py)``: lines of one function summed."""
    m = FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    path = m["file"]
    parts = path.split("/")
    where = "/".join(parts[-2:]) if "site-packages" in path or "bot/" in path else parts[-1]
    return f"{m['func']} ({where})"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--under")
    args = ap.parse_args()
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    samples = 0
    with open(args.file, encoding="utf-8") as f:
        for line in f:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not stack or not count.isdigit():
                continue
            frames = [short(x) for x in stack.split(";")]
            if args.under and not any(fr.startswith(args.under + " ") for fr in frames):
                continue
            n = int(count)
            samples += n
            own[frames[-1]] += n
            for fr in set(frames):
                total[fr] += n
    print(f"{samples} samples{f' under {args.under}' if args.under else ''}")
    for title, table in (("own", own), ("total", total)):
        print(f"--- by {title} time")
        for fr, n in table.most_common(args.top):
            print(f"{100 * n / max(samples, 1):5.1f} %  {fr}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
