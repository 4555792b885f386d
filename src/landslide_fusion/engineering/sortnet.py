"""Exact sliding-window medians from comparator networks: min and max only, any device, ONNX-exportable.

The lower median of every ``k`` x ``k`` window (rank ``m = ceil(k²/2) - 1`` of the ``N = k²``
values, counted from 0) is computed separably, sharing work between neighbouring windows, after
Adams, "Fast median filters using separable sorting networks", ACM TOG 40(4), 2021:

1. every column of ``k`` pixels is sorted by Batcher's odd-even merge sort;
2. sorted columns are merged into sorted groups of 2, 4, 8, ... adjacent columns by Batcher's
   odd-even merge (Batcher 1968; Knuth, TAOCP vol. 3, 5.3.4): group ``2s`` at column ``c`` is the
   merge of group ``s`` at ``c`` and at ``c + s``, computed once and shared by every window that
   contains it;
3. a window of ``k`` columns is the union of the groups in the binary expansion of ``k``
   (10 = 8 + 2). With ``A`` the largest group and ``B`` the merge of the others, the rank-``m``
   element of ``A ∪ B`` is ``min_i max(A[i - 1], B[m - i])`` (``A[-1] = B[-1] = -inf``): the
   ``m + 1`` smallest values are a prefix of ``A`` plus a prefix of ``B``.

Only comparisons that can reach the median are run. A group of ``n`` values inside a window of
``N`` can only supply its ranks ``n - N + m`` to ``m`` (the value of rank ``r`` in the group has at
least ``r`` values below it and ``n - 1 - r`` above), so the largest group is trimmed to those; and
a backward liveness pass drops every compare-exchange whose results are unused and keeps a lone
min or max where only one of its two results is. For 10 x 10 this leaves about 545 min/max
operations per pixel, against selecting from 100 values per pixel.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import torch

__all__ = ["window_median"]

# pixels per chunk of images: keeps each wire (one tensor per rank) cache-sized on CPU; on a GPU,
# larger chunks mean fewer kernel launches (at most ~80 live wires: 670 MB at 2**21 pixels)
_CHUNK_PIXELS = 2**18
_GPU_CHUNK_PIXELS = 2**21

Op = tuple[int, int, str]  # (wire receiving the min, wire receiving the max, "both" | "min" | "max")


def _merge(a: list[int], b: list[int], ops: list[tuple[int, int]]) -> list[int]:
    """Batcher's odd-even merge of two sorted wire lists (any lengths); returns the sorted wires."""
    if not a or not b:
        return list(a or b)
    if len(a) == 1 and len(b) == 1:
        ops.append((a[0], b[0]))
        return [a[0], b[0]]
    v = _merge(a[0::2], b[0::2], ops)
    w = _merge(a[1::2], b[1::2], ops)
    out = [v[0]]
    for i, wi in enumerate(w):
        if i + 1 < len(v):
            ops.append((wi, v[i + 1]))
            out += [wi, v[i + 1]]
        else:
            out.append(wi)
    return out + v[len(w) + 1 :]


def _sort(a: list[int], ops: list[tuple[int, int]]) -> list[int]:
    """Batcher's odd-even merge sort of a wire list."""
    if len(a) <= 1:
        return list(a)
    half = len(a) // 2
    return _merge(_sort(a[:half], ops), _sort(a[half:], ops), ops)


def _prune(ops: list[tuple[int, int]], needed: set[int]) -> tuple[list[Op], set[int]]:
    """Keep the compare-exchanges that reach ``needed`` wires; return them and the live input wires."""
    live = set(needed)
    kept: list[Op] = []
    for lo, hi in reversed(ops):
        use_lo, use_hi = lo in live, hi in live
        if use_lo or use_hi:
            kept.append((lo, hi, "both" if use_lo and use_hi else ("min" if use_lo else "max")))
            live |= {lo, hi}
    return kept[::-1], live


@dataclass(frozen=True)
class _Network:
    ops: tuple[Op, ...]
    outputs: tuple[int, ...]  # wire holding each rank, in sorted order


@dataclass(frozen=True)
class _Plan:
    size: int
    groups: tuple[int, ...]  # binary expansion of size, largest first: columns per group
    columns: _Network  # sorts k wires (the rows of a column)
    levels: dict[int, _Network]  # s -> merge of group s/2 at c (wires 0..) and at c + s/2 (wires n..)
    needed: dict[int, frozenset[int]]  # s -> ranks of group s that are used
    rest: _Network  # merges the groups after the largest (input wires numbered group by group)
    low: int  # ranks of the largest group below this are never the median
    terms: tuple[tuple[int, int], ...]  # (rank in trimmed A or -1, rank in B or -1)


