"""Where a training step's time goes, and how far its convolutions are from this machine's rate
(docs/findings.md, section 10): torch.profiler over the default config's gvos_scm main step, the
convolutions' FLOPs counted on the same batches, and the 3x3 convolution rate measured beside them.

    python -m pipelines.tools.profile_training_step --data data/synthetic [--iterations 10 --warmup 5]

Prints the convolutions' share of the step, their achieved GFLOP/s per pass against the measured
rate, the step time if everything but the convolutions cost nothing (the ceiling of any speed-up that
leaves the convolutions as they are), and the operations that take the rest.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch
import yaml
from torch.profiler import ProfilerActivity, profile

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from pipelines.benchmarking.peaks import conv_peak_gflops  # noqa: E402
from pipelines.benchmarking.training import _fresh_trainer, count_flops  # noqa: E402
from pipelines.tools.compare_checkouts import write_config  # noqa: E402
from pipelines.training.data import IterationBatches, build_clip_dataset  # noqa: E402

CONV_OPS = {"forward": "aten::mkldnn_convolution", "backward": "aten::convolution_backward"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="synthetic data root (DAVIS, YouTubeVOS, COCO)")
    parser.add_argument("--iterations", type=int, default=10, help="profiled iterations")
    parser.add_argument("--warmup", type=int, default=5, help="untimed iterations before them")
    parser.add_argument("--top", type=int, default=12, help="how many other operations to list")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    default = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    length = default["train"]["main"]["iterations"]  # the default's schedule: only its first steps run
    with tempfile.TemporaryDirectory() as scratch:
        path = write_config(REPO, args.data, length, Path(scratch) / "config.yaml", "config")
        config = yaml.safe_load(path.read_text())
        trainer, stage_cfg = _fresh_trainer(config, "gvos_scm", "main", torch.device("cpu"))
        clips = build_clip_dataset("main", stage_cfg, config.get("data") or {}, path, seed=0)
    batches = IterationBatches(clips, stage_cfg, seed=0, start=0)
    for i in range(args.warmup):
        trainer.step(batches[i], i)
    timed = range(args.warmup, args.warmup + args.iterations)
    start = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for i in timed:
            trainer.step(batches[i], i)
    wall = (time.perf_counter() - start) / args.iterations
    flops = count_flops(trainer, batches, timed)
    conv_flops = {"forward": flops.get("aten.convolution", 0), "backward": flops.get("aten.convolution_backward", 0)}
    self_us = {event.key: event.self_cpu_time_total for event in prof.key_averages()}
    step_us = sum(self_us.values())
    peak = conv_peak_gflops("cpu", amp=trainer.amp)
    print(f"precision {'bfloat16 autocast' if trainer.amp else 'float32'}, 1 thread: {wall:.3f} s/iteration "
          f"(profiled ops {step_us / 1e6 / args.iterations:.3f} s); 3x3 convolution rate measured beside it "
          f"{peak:.0f} GFLOP/s")
    conv_us = 0.0
    for name, op in CONV_OPS.items():
        us = self_us.get(op, 0.0)
        conv_us += us
        rate = conv_flops[name] / us / 1e3 if us else float("nan")
        print(f"  convolutions, {name}: {us / step_us:5.1%} of the step, {conv_flops[name] / 1e9 / args.iterations:.1f} "
              f"GFLOP/iteration at {rate:.0f} GFLOP/s = {rate / peak:.0%} of the rate")
    print(f"  everything else: {1 - conv_us / step_us:.1%} of the step")
    print(f"  ceiling with everything else free: {step_us / conv_us:.2f}x; with that and the convolutions at the "
          f"measured rate too: {step_us / (sum(conv_flops.values()) / peak / 1e3):.2f}x")
    others = sorted(((us, key) for key, us in self_us.items() if key not in CONV_OPS.values()), reverse=True)
    print("  the rest, by self time:")
    for us, key in others[:args.top]:
        print(f"    {key:45s} {us / step_us:5.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
