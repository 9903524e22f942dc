# The report page: figures and Tables 1-6 (reported beside measured) from results/*.csv and the
# paper's tables. Cheap, so it reruns when the report code changes. `snakemake report` (and the default
# target) asks for the page *and* every results table: Snakemake does not rebuild a deleted intermediate
# file when the files that depend on it are up to date, and the tables are what users read.

from report.outputs import FIGURES as REPORT_FIGURES  # noqa: E402


rule report:
    input:
        "report/build/index.html",
        RESULT_TABLES,
        "results/qualitative.npz",


rule rule_times:
    input:
        [table for table in RESULT_TABLES if table != "results/rule_times.csv"],
    output:
        reported_table("rule_times"),
    params:
        seeds=len(SEEDS),
    log:
        "logs/rule_times/rule_times.log",
    threads: 1
    shell:
        "{PY} -m pipelines.collect rule-times --benchmarks benchmarks --seeds {params.seeds} --out {output} > {log} 2>&1"


rule figures:
    # Re-render every figure (PNG, PDF, SVG) and table (LaTeX) of report/build from results/*.csv: no
    # training, prediction or evaluation; `make figures` runs the same command.
    log:
        "logs/report/figures.log",
    threads: 1
    shell:
        "{PY} -m report.build --results results --paper {PAPER_DIR:q} --out report/build --overwrite > {log} 2>&1"


rule render_report:
    input:
        tables=RESULT_TABLES,
        frames="results/qualitative.npz",
        code=sorted(str(p) for p in (REPO / "report").glob("*.py")),
    output:
        page="report/build/index.html",
        figures=[report(f"report/build/{name}", caption=caption(key), category=category)
                 for key, (name, category) in REPORT_FIGURES.items()],
        vector=[report(f"report/build/{Path(name).with_suffix('.pdf')}", caption=caption(key), category=category)
                for key, (name, category) in REPORT_FIGURES.items()],
    params:
        paper=PAPER_DIR,
    log:
        "logs/report/report.log",
    benchmark:
        "benchmarks/report/report.tsv"
    threads: 1
    shell:
        "{PY} -m report.build --results results --paper {params.paper:q} --out report/build --overwrite > {log} 2>&1"
