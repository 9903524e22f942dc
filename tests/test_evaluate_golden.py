"""Our evaluator against the official davis2017-evaluation outputs in tests/data/golden/davis2017."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from pipelines.evaluate import evaluate_davis, main
from pipelines.evaluation.boundary import boundary_radius
from pipelines.evaluation.statistics import decay_bin_edges

GOLDEN = Path(__file__).resolve().parent / "data" / "golden" / "davis2017"
TOL = 1e-6


@pytest.fixture(scope="module")
def golden() -> dict:
    return json.loads((GOLDEN / "per_frame.json").read_text())


@pytest.fixture(scope="module")
def result():
    return evaluate_davis(GOLDEN / "gt", GOLDEN / "pred", split="val", year="2017", workers=2)


def close(ours: float, reference: float | None) -> bool:
    if reference is None:  # null = NaN in the JSON
        return math.isnan(ours)
    return abs(ours - reference) <= TOL


def test_every_per_frame_value(result, golden):
    checked = 0
    for seq, info in golden["sequences"].items():
        for obj, values in info["objects"].items():
            rows = result.per_frame[
                (result.per_frame["sequence"] == seq) & (result.per_frame["object"] == int(obj))
            ]
            assert list(rows["frame"]) == info["evaluated_frame_ids"], (seq, obj)
            for metric in ("J", "F"):
                reference = np.array([np.nan if v is None else v for v in values[metric]], dtype=np.float64)
                np.testing.assert_allclose(
                    rows[metric].to_numpy(),
                    reference,
                    rtol=0,
                    atol=TOL,
                    err_msg=f"{seq} object {obj} {metric}",
                )
                checked += len(reference)
    assert checked == 2 * len(result.per_frame) == 2 * 564


def test_every_per_object_statistic(result, golden):
    expected_objects = [
        (seq, int(obj)) for seq, info in golden["sequences"].items() for obj in info["objects"]
    ]
    assert (
        list(zip(result.per_object["sequence"], result.per_object["object"], strict=True)) == expected_objects
    )
    for row in result.per_object.to_dict("records"):
        reference = golden["sequences"][row["sequence"]]["objects"][str(row["object"])]
        for column in ("J-Mean", "J-Recall", "J-Decay", "F-Mean", "F-Recall", "F-Decay"):
            assert close(row[column], reference[column]), (row["sequence"], row["object"], column)


def test_global_values(result, golden):
    for column, reference in golden["global"].items():
        assert close(result.global_[column].item(), reference), column


def test_sequence_facts(golden):
    for seq, info in golden["sequences"].items():
        assert boundary_radius(*info["size"]) == info["bound_pix"], seq
        assert list(decay_bin_edges(len(info["evaluated_frame_ids"]))) == info["decay_bin_edges_uint8"], seq


def test_csvs_byte_identical(result, tmp_path):
    result.write_csvs(tmp_path)
    for name in ("global_results-val.csv", "per-sequence_results-val.csv"):
        assert (tmp_path / name).read_bytes() == (GOLDEN / name).read_bytes(), name


@pytest.mark.slow
def test_cli_csvs_byte_identical(tmp_path, capsys):
    assert (
        main(
            [
                "--gt",
                str(GOLDEN / "gt"),
                "--pred",
                str(GOLDEN / "pred"),
                "--split",
                "val",
                "--out",
                str(tmp_path),
                "--workers",
                "2",
                "--time",
            ]
        )
        == 0
    )
    for name in ("global_results-val.csv", "per-sequence_results-val.csv"):
        assert (tmp_path / name).read_bytes() == (GOLDEN / name).read_bytes(), name
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "global_results-val.csv",
        "per-sequence_results-val.csv",
    ]
    assert "object-frames/s" in capsys.readouterr().out


@pytest.mark.slow
def test_single_worker_gives_the_same_numbers(result):
    single = evaluate_davis(GOLDEN / "gt", GOLDEN / "pred", workers=1)
    assert single.per_frame[["J", "F"]].equals(result.per_frame[["J", "F"]])
    assert single.global_.equals(result.global_)
