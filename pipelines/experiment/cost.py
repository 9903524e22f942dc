"""What a planned workflow will cost before it runs: its jobs per rule (snakemake's "Job stats") times the
seconds a job of each rule took in a measured run of the embedded default (results/rule_times.csv: this
checkout's last run if it was the default, on this machine; else the committed default run's,
docs/default-run/results/rule_times.csv, on the machine it names). The rates fit the default's job sizes:
another config (more iterations, the smoke sizes) gets no estimate."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

MEASURED_HERE = Path("results") / "rule_times.csv"
COMMITTED = Path("docs") / "default-run" / "results" / "rule_times.csv"


@dataclass(frozen=True)
class PlannedCost:
    jobs: int
    job_minutes: float  # the jobs' wall times summed
    cpu_minutes: float
    untimed: tuple[str, ...]  # rules of the plan with no measured rate (counted as free)
    source: str

    def wall_minutes(self, cores: int) -> float:
        """About how long the plan takes on ``cores`` cores busy with its jobs."""
        return self.job_minutes / max(1, cores)

    def line(self, cores: int) -> str:
        text = (f"planned: {self.jobs} jobs, about {self.cpu_minutes:.0f} CPU-minutes ({self.job_minutes:.0f} "
                f"job-minutes), so about {self.wall_minutes(cores):.0f} min on {cores} core{'s' if cores > 1 else ''}, "
                f"at the rates of {self.source}")
        return text + (f"; not timed there: {', '.join(self.untimed)}" if self.untimed else "")


def of_the_default(path: Path) -> bool:
    """Whether the run that measured ``path`` was the embedded default (its runs.csv: no changed key)."""
    runs = path.with_name("runs.csv")
    if not (path.is_file() and runs.is_file()):
        return False
    changed = pd.read_csv(runs)["changed_keys"].astype(str)
    return len(changed) > 0 and bool((changed == "none").all())


def default_rates_file(root: Path = Path(".")) -> Path | None:
    """The rates of the embedded default: this checkout's last run if it was the default (this machine), else
    the committed default run's; None if neither is there."""
    for candidate in (root / MEASURED_HERE, root / COMMITTED):
        if of_the_default(candidate):
            return candidate
    return None


def describe_source(path: Path) -> str:
    """The rates' file and the device its run recorded (runs.csv beside it), e.g. 'docs/.../rule_times.csv (cpu: X)'."""
    runs = path.with_name("runs.csv")
    devices = []
    if runs.is_file():
        devices = sorted({d for d in pd.read_csv(runs)["device"].astype(str) if d not in ("none", "unknown", "nan")})
    return f"{path}" + (f" ({'; '.join(devices)})" if devices else "")


def rule_rates(path: Path) -> dict[str, tuple[float, float]]:
    """rule -> (wall seconds, CPU seconds) of one job, from a rule_times.csv."""
    table = pd.read_csv(path)
    table = table[~table["rule"].astype(str).str.startswith("total") & (table["jobs"] > 0)]
    return {str(row.rule): (row.wall_s / row.jobs, row.cpu_s / row.jobs) for row in table.itertuples()}


def rate_of(rule: str, rates: dict[str, tuple[float, float]]) -> tuple[float, float] | None:
    """A rule's rate: its own, or that of the measured kind its name ends or starts with (the workflow files
    train_benchmark's measurement under benchmark, render_report's under report)."""
    if rule in rates:
        return rates[rule]
    parts = rule.split("_")
    for name in (parts[-1], parts[0]):
        if name in rates:
            return rates[name]
    return None


FREE_RULES = frozenset({"config_stamp", "collect", "rule_times", "report", "all"})
"""Bookkeeping rules that take seconds: never listed as untimed."""


def planned_cost(counts: dict[str, int], rates: dict[str, tuple[float, float]], source: str) -> PlannedCost:
    """The cost of ``counts`` (rule -> jobs, snakemake's plan) at ``rates`` (``rule_rates``)."""
    wall = cpu = 0.0
    untimed = []
    for rule, jobs in counts.items():
        rate = rate_of(rule, rates)
        if rate is None:
            if rule not in FREE_RULES:
                untimed.append(rule)
            continue
        wall += jobs * rate[0]
        cpu += jobs * rate[1]
    return PlannedCost(sum(counts.values()), wall / 60, cpu / 60, tuple(untimed), source)
