"""Snakemake with one console line a job: what `make smoke` and `make report` run.

    python -m pipelines.tools.quiet_snakemake --cores 8 report [--configfile FILE] [any snakemake option]

Snakemake writes a dozen lines a job (its rule, files, reason, threads and resources, then a timestamp,
"Finished jobid", "n of N steps", "Select jobs", "Execute n jobs"); its ``--quiet rules`` takes five of
them away, and with them the "Error in rule" block that names a failing job and its log. Here each
finished job becomes one line, ``HH:MM:SS  n/N (p%)  rule``; everything else snakemake writes (its header,
the plan, a failing job's error block) passes through unchanged, and the exit status is snakemake's.
Each job's own output is in its log under logs/. For the embedded default (no ``--configfile``), the plan
is followed by what it will cost (``pipelines.experiment.cost``): CPU-minutes and about how long on this
machine's cores, at the measured rates of the default run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

from pipelines.experiment.cost import default_rates_file, describe_source, planned_cost, rule_rates

TIMESTAMP = re.compile(r"^\[\w{3} \w{3} +\d+ (\d\d:\d\d:\d\d) \d{4}\]$")
JOB_STARTS = re.compile(r"^(local)?rule \S+:$")  # then its indented details: "Error in rule" does not match
DETAIL = re.compile(r"^\s{4}")
FINISHED = re.compile(r"^Finished jobid: \d+ \(Rule: (?P<rule>[^)]+)\)$")
PROGRESS = re.compile(r"^(?P<done>\d+) of (?P<total>\d+) steps \((?P<percent>[^)]+)\) done$")
SCHEDULING = re.compile(r"^(Select jobs to execute\.\.\.|Execute \d+ jobs\.\.\.)$")


PROVIDED_CORES = re.compile(r"^Provided cores: (\d+)$")
PLAN_ROW = re.compile(r"^(?P<rule>\w+)\s+(?P<jobs>\d+)$")


class JobLines:
    """Turns snakemake's console lines into the ones to print: a started job's block and the scheduler's
    chatter into none, a finished job's three lines into one, everything else as it came. With ``rates``
    (``pipelines.experiment.cost.rule_rates``), the plan's "Job stats" table is followed by the cost line."""

    def __init__(self, rates: dict | None = None, source: str = "") -> None:
        self.time = ""
        self.rule = ""
        self.in_job_block = False
        self.blank = False
        self.rates, self.source = rates, source
        self.cores = os.cpu_count() or 1
        self.plan: dict[str, int] | None = None

    def cost_line(self, text: str) -> list[str]:
        """Collect the plan's rows; after its ``total`` row, the line that prices it."""
        if text == "Job stats:":
            self.plan = {}
        elif self.plan is not None and (row := PLAN_ROW.match(text)):
            if row["rule"] != "total":
                self.plan[row["rule"]] = int(row["jobs"])
            else:
                plan, self.plan = self.plan, None
                if self.rates:
                    return [planned_cost(plan, self.rates, self.source).line(self.cores)]
        return []

    def feed(self, line: str) -> list[str]:
        text = line.rstrip("\n")
        if match := PROVIDED_CORES.match(text):
            self.cores = min(int(match.group(1)), os.cpu_count() or 1)
        priced = self.cost_line(text)
        if priced:
            return [text, *priced]
        if self.in_job_block and DETAIL.match(text):
            return []
        self.in_job_block = False
        if not text.strip():
            self.blank = True  # shown only if what follows is shown
            return []
        if SCHEDULING.match(text):
            return []
        if match := TIMESTAMP.match(text):
            self.time = match.group(1)
            return []
        if JOB_STARTS.match(text):
            self.in_job_block, self.time, self.blank = True, "", False
            return []
        if match := FINISHED.match(text):
            self.rule, self.blank = match.group("rule"), False
            return []
        if (match := PROGRESS.match(text)) and self.rule:
            shown = f"{self.time}  {match['done']}/{match['total']} ({match['percent']})  {self.rule}"
            self.time, self.rule = "", ""
            return [shown]
        held = ([""] if self.blank else []) + ([f"[{self.time}]"] if self.time else [])
        self.time, self.blank = "", False
        return held + [text]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    rates, source = None, ""
    if not any(arg.startswith("--configfile") for arg in args):  # the rates fit the embedded default only
        path = default_rates_file()
        if path is not None:
            rates, source = rule_rates(path), describe_source(path)
    process = subprocess.Popen([sys.executable, "-m", "snakemake", *args],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    lines = JobLines(rates, source)
    try:
        for line in process.stdout:
            for shown in lines.feed(line):
                print(shown, flush=True)
    except KeyboardInterrupt:  # the terminal's Ctrl-C reached snakemake too: let it stop its jobs, show how
        for line in process.stdout:
            print(line, end="", flush=True)
    return process.wait()


if __name__ == "__main__":
    raise SystemExit(main())
