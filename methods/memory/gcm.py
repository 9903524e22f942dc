"""The global context module's memory (paper eq. 2-4): one C_N x C_M matrix per object, constant in t."""

from __future__ import annotations

import torch
from torch import Tensor

from methods.memory.base import FLOAT32_BYTES, Readout, check_entry, check_query, no_autocast


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


class GlobalContextMemory(Readout):
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

    name = "gcm"

    def __init__(self) -> None:
        self.reset()

    @classmethod
    def state_bytes(cls, cfg, t: int, rows: int, positions: int) -> int:
        """The context matrices and the per-row frame counts, float32, whatever t is (t >= 1)."""
        return rows * (cfg.key_dim * cfg.value_dim + 1) * FLOAT32_BYTES if t >= 1 else 0

    def reset(self) -> None:
        self.context: Tensor | None = None  # (R, C_N, C_M) float32
        self.counts: Tensor | None = None  # (R,) float32, frames averaged per row
        self.num_frames = 0

    def state(self) -> dict:
        return {"context": self.context, "counts": self.counts, "num_frames": self.num_frames}

    def load_state(self, state: dict) -> None:
        self.context, self.counts, self.num_frames = state["context"], state["counts"], state["num_frames"]

    @property
    def num_rows(self) -> int:
        return 0 if self.context is None else self.context.shape[0]

    def update(self, key: Tensor, value: Tensor) -> None:
        check_entry(key, value)
        with no_autocast(key):
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
        check_query(query, self.num_rows, self.context.shape[1])
        with no_autocast(query):
            out = context_readout(query.float(), self.context)
        return out.to(query.dtype)

    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in (self.context, self.counts) if t is not None)
