# The report page: figures and Tables 1-6 (reported beside measured) from results/*.csv and the
# paper's tables. Cheap, so it reruns when the report code changes. `snakemake report` (and the default
# target) asks for the page *and* every results table: Snakemake does not rebuild a deleted intermediate
# file when the files that depend on it are up to date, and the tables are what users read.


rule report:
    input:
        "report/build/index.html",
        RESULT_TABLES,


rule render_report:
    input:
        tables=RESULT_TABLES,
        code=sorted(str(p) for p in (REPO / "report").glob("*.py")),
    output:
        page="report/build/index.html",
    params:
        paper=PAPER_DIR,
    log:
        "logs/report/report.log",
    benchmark:
        "benchmarks/report/report.tsv"
    threads: 1
    shell:
        "{PY} -m report.build --results results --paper {params.paper} --out report/build > {log} 2>&1"
