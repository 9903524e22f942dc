"""Readout memories: the global context module (paper eq. 2-4) and the STM key/value bank (eq. 1).

Both classes keep one *row* per tracked object (inference: O rows; training: B*O rows) and share
one interface, used by training and inference alike:

- ``update(key (R, C_N, h, w), value (R, C_M, h, w))`` writes one frame; R may grow between calls
  (objects appearing mid-video, YouTube-VOS), never shrink.
- ``read(query)`` with ``query (C_N, h, w)`` (one query shared by all rows, the inference case) or
  ``(R, C_N, h, w)`` (one per row, training) returns ``(R, C_M, h, w)``.
- ``nbytes()`` exact bytes of the tensors the memory holds; ``num_frames``; ``reset()``.
"""

from __future__ import annotations

import contextlib
import math

import torch
import torch.nn.functional as F
from torch import Tensor

# Upper bound on the elements of one STM affinity block (query positions x memory positions x rows);
# reads are chunked over query positions to keep the peak at about 256 MB in float32.
_MAX_AFFINITY_ELEMENTS = 2**26


def _check_entry(key: Tensor, value: Tensor) -> None:
    if key.dim() != 4 or value.dim() != 4:
        raise ValueError(f"memory update expects key (R,C_N,h,w) and value (R,C_M,h,w), got "
                         f"{tuple(key.shape)} and {tuple(value.shape)}")
    if key.shape[0] != value.shape[0] or key.shape[-2:] != value.shape[-2:]:
        raise ValueError(f"key {tuple(key.shape)} and value {tuple(value.shape)} disagree in rows or size")


def _no_autocast(t: Tensor):
    """Context keeping the global context accumulation in float32 under AMP."""
    if torch.is_autocast_enabled(t.device.type):
        return torch.autocast(device_type=t.device.type, enabled=False)
    return contextlib.nullcontext()


def context_matrix(key: Tensor, value: Tensor) -> Tensor:
    """Per-frame global context F_t = softmax_positions(K)^T V (paper eq. 2).

    key (R, C_N, h, w), value (R, C_M, h, w) -> (R, C_N, C_M).
    """
    k = torch.softmax(key.flatten(2), dim=-1)  # (R, C_N, P): each key channel a distribution over positions
    return torch.bmm(k, value.flatten(2).transpose(1, 2))


def context_readout(query: Tensor, context: Tensor) -> Tensor:
    """Context distribution I = softmax_channels(Q) U (paper eq. 4).

    query (C_N, h, w) shared by all rows or (R, C_N, h, w); context (R, C_N, C_M) -> (R, C_M, h, w).
    """
    h, w = query.shape[-2:]
    rows, c_n, c_m = context.shape
    q = torch.softmax(query.flatten(-2), dim=-2)  # over key channels
    if q.dim() == 2:  # one query for every row: a single (R*C_M, C_N) x (C_N, P) product
        out = context.transpose(1, 2).reshape(rows * c_m, c_n) @ q
    else:
        out = torch.bmm(context.transpose(1, 2), q)
    return out.reshape(rows, c_m, h, w)


