"""STM's space-time memory bank (paper eq. 1): keys and values of stored frames, read by attention."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from methods.memory.base import FLOAT32_BYTES, Readout, check_entry, check_query


class SpaceTimeMemory(Readout):
    """STM memory bank: keys/values of stored frames, read by softmax(Q K^T / sqrt(C_N)) V (eq. 1).

    Every ``mem_every``-th written frame (counting the first) is stored for good; any other frame is
    kept as a temporary entry (the previous frame, as STM does) and replaced by the next write.
    With mem_every=1 every frame is stored and the bank grows linearly with t. Each frame is one
    entry ``(R_i, C, h*w)``; rows added later have no entries for earlier frames and are masked out.
    Reads concatenate the entries into banks (one per row count) and are chunked over query positions
    so that one affinity block holds at most ``max_affinity_elements`` elements (about 256 MB in
    float32): a bounded number of products per chunk whatever t.
    """

    name = "stm"
    max_affinity_elements = 2**26
    AFFINITY_COPIES = 3  # logits, their concatenation and the softmax

    def __init__(self, mem_every: int = 1) -> None:
        if mem_every < 1:
            raise ValueError(f"mem_every must be >= 1, got {mem_every}")
        self.mem_every = mem_every
        self.reset()

    @classmethod
    def from_config(cls, cfg) -> SpaceTimeMemory:
        return cls(cfg.mem_every)

    @staticmethod
    def stored_frames(t: int, mem_every: int) -> int:
        """Entries held after t writes: every mem_every-th write, plus the latest one if it is not among them."""
        if t < 1:
            return 0
        return math.ceil(t / mem_every) + (1 if (t - 1) % mem_every else 0)

    @classmethod
    def state_bytes(cls, cfg, t: int, rows: int, positions: int) -> int:
        """Keys and values of the stored frames, float32 (halved under float16 AMP)."""
        return cls.stored_frames(t, cfg.mem_every) * rows * (cfg.key_dim + cfg.value_dim) * positions * FLOAT32_BYTES

    @classmethod
    def read_workspace_bytes(cls, cfg, t: int, rows: int, positions: int) -> int:
        """The affinity blocks of one read over the stored frames (chunked over query positions)."""
        bank_positions = rows * cls.stored_frames(t, cfg.mem_every) * positions
        if bank_positions == 0:
            return 0
        chunk = min(positions, max(1, cls.max_affinity_elements // bank_positions))
        bank_copy = cls.state_bytes(cfg, t, rows, positions)  # the concatenated banks of one read
        return cls.AFFINITY_COPIES * chunk * bank_positions * FLOAT32_BYTES + bank_copy

    def reset(self) -> None:
        self.keys: list[Tensor] = []  # each (R_i, C_N, P)
        self.values: list[Tensor] = []  # each (R_i, C_M, P)
        self.temporary: tuple[Tensor, Tensor] | None = None
        self.num_writes = 0

    def state(self) -> dict:
        return {"keys": list(self.keys), "values": list(self.values), "temporary": self.temporary,
                "num_writes": self.num_writes}

    def load_state(self, state: dict) -> None:
        self.keys, self.values = list(state["keys"]), list(state["values"])
        self.temporary, self.num_writes = state["temporary"], state["num_writes"]

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
        check_entry(key, value)
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
        check_query(query, rows, c_n)
        h, w = query.shape[-2:]
        q = query.flatten(-2).transpose(-1, -2) / math.sqrt(c_n)  # (P, C_N) or (R, P, C_N)
        banks = self._banks(entries)
        total = sum(k.shape[-1] for k, _ in banks)
        chunk = max(1, self.max_affinity_elements // (rows * total))
        outs = [self._read_positions(q[..., start:start + chunk, :], banks, rows)
                for start in range(0, h * w, chunk)]
        out = torch.cat(outs, dim=1)  # (R, P, C_M)
        return out.transpose(1, 2).reshape(rows, -1, h, w)

    @staticmethod
    def _banks(entries: list[tuple[Tensor, Tensor]]) -> list[tuple[Tensor, Tensor]]:
        """The entries concatenated along positions, one bank per run of entries with the same rows
        (rows only grow, so there are at most as many banks as times an object was added, whatever t):
        each read then costs a bounded number of products per chunk, not two per stored frame."""
        groups: list[list[tuple[Tensor, Tensor]]] = []
        for entry in entries:
            if groups and groups[-1][0][0].shape[0] == entry[0].shape[0]:
                groups[-1].append(entry)
            else:
                groups.append([entry])
        return [(torch.cat([k for k, _ in group], dim=-1), torch.cat([v for _, v in group], dim=-1))
                if len(group) > 1 else group[0] for group in groups]

    @staticmethod
    def _read_positions(q: Tensor, banks: list[tuple[Tensor, Tensor]], rows: int) -> Tensor:
        """q (p, C_N) or (R, p, C_N) -> (R, p, C_M) over all banks at once."""
        logits = []
        for key, _ in banks:
            q_rows = q if q.dim() == 2 else q[: key.shape[0]]
            block = torch.matmul(q_rows, key)  # (R_i, p, P_i)
            if key.shape[0] < rows:  # rows (objects) that did not exist yet at these frames
                block = F.pad(block, (0, 0, 0, 0, 0, rows - key.shape[0]), value=float("-inf"))
            logits.append(block)
        attention = torch.softmax(torch.cat(logits, dim=-1) if len(logits) > 1 else logits[0], dim=-1)
        out = None
        start = 0
        for key, value in banks:
            size = key.shape[-1]
            part = torch.matmul(attention[: key.shape[0], :, start:start + size], value.transpose(1, 2))
            if key.shape[0] < rows:
                part = F.pad(part, (0, 0, 0, 0, 0, rows - key.shape[0]))
            out = part if out is None else out + part
            start += size
        return out

    def nbytes(self) -> int:
        return sum(k.numel() * k.element_size() + v.numel() * v.element_size() for k, v in self._entries())
