"""GCM and STM memories: numerics against references, sizes, Table 3 bytes."""

import math

import pytest
import torch

from methods.memory import GlobalContextMemory, SpaceTimeMemory, build_memory, context_matrix

MIB = 2**20


def _frames(n, rows=2, c_n=4, c_m=6, h=3, w=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(rows, c_n, h, w, generator=g, dtype=torch.float64),
             torch.randn(rows, c_m, h, w, generator=g, dtype=torch.float64)) for _ in range(n)]


def _naive_context(key, value):
    """F = softmax over positions of K, then sum_p k[n, p] v[m, p], one row at a time."""
    out = torch.zeros(key.shape[0], key.shape[1], value.shape[1], dtype=torch.float64)
    for r in range(key.shape[0]):
        k = key[r].reshape(key.shape[1], -1).double()
        k = torch.exp(k - k.max(dim=1, keepdim=True).values)
        k = k / k.sum(dim=1, keepdim=True)
        v = value[r].reshape(value.shape[1], -1).double()
        for n in range(k.shape[0]):
            for m in range(v.shape[0]):
                out[r, n, m] = sum(float(k[n, p] * v[m, p]) for p in range(k.shape[1]))
    return out


def test_context_matrix_matches_naive():
    key, value = _frames(1)[0]
    assert torch.allclose(context_matrix(key, value).double(), _naive_context(key, value), atol=1e-10)


def test_gcm_state_is_the_mean_of_all_frame_contexts():
    frames = _frames(7)
    memory = GlobalContextMemory()
    for key, value in frames:
        memory.update(key, value)
    expected = torch.stack([_naive_context(k, v) for k, v in frames]).mean(0)
    assert memory.num_frames == 7
    assert torch.allclose(memory.context.double(), expected, atol=1e-5)


def test_gcm_rows_added_later_average_their_own_frames():
    early, late = _frames(3, rows=1, seed=1), _frames(2, rows=2, seed=2)
    memory = GlobalContextMemory()
    for key, value in early:
        memory.update(key, value)
    for key, value in late:
        memory.update(key, value)
    row0 = torch.stack([context_matrix(k, v)[0] for k, v in early + [(k[:1], v[:1]) for k, v in late]]).mean(0)
    row1 = torch.stack([context_matrix(k, v)[1] for k, v in late]).mean(0)
    assert torch.allclose(memory.context[0].double(), row0, atol=1e-5)
    assert torch.allclose(memory.context[1].double(), row1, atol=1e-5)
    assert memory.counts.tolist() == [5.0, 2.0]


def test_gcm_read_matches_naive():
    frames = _frames(2)
    memory = GlobalContextMemory()
    for key, value in frames:
        memory.update(key, value)
    query = torch.randn(4, 3, 5, dtype=torch.float64)
    out = memory.read(query)
    assert out.shape == (2, 6, 3, 5) and out.dtype == torch.float64
    q = torch.softmax(query.reshape(4, -1), dim=0)
    for r in range(2):
        for p in range(15):
            ref = sum(q[n, p] * memory.context[r, n].double() for n in range(4))
            assert torch.allclose(out[r].reshape(6, -1)[:, p].double(), ref, atol=1e-5)
    per_row = memory.read(query.expand(2, -1, -1, -1))  # the training form: one query per row
    assert torch.allclose(per_row, out, atol=1e-6)


def _naive_stm_read(entries, query):
    """softmax(q.k / sqrt(C_N)) v over every stored position that exists for the row, in float64."""
    rows = max(k.shape[0] for k, _ in entries)
    c_n, (h, w) = query.shape[-3], query.shape[-2:]
    c_m = entries[0][1].shape[1]
    out = torch.zeros(rows, c_m, h * w, dtype=torch.float64)
    for r in range(rows):
        q = (query[r] if query.dim() == 4 else query).reshape(c_n, -1).double()
        keys = [k[r].reshape(c_n, -1).double() for k, _ in entries if k.shape[0] > r]
        values = [v[r].reshape(c_m, -1).double() for k, v in entries if k.shape[0] > r]
        keys, values = torch.cat(keys, dim=1), torch.cat(values, dim=1)
        for p in range(h * w):
            scores = [float(q[:, p] @ keys[:, j]) / math.sqrt(c_n) for j in range(keys.shape[1])]
            peak = max(scores)
            weights = [math.exp(s - peak) for s in scores]
            total = sum(weights)
            out[r, :, p] = sum(wj / total * values[:, j] for j, wj in enumerate(weights))
    return out.reshape(rows, c_m, h, w)


