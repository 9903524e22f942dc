"""Paired timing of torch.compile for training (docs/findings.md, section 7): an eager and a compiled
trainer from the same initialisation alternate iterations on the same batches of the default config.

    python -m pipelines.tools.compile_paired all 40      # every part pipelines.common.compiling compiles
    python -m pipelines.tools.compile_paired heads 40    # ASPP, SCM, decoder, refinement only

Needs the default synthetic data (data/synthetic, made by `make report` or pipelines.data.synthetic).
"""

import statistics
import sys
import time
from pathlib import Path

import torch
import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import pipelines.common.compiling as compiling  # noqa: E402
from methods import variants  # noqa: E402
from pipelines.training.config import TrainConfig  # noqa: E402
from pipelines.training.data import IterationBatches, build_clip_dataset  # noqa: E402
from pipelines.training.trainer import Trainer, configure_torch  # noqa: E402


def main(mode: str, iterations: int) -> None:
    torch.set_num_threads(1)
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    train = TrainConfig.from_dict(config["train"])
    roots = {key: str(REPO / "data" / "synthetic" / folder)
             for key, folder in (("davis", "DAVIS"), ("youtubevos", "YouTubeVOS"), ("coco", "COCO"))}
    clips = build_clip_dataset("main", train.main, roots, None, 0)
    configure_torch(torch.device("cpu"))
    if mode == "heads":
        compiling.ENCODER_STAGES = ()

    def trainer(compiled: bool) -> Trainer:
        torch.manual_seed(0)
        model = variants.build_model("gvos_scm", dict(config["model"]))
        if compiled:
            compiling.compile_network(model, torch.device("cpu"), "train.compile")
        return Trainer(model, train.main, torch.device("cpu"), train.amp, 0)

    runs = {"eager": trainer(False), "compiled": trainer(True)}
    times = {name: [] for name in runs}
    batches = IterationBatches(clips, train.main, 0, 0)
    for i in range(iterations):
        order = ("eager", "compiled") if i % 2 == 0 else ("compiled", "eager")
        for name in order:
            start = time.perf_counter()
            runs[name].step(batches[i], i)
            times[name].append(time.perf_counter() - start)
    eager, compiled = times["eager"], times["compiled"]
    print(f"{mode}: compile {sum(compiled[:3]) - sum(eager[:3]):.1f} s; median s/it eager "
          f"{statistics.median(eager[4:]):.4f}, compiled {statistics.median(compiled[4:]):.4f}; median paired "
          f"eager/compiled {statistics.median(a / b for a, b in zip(eager[4:], compiled[4:], strict=True)):.3f}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "all", int(sys.argv[2]) if len(sys.argv) > 2 else 40)
