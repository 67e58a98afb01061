"""A model of PyTorch's CUDA caching allocator: what ``torch.cuda.max_memory_reserved()`` reports
for a sequence of allocations and frees.

From ``c10/cuda/CUDACachingAllocator.cpp`` (PyTorch 2.x, default ``PYTORCH_CUDA_ALLOC_CONF``):

- every request is rounded up to a multiple of 512 bytes (``round_size``);
- requests of at most 1 MiB use the small pool, larger ones the large pool;
- a request takes the smallest cached free block of its pool that is large enough (best fit,
  ``get_free_block`` on a set ordered by size then address);
- with none, a new segment is ``cudaMalloc``-ed: 2 MiB for small requests, 20 MiB for requests
  under 10 MiB, else the request rounded up to 2 MiB (``get_allocation_size``);
- a block larger than the request is split when the rest is at least 512 bytes (small pool) or
  more than 1 MiB (large pool) (``should_split``); the rest stays free in the pool;
- a freed block merges with free neighbours of its own segment (``free_block``); segments are
  never returned to CUDA unless an allocation fails or ``empty_cache()`` is called, so the
  reserved total only grows.

Example: ``a = CachingAllocator(); b = a.malloc(12 << 20); a.free(b); a.malloc(11 << 20)`` reuses
the 12 MiB segment (``a.peak_reserved == 12 << 20``).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

MIN_BLOCK = 512
SMALL_SIZE = 1 << 20
SMALL_BUFFER = 2 << 20
LARGE_BUFFER = 20 << 20
MIN_LARGE_ALLOC = 10 << 20
ROUND_LARGE = 2 << 20


def round_size(size: int) -> int:
    """``round_size``: at least 512 bytes, a multiple of 512."""
    return MIN_BLOCK if size < MIN_BLOCK else -(-size // MIN_BLOCK) * MIN_BLOCK


def allocation_size(size: int) -> int:
    """``get_allocation_size``: the segment ``cudaMalloc`` gets for a request no cached block holds."""
    if size <= SMALL_SIZE:
        return SMALL_BUFFER
    if size < MIN_LARGE_ALLOC:
        return LARGE_BUFFER
    return -(-size // ROUND_LARGE) * ROUND_LARGE


@dataclass(eq=False)
class Block:
    """A piece of a segment: ``offset`` and ``size`` in bytes, free or in use."""

    segment: int
    offset: int
    size: int
    small: bool
    free: bool = True
    prev: "Block | None" = field(default=None, repr=False)
    next: "Block | None" = field(default=None, repr=False)

    def key(self) -> tuple[int, int, int]:
        return self.size, self.segment, self.offset


@dataclass
class CachingAllocator:
    """Allocated and reserved bytes, and their peaks, as the caching allocator keeps them."""

    allocated: int = 0
    reserved: int = 0
    peak_allocated: int = 0
    peak_reserved: int = 0
    segments: int = 0
    _pools: dict = field(default_factory=lambda: {True: [], False: []}, repr=False)

    def _insert(self, block: Block) -> None:
        pool = self._pools[block.small]
        pool.insert(bisect.bisect_left(pool, block.key(), key=lambda b: b.key()), block)

    def _remove(self, block: Block) -> None:
        pool = self._pools[block.small]
        pool.pop(bisect.bisect_left(pool, block.key(), key=lambda b: b.key()))

    def malloc(self, size: int) -> Block:
        """Allocate ``size`` bytes; returns the block to :meth:`free`."""
        size = round_size(size)
        small = size <= SMALL_SIZE
        pool = self._pools[small]
        i = bisect.bisect_left(pool, (size, -1, -1), key=lambda b: b.key())
        if i < len(pool):
            block = pool.pop(i)
        else:
            self.segments += 1
            block = Block(self.segments, 0, allocation_size(size), small)
            self.reserved += block.size
            self.peak_reserved = max(self.peak_reserved, self.reserved)
        rest = block.size - size
        if rest >= MIN_BLOCK if small else rest > SMALL_SIZE:
            tail = Block(block.segment, block.offset + size, rest, small, prev=block, next=block.next)
            if block.next is not None:
                block.next.prev = tail
            block.next, block.size = tail, size
            self._insert(tail)
        block.free = False
        self.allocated += block.size
        self.peak_allocated = max(self.peak_allocated, self.allocated)
        return block

    def free(self, block: Block) -> None:
        """Return ``block`` to its pool, merged with its free neighbours."""
        block.free = True
        self.allocated -= block.size
        prev, nxt = block.prev, block.next
        if prev is not None and prev.free:
            self._remove(prev)
            block = _join(prev, block)
        if nxt is not None and nxt.free:
            self._remove(nxt)
            block = _join(block, nxt)
        self._insert(block)


def _join(left: Block, right: Block) -> Block:
    """``right`` folded into ``left``, its neighbour in the same segment; returns ``left``."""
    left.size += right.size
    left.next = right.next
    if right.next is not None:
        right.next.prev = left
    return left
