"""What the benches read about a process they started."""

from __future__ import annotations

from pathlib import Path


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set (VmHWM) in MB; NaN once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")
