"""Mechanism probes: each intervention acts on what it names, through the engine's public API, and leaves
the engine as it was; the probes table pairs an intervention with the unmodified model as the claims do."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from methods import interventions
from methods.inference import InferenceEngine, QueryCache
from methods.interventions import INTERVENTIONS, Intervention
from methods.variants import build_model
from pipelines import probes
from pipelines.common.files import DataError
from pipelines.tables import probes as probe_tables
from tests.tiny_model import TINY_MODEL

pytestmark = pytest.mark.usefixtures("one_thread")

SIZE = (48, 64)


def two_object_video(frames: int = 3) -> tuple[list[torch.Tensor], torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    images = [torch.rand(3, *SIZE, generator=generator) for _ in range(frames)]
    mask = torch.zeros(SIZE, dtype=torch.long)
    mask[5:20, 5:25] = 1
    mask[25:45, 30:60] = 2
    return images, mask


@pytest.fixture(scope="module")
def engines():
    torch.manual_seed(0)
    return {variant: InferenceEngine(build_model(variant, TINY_MODEL)) for variant in ("gvos_scm", "no_scm")}


def started(engine: InferenceEngine):
    """The engine after the first frame of the two-object video, and that state."""
    images, mask = two_object_video()
    engine.reset()
    engine.step(images[0], mask)
    return images, mask, engine.snapshot()


class Recorder:
    """Forward hooks (torch's public API) that keep the SCM's inputs and output and the embedding the
    decoder reads, for one step."""

    def __init__(self, model):
        self.seen: dict[str, torch.Tensor] = {}
        self.handles = [model.scm.register_forward_hook(self._scm)] if model.scm is not None else []
        self.handles.append(model.aspp.register_forward_pre_hook(self._embedding))

    def _scm(self, module, inputs, output):
        self.seen["scm_mask"], self.seen["scm_out"] = inputs[1].clone(), output.clone()

    def _embedding(self, module, inputs):
        self.seen["embedding"] = inputs[0].clone()

    def close(self):
        for handle in self.handles:
            handle.remove()


def step_seen(engine, images, state, intervention=None, **kwargs):
    engine.restore(state)
    recorder = Recorder(engine.model)
    try:
        with engine.intervene(intervention):
            probs = engine.step(images[1], **kwargs)
    finally:
        recorder.close()
    return probs, recorder.seen


def test_the_registry_names_at_least_six_interventions_on_both_modules():
    assert len(INTERVENTIONS) >= 6
    assert {i.target for i in INTERVENTIONS.values()} == set(interventions.TARGETS)
    with pytest.raises(ValueError, match="already registered"):
        interventions.register(Intervention("readout_zero", "readout", lambda read: read, "twice"))
    with pytest.raises(ValueError, match="target must be one of"):
        Intervention("x", "decoder", lambda x: x, "no such place")
    with pytest.raises(KeyError, match="unknown intervention 'nope'"):
        interventions.get("nope")


def test_a_zeroed_previous_mask_reaches_the_scm_and_changes_its_output(engines):
    engine = engines["gvos_scm"]
    images, _, state = started(engine)
    _, plain = step_seen(engine, images, state)
    _, zeroed = step_seen(engine, images, state, INTERVENTIONS["scm_mask_zero"])
    assert plain["scm_mask"].sum() > 0
    assert torch.count_nonzero(zeroed["scm_mask"]) == 0
    assert not torch.allclose(plain["scm_out"], zeroed["scm_out"])
    torch.testing.assert_close(plain["embedding"], zeroed["embedding"])  # the readout is untouched


def test_the_oracle_gives_the_scm_the_previous_frames_truth(engines):
    engine = engines["gvos_scm"]
    images, mask, state = started(engine)
    truth = torch.zeros(SIZE, dtype=torch.long)
    truth[10:30, 10:40] = 2  # object 1 gone, object 2 moved: nothing like the engine's own prediction
    _, seen = step_seen(engine, images, state, INTERVENTIONS["scm_mask_oracle"], previous_labels=truth)
    expected = torch.stack([(truth == 1).float(), (truth == 2).float()])[:, None]
    torch.testing.assert_close(seen["scm_mask"][..., :SIZE[0], :SIZE[1]], expected)
    with pytest.raises(ValueError, match="needs previous_labels"):
        step_seen(engine, images, state, INTERVENTIONS["scm_mask_oracle"])


@pytest.mark.parametrize("variant", ["gvos_scm", "no_scm"])
def test_readout_interventions_replace_what_the_memory_returns(engines, variant):
    engine = engines[variant]
    images, _, state = started(engine)
    channels = engine.cfg.value_dim
    _, plain = step_seen(engine, images, state)
    read = plain["embedding"][:, :channels]
    assert not torch.allclose(read[0], read[1]), "two objects read the same already: the test proves nothing"
    _, mean = step_seen(engine, images, state, INTERVENTIONS["readout_object_mean"])
    torch.testing.assert_close(mean["embedding"][0, :channels], mean["embedding"][1, :channels])
    torch.testing.assert_close(mean["embedding"][0, :channels], read.mean(dim=0))
    _, flat = step_seen(engine, images, state, INTERVENTIONS["readout_position_mean"])
    flat_read = flat["embedding"][:, :channels]
    torch.testing.assert_close(flat_read, flat_read[..., :1, :1].expand_as(flat_read))
    _, zero = step_seen(engine, images, state, INTERVENTIONS["readout_zero"])
    assert torch.count_nonzero(zero["embedding"][:, :channels]) == 0
    for seen in (mean, flat, zero):  # the query value half is the model's own
        torch.testing.assert_close(seen["embedding"][:, channels:], plain["embedding"][:, channels:])


def test_an_intervention_leaves_the_engine_and_the_model_as_they_were(engines):
    engine = engines["gvos_scm"]
    weights = {k: v.clone() for k, v in engine.model.state_dict().items()}
    images, _, state = started(engine)
    before, _ = step_seen(engine, images, state)
    for intervention in INTERVENTIONS.values():
        kwargs = {"previous_labels": torch.zeros(SIZE, dtype=torch.long)} if intervention.needs_truth else {}
        changed, _ = step_seen(engine, images, state, intervention, **kwargs)
        assert engine.intervention is None
        assert not torch.equal(changed, before) or intervention.name == "readout_object_mean", intervention.name
    with pytest.raises(RuntimeError), engine.intervene(INTERVENTIONS["readout_zero"]):
        raise RuntimeError("a failing step inside the block")
    assert engine.intervention is None
    after, _ = step_seen(engine, images, state)
    assert torch.equal(after, before)
    for key, value in engine.model.state_dict().items():
        assert torch.equal(value, weights[key]), key


def test_a_network_without_the_module_refuses_the_intervention(engines):
    with pytest.raises(ValueError, match="acts on scm_mask, which this network does not have"):
        with engines["no_scm"].intervene(INTERVENTIONS["scm_mask_zero"]):
            pass
    assert [i.name for i in probes.selected_interventions(list(INTERVENTIONS), engines["no_scm"].cfg)] == [
        name for name, i in INTERVENTIONS.items() if i.target == "readout"]


def generated_scores(seeds=(0, 1, 2), sequences=4, shift=-10.0, seed=0):
    """Per-object reference scores of one run and an intervention's: reference + shift + noise."""
    rng = np.random.default_rng(seed)
    rows, probe_rows = [], []
    for s in seeds:
        for q in range(sequences):
            for obj in (1, 2):
                base = {m: rng.uniform(40, 80) for m in probe_tables.SCORES.values()}
                key = {"variant": "gvos_scm", "stage": "full", "seed": s, "dataset": "davis2017", "split": "val",
                       "sequence": f"v{q}", "object": obj}
                rows.append({**key, **base})
                changed = {m: v + shift + rng.normal(0, 2) for m, v in base.items()}
                probe_rows.append({**key, "stage": "full", "intervention": "readout_zero", "target": "readout",
                                   "config_hash": f"h{s}", **changed})
    return pd.DataFrame(probe_rows), pd.DataFrame(rows)


def test_the_probes_table_pairs_each_seed_with_the_unmodified_model():
    probe_scores, reference = generated_scores()
    table = probe_tables.probes_table(probe_scores, reference, samples=500)
    assert list(table.columns) == probe_tables.COLUMNS
    assert sorted(table["seed"]) == [0, 1, 2]
    merged = probe_scores.merge(reference, on=["seed", "sequence", "object"], suffixes=("", "_ref"))
    per_seed = (merged["J&F-Mean"] - merged["J&F-Mean_ref"]).groupby(merged["seed"]).mean()
    np.testing.assert_allclose(table.set_index("seed")["delta_J&F"].sort_index(), per_seed.sort_index())
    row = table.iloc[0]
    assert row["mean_delta_J&F"] == pytest.approx(per_seed.mean())
    assert row["ci_low"] < row["mean_delta_J&F"] < row["ci_high"] < 0  # a 10-point drop is told from 0
    assert row["n_seeds"] == 3 and row["n_objects"] == 8
    one_seed = probe_tables.probes_table(probe_scores[probe_scores["seed"] == 0], reference, samples=500)
    assert one_seed["ci_low"].isna().all()  # one seed: no interval, never a sequence-only one


def test_the_probes_table_refuses_probes_without_a_reference():
    probe_scores, reference = generated_scores()
    with pytest.raises(DataError, match="no scores of the unmodified model"):
        probe_tables.probes_table(probe_scores, reference[reference["variant"] == "none"])


def test_probes_of_a_checkpoint_score_like_its_prediction(tmp_path, smoke_data):
    """The probes path (segment, score) gives an identity intervention exactly the scores pipelines.predict
    + pipelines.score give the checkpoint; a real intervention changes them."""
    from pipelines import predict, score
    from tests.test_train import run_in_process, write_config

    config = write_config(tmp_path / "c.yaml", smoke_data, iterations=1)
    run_in_process(["--config", str(config), "--variant", "gvos_scm", "--stage", "main_only", "--out", str(tmp_path / "r")])
    model = ["--config", str(config), "--checkpoint", str(tmp_path / "r" / "checkpoint.pt"), "--variant", "gvos_scm",
             "--stage", "main_only", "--seed", "0", "--data", str(smoke_data / "DAVIS"), "--dataset", "davis2017",
             "--device", "cpu"]
    predict.main([*model, "--out", str(tmp_path / "pred")])
    score.main(["--config", str(config), "--dataset", "davis2017", "--gt", str(smoke_data / "DAVIS"),
                  "--pred", str(tmp_path / "pred"), "--split", "val", "--variant", "gvos_scm", "--stage", "main_only",
                  "--seed", "0", "--workers", "1", "--out", str(tmp_path / "eval")])
    interventions.register(Intervention("readout_identity", "readout", lambda read: read, "nothing changed"))
    try:
        out = tmp_path / "probes" / "per_object.csv"
        assert probes.main(["run", *model, "--interventions", "readout_identity", "scm_mask_oracle", "--out",
                            str(out)]) == 0
    finally:
        interventions.unregister("readout_identity")
    scores = pd.read_csv(out)
    assert [p.name for p in out.parent.iterdir()] == [out.name], "scratch predictions left behind"
    reference = pd.read_csv(tmp_path / "eval" / "per_object.csv")
    identity = scores[scores["intervention"] == "readout_identity"].set_index(["sequence", "object"])
    ref = reference.set_index(["sequence", "object"]).loc[identity.index]
    np.testing.assert_array_equal(identity["J&F-Mean"].to_numpy(), ref["J&F-Mean"].to_numpy())
    oracle = scores[scores["intervention"] == "scm_mask_oracle"]
    assert not np.array_equal(oracle["J&F-Mean"].to_numpy(), identity["J&F-Mean"].to_numpy())
    table = probe_tables.probes_table(scores, reference)
    assert set(table["intervention"]) == {"readout_identity", "scm_mask_oracle"}
    assert table.loc[table["intervention"] == "readout_identity", "delta_J&F"].abs().max() == 0


def test_probes_refuse_what_they_cannot_probe(tmp_path, smoke_data, engines):
    common = ["run", "--variant", "gvos_scm", "--data", str(smoke_data / "DAVIS"), "--interventions", "readout_zero",
              "--out", str(tmp_path / "p.csv")]
    with pytest.raises(SystemExit):  # no checkpoint: nothing to intervene on
        probes.main([*common, "--dataset", "davis2017"])
    with pytest.raises(SystemExit):  # YouTube-VOS hides its validation truth
        probes.main([*common, "--dataset", "youtubevos", "--checkpoint", str(tmp_path / "x.pt")])
    with pytest.raises(KeyError, match="unknown intervention 'nope'"):
        probes.selected_interventions(["readout_zero", "nope"], engines["gvos_scm"].cfg)
    assert not (tmp_path / "p.csv").exists()


def test_engines_sharing_a_query_cache_encode_each_frame_once_and_predict_as_each_alone(engines, monkeypatch):
    """The probes' lockstep: one engine per intervention over one model, each frame's query encoding
    computed once and handed to the others; every engine's output is bit-equal to its run alone."""
    model = engines["gvos_scm"].model
    images, mask = two_object_video(frames=4)
    chosen = [None, INTERVENTIONS["scm_mask_zero"], INTERVENTIONS["readout_zero"]]

    def run_alone(intervention):
        engine = InferenceEngine(model)
        with engine.intervene(intervention):
            return [engine.step(images[0], mask)] + [engine.step(image) for image in images[1:]]

    alone = [run_alone(intervention) for intervention in chosen]
    calls = []
    encode_query = model.encode_query
    monkeypatch.setattr(model, "encode_query", lambda x: calls.append(1) or encode_query(x))
    cache = QueryCache()
    shared = [InferenceEngine(model, query_cache=cache) for _ in chosen]
    together = [[] for _ in chosen]
    for t, image in enumerate(images):
        for engine, intervention, out in zip(shared, chosen, together, strict=True):
            with engine.intervene(intervention):
                out.append(engine.step(image, mask) if t == 0 else engine.step(image))
    assert len(calls) == len(images) - 1, "the query encoder ran more than once per frame"
    for own, theirs in zip(together, alone, strict=True):
        for a, b in zip(own, theirs, strict=True):
            assert torch.equal(a, b)
    assert not torch.equal(together[0][-1], together[2][-1]), "the interventions were not applied"