@lru_cache(maxsize=None)
def _plan(size: int) -> _Plan:
    n_all, m = size * size, (size * size + 1) // 2 - 1
    groups = tuple(1 << t for t in reversed(range(size.bit_length())) if size >> t & 1)
    top = groups[0] * size
    low, high = max(0, top - n_all + m), min(top - 1, m)

    wires = [list(range(sum(groups[1:i]) * size, sum(groups[1 : i + 1]) * size)) for i in range(1, len(groups))]
    rest_ops: list[tuple[int, int]] = []
    merged = wires[0] if wires else []
    for w in wires[1:]:
        merged = _merge(merged, w, rest_ops)
    rank = m - low
    terms = tuple((i - 1, rank - i) for i in range(rank + 2) if i <= high - low + 1 and rank + 1 - i <= len(merged))
    rest, live = _prune(rest_ops, {merged[j] for _, j in terms if j >= 0})
    needed: dict[int, set[int]] = {groups[0]: set(range(low, high + 1))}
    for s, w in zip(groups[1:], wires):
        needed.setdefault(s, set()).update(r for r, wire in enumerate(w) if wire in live)

    levels: dict[int, _Network] = {}
    s = groups[0]
    while s > 1:
        n = s // 2 * size
        merge_ops: list[tuple[int, int]] = []
        out = _merge(list(range(n)), list(range(n, 2 * n)), merge_ops)
        ops, live = _prune(merge_ops, {out[r] for r in needed.get(s, ())})
        levels[s] = _Network(tuple(ops), tuple(out))
        needed.setdefault(s // 2, set()).update(r for r in range(n) if r in live or n + r in live)
        s //= 2
    sort_ops: list[tuple[int, int]] = []
    out = _sort(list(range(size)), sort_ops)
    ops, _ = _prune(sort_ops, {out[r] for r in needed[1]})
    return _Plan(
        size=size,
        groups=groups,
        columns=_Network(tuple(ops), tuple(out)),
        levels=levels,
        needed={s: frozenset(r) for s, r in needed.items()},
        rest=_Network(tuple(rest), tuple(merged)),
        low=low,
        terms=terms,
    )


def _run(wires: dict[int, torch.Tensor], ops: tuple[Op, ...]) -> None:
    for lo, hi, kind in ops:
        a, b = wires[lo], wires[hi]
        if kind != "max":
            wires[lo] = torch.minimum(a, b)
        if kind != "min":
            wires[hi] = torch.maximum(a, b)


def _median(x: torch.Tensor, plan: _Plan) -> torch.Tensor:
    k = plan.size
    h, w = x.shape[-2] - k + 1, x.shape[-1] - k + 1
    wires = {i: x[:, i : i + h] for i in range(k)}
    _run(wires, plan.columns.ops)
    group: dict[int, list[torch.Tensor | None]] = {
        1: [wires[o] if r in plan.needed[1] else None for r, o in enumerate(plan.columns.outputs)]
    }
    s = 2
    while s <= plan.groups[0]:
        half, width = s // 2, x.shape[-1] - s + 1
        n = half * k
        wires = {}
        for r, t in enumerate(group[half]):
            if t is not None:
                wires[r], wires[n + r] = t[..., :width], t[..., half : half + width]
        net = plan.levels[s]
        _run(wires, net.ops)
        group[s] = [wires[o] if r in plan.needed.get(s, ()) else None for r, o in enumerate(net.outputs)]
        if half not in plan.groups:
            del group[half]
        s *= 2
    wires, first, offset = {}, 0, plan.groups[0]
    for s in plan.groups[1:]:
        for r, t in enumerate(group[s]):
            if t is not None:
                wires[first + r] = t[..., offset : offset + w]
        first, offset = first + s * k, offset + s
    _run(wires, plan.rest.ops)
    largest = group[plan.groups[0]]
    out: torch.Tensor | None = None
    for i, j in plan.terms:
        a = largest[plan.low + i][..., :w] if i >= 0 else None  # type: ignore[index]
        b = wires[plan.rest.outputs[j]] if j >= 0 else None
        term = a if b is None else b if a is None else torch.maximum(a, b)
        out = term if out is None else torch.minimum(out, term)
    return out  # type: ignore[return-value]


def window_median(x: torch.Tensor, size: int) -> torch.Tensor:
    """Lower median of every ``size`` x ``size`` window of padded images.

    ``x`` is (N, H + size - 1, W + size - 1) (already padded); the result is (N, H, W), exactly
    the ``ceil(size²/2)``-th smallest value of each window. Inputs must be free of NaN (min and max
    do not order it); ``BandEngineer`` replaces NaN before filtering.
    """
    if size < 1 or x.ndim != 3 or min(x.shape[-2:]) < size:
        raise ValueError(f"window_median needs (N, H, W) with H, W >= size={size}; got {tuple(x.shape)}")
    plan = _plan(size)
    if torch.onnx.is_in_onnx_export():
        return _median(x, plan)  # one graph for any batch size
    chunk = _CHUNK_PIXELS if x.device.type == "cpu" else _GPU_CHUNK_PIXELS
    step = max(1, chunk // (x.shape[-2] * x.shape[-1]))
    return torch.cat([_median(x[i : i + step], plan) for i in range(0, x.shape[0], step)])
