"""The paper's qualitative figures, as data: Fig. 5 (the SCM's gate) and Figs. 8-10 (segmentations of DAVIS
val videos), with every frame chosen by a stated rule from the scores, never by hand.

    python -m pipelines.qualitative --data DAVIS_ROOT --per-sequence results/per_sequence.csv \\
        [--attributes DAVIS_ROOT/attributes.csv] --run VARIANT/STAGE=CHECKPOINT:HASH ... \\
        --predictions predictions --gates results/scm_gates.csv --frames results/qualitative.npz

Rules (one seed throughout, ``--seed``, the workflow's first; the frame of a video is its middle one, T // 2):

- Fig. 5: the videos with same-look distractors (attribute ``distractor``; every video where the data
  set has no attributes) where gvos_scm and no_scm (full stage) differ most in J&F, ``FIG5_VIDEOS`` of
  them; for each SCM run, the frame, the previous mask the SCM read and its gate per object.
- Fig. 8: the ``GRID_VIDEOS`` videos where the full-stage runs differ most (largest max - min J&F).
- Fig. 9: the ``GRID_VIDEOS`` videos with the most objects (at least two).
- Fig. 10: each full-stage run's worst video (lowest J&F).
Ties are broken by the video's name.

``--gates`` (results/scm_gates.csv): for every SCM run (seed 0), every val video and object, the mean
gate inside and outside the previous mask over the video's frames: a *spotlight* (inside > outside,
as the paper's Fig. 5 shows) or a *hole*. ``--frames``: the figures' pixels (report.figures draws them).
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from methods.checkpoint import load_model
from methods.inference import InferenceEngine
from pipelines.common.cli import progress_bar, run_cli
from pipelines.common.files import DataError, atomic_save, check_output_file
from pipelines.common.results_tables import check_table
from pipelines.common.runtime import resolve_device, set_threads
from pipelines.data.davis import DavisDataset
from pipelines.data.masks import VOID_ID, read_mask
from pipelines.evaluation.metrics import HEADLINE
from pipelines.experiment.datasets import CLAIMS_DATASET
from pipelines.experiment.runs import PART, Run
from pipelines.experiment.stages import FULL
from pipelines.predicting.scm_gate import GateRecorder, gate_statistics
from pipelines.predicting.segment import segment_frames
from pipelines.tables.scores import read_csv

log = logging.getLogger("gvos.qualitative")

FIG5_VIDEOS = 2
GRID_VIDEOS = 4
FIG5_PAIR = (("gvos_scm", FULL.name), ("no_scm", FULL.name))
GATE_COLUMNS = ["variant", "stage", "seed", "sequence", "object", "gate_inside", "gate_outside", "frames"]


# ---- the selection rules: pure functions of per_sequence.csv
def video_scores(per_sequence: pd.DataFrame, dataset: str = CLAIMS_DATASET, seed: int | None = 0) -> pd.DataFrame:
    """Video x run (variant/stage) J&F: the object mean of one seed (None: every seed's mean)."""
    rows = per_sequence[per_sequence["dataset"] == dataset]
    if seed is not None:
        rows = rows[rows["seed"] == seed]
    rows = rows.assign(run=rows["variant"] + "/" + rows["stage"])
    per_seed = rows.groupby(["run", "seed", "sequence"])[HEADLINE].mean()
    return per_seed.groupby(["sequence", "run"]).mean().unstack("run").sort_index()


def _ranked(values: pd.Series, count: int, ascending: bool = False) -> list[str]:
    frame = values.dropna().rename("value").reset_index()
    frame = frame.sort_values(["value", "sequence"], ascending=[ascending, True])
    return frame["sequence"].head(count).tolist()


def most_different_videos(scores: pd.DataFrame, runs: list[str], count: int = GRID_VIDEOS) -> list[str]:
    """Fig. 8: the videos with the largest spread (max - min) of J&F over ``runs``."""
    chosen = scores[[r for r in runs if r in scores.columns]]
    if chosen.shape[1] < 2:
        return []
    return _ranked(chosen.max(axis=1) - chosen.min(axis=1), count)


def multi_object_videos(per_sequence: pd.DataFrame, dataset: str = CLAIMS_DATASET, count: int = GRID_VIDEOS) -> list[str]:
    """Fig. 9: the videos with the most objects, at least two."""
    rows = per_sequence[per_sequence["dataset"] == dataset]
    objects = rows.groupby("sequence")["object"].nunique()
    return _ranked(objects[objects >= 2].astype(float), count)


def worst_videos(scores: pd.DataFrame, runs: list[str]) -> list[tuple[str, str]]:
    """Fig. 10: (run, its lowest-J&F video) for each run."""
    return [(run, _ranked(scores[run], 1, ascending=True)[0]) for run in runs
            if run in scores.columns and scores[run].notna().any()]


def scm_contrast_videos(scores: pd.DataFrame, attributes: pd.DataFrame | None, count: int = FIG5_VIDEOS) -> list[str]:
    """Fig. 5: distractor videos (all, without attributes) where gvos_scm beats no_scm by the most (full)."""
    a, b = ("/".join(run) for run in FIG5_PAIR)
    if a not in scores.columns:
        return []
    gain = scores[a] - scores[b] if b in scores.columns else scores[a]
    if attributes is not None and "distractor" in attributes.columns:
        distractor = set(attributes.loc[attributes["distractor"] == 1, "sequence"])
        gain = gain[gain.index.isin(distractor)] if distractor & set(gain.index) else gain
    return _ranked(gain, count)


def middle_frame(frames: int) -> int:
    return frames // 2


# ---- the SCM's gate, read through a forward hook (torch's public API) on the trained network
def record_gates(engine, reader, names: list[str], keep: set[str]) -> tuple[list[dict], dict[str, dict]]:
    """Gate statistics of every video in ``names``, and for the videos in ``keep`` the middle frame's
    image-independent panels (previous mask at full size, gate)."""
    rows, kept = [], {}
    recorder = GateRecorder(engine.model)
    try:
        for name in progress_bar(names, desc="SCM gates", unit="video"):
            recorder.steps.clear()
            sample = reader.open_video(name)
            for _ in segment_frames(engine, sample):  # the recorder keeps what the figure needs
                pass
            if not recorder.steps:
                continue
            for obj, (inside, outside) in zip(engine.object_ids, gate_statistics(recorder.steps), strict=True):
                rows.append({"sequence": name, "object": obj, "gate_inside": inside, "gate_outside": outside,
                             "frames": len(recorder.steps)})
            if name in keep:
                frame = middle_frame(sample.num_frames)
                gate, previous = recorder.steps[frame - 1]  # the step of frame t is the (t-1)-th SCM call
                kept[name] = {"frame": frame, "gate": gate.astype(np.float16), "previous": previous.astype(np.float16),
                              "objects": list(engine.object_ids)}
    finally:
        recorder.close()
    return rows, kept


# ---- the CLI
def parse_run(text: str) -> tuple[str, str, Path, str | None]:
    """'variant/stage=checkpoint[:hash]' -> (variant, stage, checkpoint, hash)."""
    run, sep, rest = text.partition("=")
    variant, slash, stage = run.partition("/")
    if not sep or not slash or not rest:
        raise ValueError(f"--run {text!r}: expected VARIANT/STAGE=CHECKPOINT[:HASH]")
    path, _, digest = rest.partition(":")
    return variant, stage, Path(path), digest or None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m pipelines.qualitative", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, help="DAVIS root (none: the matrix scores no DAVIS-2017; empty outputs)")
    parser.add_argument("--per-sequence", required=True, type=Path, help="results/per_sequence.csv")
    parser.add_argument("--attributes", type=Path, help="the data set's attributes.csv (synthetic data)")
    parser.add_argument("--run", action="append", default=[], type=parse_run,
                        help="an SCM run (of --seed) whose gate Fig. 5 shows: VARIANT/STAGE=CHECKPOINT[:HASH]")
    parser.add_argument("--predictions", required=True, type=Path,
                        help=f"predictions root: <root>/{PART}/{CLAIMS_DATASET}/<video>/<frame>.png")
    parser.add_argument("--grid-runs", nargs="*", default=None,
                        help="the runs Figs. 8-10 show, VARIANT/STAGE (default: every full-stage run scored)")
    parser.add_argument("--seed", type=int, default=0, help="the seed whose runs are shown")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="auto: CUDA if available")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--gates", required=True, type=Path, help="results/scm_gates.csv")
    parser.add_argument("--frames", required=True, type=Path, help="results/qualitative.npz")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    gates_path, frames_path = check_output_file(args.gates, "--gates"), check_output_file(args.frames, "--frames")
    per_sequence = read_csv(args.per_sequence, "the per-object scores")
    if len(per_sequence):
        check_table(per_sequence, "per_sequence", args.per_sequence)
    attributes = pd.read_csv(args.attributes) if args.attributes is not None and args.attributes.is_file() else None
    scores = video_scores(per_sequence, seed=args.seed)
    if args.data is None or scores.empty:
        args.run, scores = [], scores.iloc[0:0, 0:0]
    reader = DavisDataset(args.data, year="2017", split="val") if args.data is not None else None
    grid_runs = args.grid_runs if args.grid_runs is not None else sorted(
        run for run in scores.columns if run.endswith("/full"))
    layout = {"seed": args.seed, "grid_runs": grid_runs,
              "fig5": {"videos": scm_contrast_videos(scores, attributes, FIG5_VIDEOS), "runs": []},
              "fig8": most_different_videos(scores, grid_runs), "fig9": multi_object_videos(per_sequence) if not scores.empty else [],
              "fig10": worst_videos(scores, grid_runs)}
    device = resolve_device(args.device)
    set_threads(args.threads)
    arrays: dict[str, np.ndarray] = {}
    gate_rows = []
    for variant, stage, checkpoint, digest in args.run:
        model, _ = load_model(checkpoint, device, variant=variant, seed=args.seed, config_hash=digest)
        if model.scm is None:
            raise DataError(checkpoint, f"{variant}/{stage} has no SCM: it has no gate to show")
        engine = InferenceEngine(model, device=device)
        rows, kept = record_gates(engine, reader, reader.sequences, set(layout["fig5"]["videos"]))
        gate_rows += [{"variant": variant, "stage": stage, "seed": args.seed, **row} for row in rows]
        layout["fig5"]["runs"].append(f"{variant}/{stage}")
        for name, panel in kept.items():
            arrays[f"gate/{variant}/{stage}/{name}"] = panel["gate"]
            arrays[f"previous/{variant}/{stage}/{name}"] = panel["previous"]
            layout.setdefault("frames", {})[name] = panel["frame"]
            layout.setdefault("objects", {})[name] = panel["objects"]
    videos = set(layout["fig5"]["videos"]) | set(layout["fig8"]) | set(layout["fig9"]) | {v for _, v in layout["fig10"]}
    for name in sorted(videos):
        video = reader.open_video(name)
        frame = middle_frame(video.num_frames)
        layout.setdefault("frames", {})[name] = frame
        arrays[f"image/{name}"] = video.image(frame)
        truth = video.truth(frame)
        if truth is not None:
            arrays[f"truth/{name}"] = np.where(truth == VOID_ID, 0, truth).astype(np.uint8)
        for run in grid_runs:
            variant, stage = run.split("/", 1)
            folder = Path(Run(variant, stage, args.seed).under(str(args.predictions), CLAIMS_DATASET))
            path = folder / name / f"{video.frame_names[frame]}.png"
            if not path.is_file():
                raise DataError(path, f"the prediction Figs. 8-10 show for {run} is missing")
            arrays[f"prediction/{run}/{name}"] = read_mask(path)
    gates = pd.DataFrame(gate_rows, columns=GATE_COLUMNS)
    atomic_save(gates_path, lambda tmp: gates.to_csv(tmp, index=False))
    arrays["layout"] = np.array(json.dumps(layout))

    def save_frames(tmp: str) -> None:
        with open(tmp, "wb") as handle:
            np.savez_compressed(handle, **arrays)

    atomic_save(frames_path, save_frames)
    print(f"{frames_path}: Fig. 5 {layout['fig5']['videos']}, Fig. 8 {layout['fig8']}, Fig. 9 {layout['fig9']}, "
          f"Fig. 10 {layout['fig10']}; {gates_path}: {len(gates)} objects")
    return 0


if __name__ == "__main__":
    run_cli(main)
