"""Count frequent itemsets by FP-growth over a sparse basket matrix, with a sparse pair path.

FP-growth mines by projection: rank the frequent items by descending basket count, write every
basket as its frequent items in rank order, and for each item `i` keep, of the baskets holding
`i`, only the items ranked before `i` (the conditional pattern base of `i`). The itemsets
ending in `i` are then `i` plus the itemsets of that base, mined the same way, so every itemset
is counted exactly once, from the baskets that hold it, and infrequent items are dropped at
every step. The classic version stores each base as a prefix tree; here a base is a CSR array
of rank-ordered baskets, so each projection is a handful of vectorised
numpy operations instead of a Python walk over tree nodes.

The last level needs no projection: the pairs of a base are counted at once with a sparse
product `Bᵀ·B`, which is also the direct path for 1→1 rules when `max_len` is 2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp  # type: ignore[import-untyped]

Ints = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Itemsets:
    """The frequent itemsets of one size: their items (ascending column numbers per row)."""

    items: Ints  # shape (n, size)
    counts: Ints  # baskets holding all of a row's items


@dataclass(frozen=True)
class _Base:
    """Baskets as item lists in ascending rank (the index pointer and ranks of a CSR matrix)."""

    indptr: Ints
    ranks: Ints

    @property
    def rows(self) -> int:
        return len(self.indptr) - 1

    def row_of_entries(self) -> Ints:
        return np.repeat(np.arange(self.rows), np.diff(self.indptr))


def frequent_itemsets(matrix: sp.csr_matrix, min_count: int, max_len: int | None) -> list[Itemsets]:
    """Return the itemsets held by at least `min_count` baskets, by size (index 0: singletons).

    `matrix` is a canonical CSR basket matrix (rows baskets, columns items, stored entries
    present). Itemsets longer than `max_len` are not counted; None means no limit.
    """
    counts = np.bincount(matrix.indices, minlength=matrix.shape[1]).astype(np.int64)
    frequent = np.flatnonzero(counts >= min_count)
    # Rank 0 is the most frequent item; ties keep column order.
    columns = frequent[np.argsort(-counts[frequent], kind="stable")]
    rank_of = np.full(matrix.shape[1], -1, dtype=np.int64)
    rank_of[columns] = np.arange(len(columns))
    found = _Found()
    found.add((), np.arange(len(columns)), counts[columns])
    limit = max_len if max_len is not None else len(columns)
    if limit >= 2 and len(columns) >= 2:
        base = _ranked_base(matrix, rank_of, len(columns))
        _grow(base, (), limit, len(columns), min_count, found)
    return found.itemsets(columns)


def _ranked_base(matrix: sp.csr_matrix, rank_of: Ints, n_ranks: int) -> _Base:
    """Rewrite the baskets as rank-ordered frequent items, keeping rows with two or more."""
    ranks = rank_of[matrix.indices]
    keep = ranks >= 0
    row = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))[keep]
    lengths = np.bincount(row, minlength=matrix.shape[0])
    ranked = sp.csr_matrix(
        (np.ones(int(keep.sum()), dtype=np.int8), ranks[keep], _indptr(lengths)),
        shape=(matrix.shape[0], n_ranks),
    )
    ranked.sort_indices()
    useful = np.flatnonzero(lengths >= 2)
    base = _Base(_indptr(lengths), ranked.indices.astype(np.int64))
    return _prefixes(base, useful, lengths[useful])


def _grow(
    base: _Base, suffix: tuple[int, ...], room: int, bound: int, min_count: int, found: _Found
) -> None:
    """Record every frequent itemset made of `suffix` and up to `room` items of `base`.

    `base` holds, for the baskets containing all of `suffix`, their items ranked below
    `bound` (the lowest rank in the suffix); every rank in it is below `bound`.
    """
    counts = np.bincount(base.ranks, minlength=bound).astype(np.int64)
    frequent = counts >= min_count
    if suffix:  # the singletons were counted from the whole matrix
        items = np.flatnonzero(frequent)
        found.add(suffix, items, counts[items])
    if room == 1 or frequent.sum() < 2:
        return
    base = _restrict(base, frequent)
    if base.rows == 0:
        return
    if room == 2:
        _count_pairs(base, suffix, bound, min_count, found)
        return
    # Project on each item i: the baskets holding i, cut to the items ranked before i.
    row = base.row_of_entries()
    position = np.arange(len(base.ranks)) - base.indptr[row]
    # An item that follows another item in fewer than min_count baskets extends nothing.
    reach = np.bincount(base.ranks[position > 0], minlength=bound)
    by_item = np.argsort(base.ranks, kind="stable")
    starts = _indptr(np.bincount(base.ranks, minlength=bound))
    for item in np.flatnonzero(reach >= min_count).tolist():
        entries = by_item[starts[item] : starts[item + 1]]
        entries = entries[position[entries] > 0]
        child = _prefixes(base, row[entries], position[entries])
        _grow(child, (item, *suffix), room - 1, item, min_count, found)


def _restrict(base: _Base, keep: npt.NDArray[np.bool_]) -> _Base:
    """Return `base` with only the items flagged in `keep`, and only rows of two or more."""
    kept = keep[base.ranks]
    if kept.all():
        lengths = np.diff(base.indptr)
        ranks = base.ranks
    else:
        row = base.row_of_entries()[kept]
        lengths = np.bincount(row, minlength=base.rows)
        ranks = base.ranks[kept]
    indptr = _indptr(lengths)
    rows = np.flatnonzero(lengths >= 2)
    if len(rows) == base.rows:
        return _Base(indptr, ranks)
    return _prefixes(_Base(indptr, ranks), rows, lengths[rows])


def _prefixes(base: _Base, rows: Ints, lengths: Ints) -> _Base:
    """Return the first `lengths[k]` items of row `rows[k]` of `base`, as a new base."""
    ends = np.cumsum(lengths)
    total = int(ends[-1]) if len(ends) else 0
    gather = np.arange(total) - np.repeat(ends - lengths - base.indptr[rows], lengths)
    return _Base(_indptr(lengths), base.ranks[gather])


def _count_pairs(
    base: _Base, suffix: tuple[int, ...], bound: int, min_count: int, found: _Found
) -> None:
    """Count every pair of items within the baskets of `base` at once (Bᵀ·B)."""
    present = np.zeros(bound, dtype=bool)
    present[base.ranks] = True
    local = np.flatnonzero(present)
    ranks = (np.cumsum(present) - 1)[base.ranks]
    shape = (base.rows, len(local))
    ones = sp.csr_matrix((np.ones(len(ranks), np.int64), ranks, base.indptr), shape=shape)
    pairs = (ones.T.tocsr() @ ones).tocoo()
    keep = (pairs.row < pairs.col) & (pairs.data >= min_count)
    first, second = local[pairs.row[keep]], local[pairs.col[keep]]
    found.add_pairs(suffix, first, second, pairs.data[keep].astype(np.int64))


def _indptr(lengths: Ints) -> Ints:
    indptr: Ints = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    return indptr


class _Found:
    """Collects itemsets as rank arrays (ascending rank per row), grouped by size."""

    def __init__(self) -> None:
        self.parts: dict[int, list[tuple[Ints, Ints]]] = {}

    def add(self, suffix: tuple[int, ...], items: Ints, counts: Ints) -> None:
        rows = np.column_stack([items, np.tile(np.asarray(suffix, np.int64), (len(items), 1))])
        self.parts.setdefault(1 + len(suffix), []).append((rows.astype(np.int64), counts))

    def add_pairs(self, suffix: tuple[int, ...], first: Ints, second: Ints, counts: Ints) -> None:
        tail = np.tile(np.asarray(suffix, np.int64), (len(first), 1))
        rows = np.column_stack([first, second, tail]).astype(np.int64)
        self.parts.setdefault(2 + len(suffix), []).append((rows, counts))

    def itemsets(self, columns: Ints) -> list[Itemsets]:
        result = []
        for size in range(1, max(self.parts, default=0) + 1):
            parts = self.parts.get(size, [])
            if not parts:
                break
            ranks = np.concatenate([p[0] for p in parts]).reshape(-1, size)
            counts = np.concatenate([p[1] for p in parts])
            result.append(Itemsets(np.sort(columns[ranks], axis=1), counts))
        return result
