"""Parsed files' frames read as one table without concatenating them (:class:`Stack`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bot.data.parse.frame import COLUMNS


class Stack:
    """Parsed files' frames read as one table without concatenating them: a column, or the rows
    at some positions, is gathered from each frame in turn. (A ``pd.concat`` of every parsed
    row, ~600k, was the panel build's peak: 30 MB on top of the parsed files; bench/memory.py.)"""

    def __init__(self, frames: list[pd.DataFrame]) -> None:
        # an empty frame adds no rows, only a column type (a group with no rows: float "source")
        self.frames = [f for f in frames if len(f)]
        self.starts = np.cumsum([0, *(len(f) for f in frames)])

    def __len__(self) -> int:
        return int(self.starts[-1])

    def column(self, name: str, at: np.ndarray | None = None) -> np.ndarray:
        """One column over every frame (periods as ordinals), or at the sorted positions ``at``."""
        arrays = [_values(frame, name) for frame in self.frames]
        if at is None:
            return np.concatenate(arrays)
        out = np.empty(len(at), dtype=np.result_type(*arrays))  # filled a file at a time
        cuts = np.searchsorted(at, self.starts)
        for i, values in enumerate(arrays):
            lo, hi = cuts[i], cuts[i + 1]
            np.take(values, at[lo:hi] - self.starts[i], out=out[lo:hi])
        return out

    def rows(self, at: np.ndarray, categorical: tuple[str, ...] = ()) -> pd.DataFrame:
        """The rows at the sorted positions ``at``, as one frame (built a column at a time);
        the ``categorical`` columns as categories (a file name per row: 1 byte, not 8)."""
        out = pd.DataFrame(index=pd.RangeIndex(len(at)))
        for name in COLUMNS:
            values = self.column(name, at)
            if name == "period":
                out[name] = pd.PeriodIndex.from_ordinals(values, freq="M")
            elif name in categorical:
                codes, labels = factorize(values)
                out[name] = pd.Categorical.from_codes(codes, categories=labels)
            else:  # as a typed Series: a bare object array is scanned for dates (17 MB of temporaries)
                out[name] = pd.Series(values, index=out.index, dtype=values.dtype, copy=False)
        return out


def _values(frame: pd.DataFrame, name: str) -> np.ndarray:
    """A column's values without a copy where pandas allows it (periods as ordinals)."""
    if name == "period":
        return frame[name].array.asi8  # type: ignore[union-attr]
    return frame[name].to_numpy()


def positions_by(*keys: np.ndarray) -> dict[tuple[object, ...], np.ndarray]:
    """The positions of each distinct combination of ``keys``, ascending (as ``groupby().indices``,
    at a fraction of its peak memory: one sort of the codes, the groups are views of it)."""
    if len(keys[0]) == 0:
        return {}
    code = np.zeros(len(keys[0]), dtype=np.int64)
    uniques = []
    for key in keys:
        codes, names = factorize(key)
        code *= len(names)
        code += codes
        uniques.append(names)
    order = np.argsort(code, kind="stable").astype(np.int32)  # positions: half the bytes
    starts = np.flatnonzero(np.r_[True, code[order][1:] != code[order][:-1]])
    groups = np.split(order, starts[1:])
    out: dict[tuple[object, ...], np.ndarray] = {}
    for group in groups:
        c, label = int(code[group[0]]), []
        for names in reversed(uniques):
            c, i = divmod(c, len(names))
            label.append(names[i])
        out[tuple(reversed(label))] = group
    return out


def factorize(values: np.ndarray, sort: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize`` for a column of a few hundred distinct labels: its hash table starts
    small and grows (sized to the rows, 438k, it was a 20 MB transient a call)."""
    codes, uniques = pd.factorize(values, sort=sort, size_hint=1024)
    return codes, np.asarray(uniques)