@pytest.mark.parametrize("shared_query", [True, False])
def test_stm_read_matches_naive_reference(shared_query):
    entries = _frames(2, rows=1, seed=3) + _frames(2, rows=3, seed=4)  # rows 1-2 appear at frame 2
    memory = SpaceTimeMemory(mem_every=1)
    for key, value in entries:
        memory.update(key, value)
    query = torch.randn(4, 3, 5, dtype=torch.float64) if shared_query else torch.randn(3, 4, 3, 5, dtype=torch.float64)
    out = memory.read(query)
    assert out.shape == (3, 6, 3, 5)
    assert torch.allclose(out, _naive_stm_read(entries, query), atol=1e-8)


def test_stm_read_chunked_over_query_positions(monkeypatch):
    entries = _frames(3, seed=5)
    memory = SpaceTimeMemory()
    for key, value in entries:
        memory.update(key, value)
    query = torch.randn(4, 3, 5, dtype=torch.float64)
    whole = memory.read(query)
    monkeypatch.setattr(SpaceTimeMemory, "max_affinity_elements", 1)
    assert torch.allclose(memory.read(query), whole, atol=1e-12)


def test_stm_mem_every_keeps_first_every_nth_and_previous():
    memory = SpaceTimeMemory(mem_every=5)
    counts = []
    for key, value in _frames(12, rows=1):
        memory.update(key, value)
        counts.append((len(memory.keys), memory.temporary is not None))
    # writes 0, 5, 10 are kept; any other write is the temporary previous-frame entry
    assert counts[0] == (1, False) and counts[1] == (1, True) and counts[4] == (1, True)
    assert counts[5] == (2, False) and counts[6] == (2, True) and counts[10] == (3, False)
    assert memory.num_frames == 4


def test_sizes_gcm_constant_stm_linear():
    gcm, stm = GlobalContextMemory(), SpaceTimeMemory(mem_every=1)
    gcm_bytes, stm_bytes = [], []
    for key, value in _frames(20):
        gcm.update(key, value)
        stm.update(key, value)
        gcm_bytes.append(gcm.nbytes())
        stm_bytes.append(stm.nbytes())
    assert len(set(gcm_bytes)) == 1 and gcm_bytes[0] == 2 * (4 * 6 + 1) * 4  # float32 context + counts
    per_frame = stm_bytes[0]
    assert per_frame == 2 * (4 + 6) * 15 * 8  # float64 entries stored as given
    assert stm_bytes == [per_frame * t for t in range(1, 21)]


def test_memory_errors():
    memory = build_memory("stm")
    with pytest.raises(RuntimeError, match="empty"):
        memory.read(torch.zeros(4, 3, 5))
    key, value = _frames(1, rows=2)[0]
    memory.update(key, value)
    with pytest.raises(ValueError, match="rows may only grow"):
        memory.update(key[:1], value[:1])
    with pytest.raises(ValueError, match="query"):
        memory.read(torch.zeros(5, 3, 5))
    gcm = build_memory("gcm")
    gcm.update(key, value)
    with pytest.raises(ValueError, match="rows may only grow"):
        gcm.update(key[:1], value[:1])
    with pytest.raises(ValueError, match="unknown readout"):
        build_memory("nope")