class GlobalContextMemory:
    """Fixed-size global context U (one C_N x C_M matrix per object), updated as a running mean.

    U_t = F_t / t + (t-1)/t U_{t-1} (eq. 3), where t counts the frames written for that object (an
    object added mid-video starts its own mean). The state never grows with the video length.

    Normalisation (the paper states none; it inherits GC, Li et al. 2020, "Fast video object
    segmentation using the global context module", which follows efficient attention, Shen et al.):
    K is soft-maxed over spatial positions and Q over channels. Then each row of F_t is a weighted
    *average* of value vectors (one "global context vector" per key channel) and each readout
    vector is a convex combination of those C_N context vectors. Without it, K^T V is a sum over h*w
    positions whose scale depends on resolution and content, the readout scale would drift with the
    image size, and the running mean of eq. 3 would mix frames of different scale. With it, the
    readout stays in the range of the values whatever the size or t, and softmax_c(Q) softmax_p(K)^T V
    is the linear-cost approximation of STM's softmax(Q K^T) V that GC is built on.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.context: Tensor | None = None  # (R, C_N, C_M) float32
        self.counts: Tensor | None = None  # (R,) float32, frames averaged per row
        self.num_frames = 0

    @property
    def num_rows(self) -> int:
        return 0 if self.context is None else self.context.shape[0]

    def update(self, key: Tensor, value: Tensor) -> None:
        _check_entry(key, value)
        with _no_autocast(key):
            frame_context = context_matrix(key.float(), value.float())
            rows = frame_context.shape[0]
            if self.context is None:
                self.context = frame_context.new_zeros(frame_context.shape)
                self.counts = frame_context.new_zeros(rows)
            elif rows < self.num_rows or frame_context.shape[1:] != self.context.shape[1:]:
                raise ValueError(f"memory update with context {tuple(frame_context.shape)} does not fit the "
                                 f"stored {tuple(self.context.shape)} (rows may only grow)")
            elif rows > self.num_rows:  # new objects: empty context, zero frames so far
                extra = rows - self.num_rows
                self.context = torch.cat([self.context, self.context.new_zeros(extra, *self.context.shape[1:])])
                self.counts = torch.cat([self.counts, self.counts.new_zeros(extra)])
            counts = self.counts + 1
            weight = (1.0 / counts).view(-1, 1, 1)
            self.context = weight * frame_context + (1.0 - weight) * self.context
            self.counts = counts
        self.num_frames += 1

    def read(self, query: Tensor) -> Tensor:
        if self.context is None:
            raise RuntimeError("read from an empty global context memory (write a frame first)")
        _check_query(query, self.num_rows, self.context.shape[1])
        with _no_autocast(query):
            out = context_readout(query.float(), self.context)
        return out.to(query.dtype)

    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in (self.context, self.counts) if t is not None)


class SpaceTimeMemory:
    """STM memory bank: keys/values of stored frames, read by softmax(Q K^T / sqrt(C_N)) V (eq. 1).

    Every ``mem_every``-th written frame (counting the first) is stored for good; any other frame is
    kept as a temporary entry (the previous frame, as STM does) and replaced by the next write.
    With mem_every=1 every frame is stored and the bank grows linearly with t. Each frame is one
    entry ``(R_i, C, h*w)``; rows added later have no entries for earlier frames and are masked out.
    """

    def __init__(self, mem_every: int = 1) -> None:
        if mem_every < 1:
            raise ValueError(f"mem_every must be >= 1, got {mem_every}")
        self.mem_every = mem_every
        self.reset()

    def reset(self) -> None:
        self.keys: list[Tensor] = []  # each (R_i, C_N, P)
        self.values: list[Tensor] = []  # each (R_i, C_M, P)
        self.temporary: tuple[Tensor, Tensor] | None = None
        self.num_writes = 0

    @property
    def num_frames(self) -> int:
        return len(self.keys) + (self.temporary is not None)

    def _entries(self) -> list[tuple[Tensor, Tensor]]:
        entries = list(zip(self.keys, self.values, strict=True))
        return entries + ([self.temporary] if self.temporary is not None else [])

    @property
    def num_rows(self) -> int:
        entries = self._entries()
        return 0 if not entries else entries[-1][0].shape[0]

    def update(self, key: Tensor, value: Tensor) -> None:
        _check_entry(key, value)
        entries = self._entries()
        if entries:
            last_key, last_value = entries[-1]
            if key.shape[0] < last_key.shape[0] or key.shape[1] != last_key.shape[1] \
                    or value.shape[1] != last_value.shape[1] or key.shape[-2:].numel() != last_key.shape[-1]:
                raise ValueError(f"memory update with key {tuple(key.shape)}, value {tuple(value.shape)} does not "
                                 f"fit the stored entries (rows may only grow; channels and size are fixed)")
        # clone: the bank owns its tensors, so repeated writes of one tensor hold real copies
        entry = (key.flatten(2).clone(), value.flatten(2).clone())
        if self.num_writes % self.mem_every == 0:
            self.keys.append(entry[0])
            self.values.append(entry[1])
            self.temporary = None
        else:
            self.temporary = entry
        self.num_writes += 1

    def read(self, query: Tensor) -> Tensor:
        entries = self._entries()
        if not entries:
            raise RuntimeError("read from an empty space-time memory (write a frame first)")
        rows = self.num_rows
        c_n = entries[0][0].shape[1]
        _check_query(query, rows, c_n)
        h, w = query.shape[-2:]
        q = query.flatten(-2).transpose(-1, -2) / math.sqrt(c_n)  # (P, C_N) or (R, P, C_N)
        total = sum(k.shape[-1] for k, _ in entries)
        chunk = max(1, _MAX_AFFINITY_ELEMENTS // (rows * total))
        outs = [self._read_positions(q[..., start:start + chunk, :], entries, rows)
                for start in range(0, h * w, chunk)]
        out = torch.cat(outs, dim=1)  # (R, P, C_M)
        return out.transpose(1, 2).reshape(rows, -1, h, w)

    @staticmethod
    def _read_positions(q: Tensor, entries: list[tuple[Tensor, Tensor]], rows: int) -> Tensor:
        """q (p, C_N) or (R, p, C_N) -> (R, p, C_M) over all entries at once."""
        logits = []
        for key, _ in entries:
            q_rows = q if q.dim() == 2 else q[: key.shape[0]]
            block = torch.matmul(q_rows, key)  # (R_i, p, P_i)
            if key.shape[0] < rows:  # rows (objects) that did not exist yet at this frame
                block = F.pad(block, (0, 0, 0, 0, 0, rows - key.shape[0]), value=float("-inf"))
            logits.append(block)
        attention = torch.softmax(torch.cat(logits, dim=-1), dim=-1)
        out = None
        start = 0
        for key, value in entries:
            size = key.shape[-1]
            part = torch.matmul(attention[: key.shape[0], :, start:start + size], value.transpose(1, 2))
            if key.shape[0] < rows:
                part = F.pad(part, (0, 0, 0, 0, 0, rows - key.shape[0]))
            out = part if out is None else out + part
            start += size
        return out

    def nbytes(self) -> int:
        return sum(k.numel() * k.element_size() + v.numel() * v.element_size() for k, v in self._entries())


def _check_query(query: Tensor, rows: int, c_n: int) -> None:
    if query.dim() not in (3, 4) or query.shape[-3] != c_n or (query.dim() == 4 and query.shape[0] != rows):
        raise ValueError(f"memory read expects query ({c_n},h,w) or ({rows},{c_n},h,w), got {tuple(query.shape)}")


def build_memory(readout: str, mem_every: int = 1) -> GlobalContextMemory | SpaceTimeMemory:
    if readout == "gcm":
        return GlobalContextMemory()
    if readout == "stm":
        return SpaceTimeMemory(mem_every)
    raise ValueError(f"unknown readout {readout!r}; known: gcm, stm")
