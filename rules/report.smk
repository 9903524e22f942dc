# The report page: figures and Tables 1-6 (reported beside measured) from results/*.csv and the
# paper's tables. Cheap, so it reruns when the report code changes.


rule report:
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