@pytest.fixture(scope="module")
def table3_entry():
    """One real memory entry of the paper-sized network (resnet50 layer3, C_N 128, C_M 512) at 480x854."""
    from methods.inference import build_engine

    torch.manual_seed(0)
    engine = build_engine("stm_read", cfg={"backbone": "resnet50", "key_dim": 128, "value_dim": 512})
    frame = torch.rand(3, 480, 854)
    mask = torch.zeros(480, 854, dtype=torch.long)
    mask[100:300, 200:500] = 1
    engine.step(frame, mask)  # encodes frame 0 into the bank: a real entry, reused to fill the bank
    h, w = 480 // 16, 864 // 16
    entry = (engine.memory.keys[0].reshape(1, -1, h, w), engine.memory.values[0].reshape(1, -1, h, w))
    return engine, entry


def test_table3_memory_bytes_at_480p(table3_entry):
    """Table 3: STM 4 / 40 / 394 MB at t = 1 / 10 / 100 stored frames (MB = MiB); GCM 1 MB at any t."""
    engine, (key, value) = table3_entry
    assert key.shape == (1, 128, 30, 54) and value.shape == (1, 512, 30, 54)  # 480x864 padded, stride 16
    assert engine.memory.num_frames == 1
    stm_bytes = {1: engine.memory_bytes()}
    gcm = GlobalContextMemory()
    gcm_bytes = {}
    for t in range(1, 101):
        if t > 1:
            engine.memory.update(key, value)
        gcm.update(key, value)
        stm_bytes[t] = engine.memory_bytes()
        gcm_bytes[t] = gcm.nbytes()
    paper = {1: 4, 10: 40, 100: 394}
    for t, mb in paper.items():
        assert abs(stm_bytes[t] / MIB - mb) / mb < 0.03, (t, stm_bytes[t] / MIB)
    assert engine.memory.num_frames == 100
    print({t: round(stm_bytes[t] / MIB, 3) for t in paper}, "MiB STM;", gcm_bytes[100], "bytes GCM")
    assert gcm_bytes[1] == gcm_bytes[10] == gcm_bytes[100] < MIB


def test_stm_read_at_t_1000_is_a_bounded_number_of_products_and_equals_dense_attention():
    """the read looped over every stored frame (two products per frame and chunk);
    now one product per bank and chunk (a bank per run of frames with the same objects)."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class CountProducts(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.count = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if func.overloadpacket in (torch.ops.aten.bmm, torch.ops.aten.mm):
                self.count += 1
            return func(*args, **(kwargs or {}))

    torch.manual_seed(0)
    memory, keys, values = SpaceTimeMemory(mem_every=1), [], []
    for i in range(1000):
        rows = 1 if i < 10 else 2  # a second object appears at frame 10
        key, value = torch.randn(rows, 4, 2, 3), torch.randn(rows, 3, 2, 3)
        memory.update(key, value)
        keys.append(key.flatten(2))
        values.append(value.flatten(2))
    query = torch.randn(2, 4, 2, 3)
    with CountProducts() as counter:
        out = memory.read(query)
    positions = 6
    chunk = max(1, SpaceTimeMemory.max_affinity_elements // (2 * 1000 * positions))
    chunks = math.ceil(positions / chunk)
    assert counter.count <= 2 * 2 * chunks  # keys and values, two banks, per chunk; t does not appear
    q = query.flatten(2).transpose(1, 2) / 2.0  # sqrt(C_N) = 2
    logits = torch.cat([torch.matmul(q[: k.shape[0]], k) if k.shape[0] == 2 else
                        torch.cat([torch.matmul(q[:1], k), torch.full((1, positions, positions), float("-inf"))])
                        for k in keys], dim=-1)
    attention = torch.softmax(logits, dim=-1)
    bank_values = torch.cat([v if v.shape[0] == 2 else torch.cat([v, torch.zeros_like(v)]) for v in values], dim=-1)
    dense = torch.matmul(attention, bank_values.transpose(1, 2)).transpose(1, 2).reshape(2, 3, 2, 3)
    torch.testing.assert_close(out, dense, rtol=1e-5, atol=1e-5)
