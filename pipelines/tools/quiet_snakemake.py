"""Snakemake with one console line a job: what `make smoke` and `make report` run.

    python -m pipelines.tools.quiet_snakemake --cores 8 report [--configfile FILE] [any snakemake option]

Snakemake writes a dozen lines a job (its rule, files, reason, threads and resources, then a timestamp,
"Finished jobid", "n of N steps", "Select jobs", "Execute n jobs"); its ``--quiet rules`` takes five of
them away, and with them the "Error in rule" block that names a failing job and its log. Here each
finished job becomes one line, ``HH:MM:SS  n/N (p%)  rule``; everything else snakemake writes (its header,
the plan, a failing job's error block) passes through unchanged, and the exit status is snakemake's.
Each job's own output is in its log under logs/.
"""

from __future__ import annotations

import re
import subprocess
import sys

TIMESTAMP = re.compile(r"^\[\w{3} \w{3} +\d+ (\d\d:\d\d:\d\d) \d{4}\]$")
JOB_STARTS = re.compile(r"^(local)?rule \S+:$")  # then its indented details: "Error in rule" does not match
DETAIL = re.compile(r"^\s{4}")
FINISHED = re.compile(r"^Finished jobid: \d+ \(Rule: (?P<rule>[^)]+)\)$")
PROGRESS = re.compile(r"^(?P<done>\d+) of (?P<total>\d+) steps \((?P<percent>[^)]+)\) done$")
SCHEDULING = re.compile(r"^(Select jobs to execute\.\.\.|Execute \d+ jobs\.\.\.)$")


class JobLines:
    """Turns snakemake's console lines into the ones to print: a started job's block and the scheduler's
    chatter into none, a finished job's three lines into one, everything else as it came."""

    def __init__(self) -> None:
        self.time = ""
        self.rule = ""
        self.in_job_block = False
        self.blank = False

    def feed(self, line: str) -> list[str]:
        text = line.rstrip("\n")
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
    process = subprocess.Popen([sys.executable, "-m", "snakemake", *args],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    lines = JobLines()
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
