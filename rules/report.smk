# The report page: figures and Tables 1-6 (reported beside measured) from results/*.csv and the
# paper's tables. Cheap, so it reruns when the report code changes.


rule report:
    input:
        accuracy="results/accuracy.csv",
        summary="results/accuracy_summary.csv",
        per_sequence="results/per_sequence.csv",
        training_loss="results/training_loss.csv",
        speed="results/speed.csv",
        memory="results/memory_vs_t.csv",
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
