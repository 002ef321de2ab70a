"""Run the quick benchmarks (latency, ingest, cold start), each in its own process, and report them together.

    python bench/run.py [--json] [QUESTIONS.jsonl] [--questions PATH] [--scifact DIR]

The question file defaults to tests/data/dev.jsonl in the repository. SciFact retrieval quality
(bench/scifact.py) and scale (bench/scale.py) take longer and are run on their own.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import _common  # noqa: F401
from _common import REPO, benchmark_parser, log, machine, now, run_and_emit, table

HERE = Path(__file__).resolve().parent


def child(script: str, *args: str) -> dict:
    cmd = [sys.executable, str(HERE / script), "--json", *args]
    log("running " + " ".join(cmd[1:]))
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{script} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout)
    result["wall_seconds"] = round(time.perf_counter() - start, 1)
    return result


def run(args) -> dict:
    questions = Path(args.questions_arg or args.questions or REPO / "tests" / "data" / "dev.jsonl")
    if not questions.is_file():
        raise SystemExit(f"question file {questions} not found; pass one: bench/run.py QUESTIONS.jsonl")
    latency = child("latency.py", str(questions), "--rounds", str(args.rounds))
    ingest_args = ["--rounds", str(args.ingest_rounds)]
    if args.scifact:
        ingest_args += ["--scifact", args.scifact, "--scifact-docs", str(args.scifact_docs)]
    ingest = child("ingest.py", *ingest_args)
    cold = child("cold_start.py", "--runs", str(args.cold_runs))
    bundled = ingest["corpora"]["bundled"]
    summary = {
        "latency_answer_p50_ms": latency["latency"]["full"]["p50_ms"],
        "latency_answer_p95_ms": latency["latency"]["full"]["p95_ms"],
        "latency_floor_p50_ms": latency["latency"]["floor"]["p50_ms"],
        "latency_floor_p95_ms": latency["latency"]["floor"]["p95_ms"],
        "latency_ratio_p50": latency["ratio_p50"],
        "latency_ratio_p95": latency["ratio_p95"],
        "latency_bar_met": latency["bar"]["met"],
        "ingest_passages": bundled["passages"],
        "ingest_build_passages_per_second": bundled["passages_per_second"]["build"],
        "ingest_raw_passages_per_second": bundled["passages_per_second"]["raw"],
        "ingest_ratio_build_to_raw": bundled["ratio_build_to_raw"],
        "ingest_ratio_build_to_raw_median": bundled["ratio_build_to_raw_median"],
        "ingest_ratio_build_to_raw_cpu": bundled["ratio_build_to_raw_cpu"],
        "ingest_reindex_embedded": bundled["reindex_unchanged"]["embedded"],
        "ingest_reindex_seconds": bundled["reindex_unchanged"]["seconds"],
        "ingest_bar_met": ingest["bar"]["met"],
        "cold_ask_seconds": cold["seconds_median"]["ask"],
        "cold_import_torch_seconds": cold["seconds_median"]["torch"],
        "cold_torch_path_seconds": cold["seconds_median"]["ask-torch"],
        "cold_ratio_ask_to_import_torch": cold["ratio_ask_to_import_torch"],
        "cold_ratio_ask_to_torch_path": cold["ratio_ask_to_torch_path"],
        "cold_ask_peak_rss_mib": cold["peak_rss_mib_max"]["ask"],
    }
    if "scifact" in ingest["corpora"]:
        sci = ingest["corpora"]["scifact"]
        summary["ingest_scifact_ratio_build_to_raw"] = sci["ratio_build_to_raw"]
        summary["ingest_scifact_reindex_embedded"] = sci["reindex_unchanged"]["embedded"]
    return {"benchmark": "run", "date": now(), "machine": machine(), "questions_file": str(questions),
            "summary": summary, "latency": latency, "ingest": ingest, "cold_start": cold}


def human(result: dict) -> str:
    s = result["summary"]
    rows = [["query latency p50 (answer / floor)",
             f"{s['latency_answer_p50_ms']:.1f} / {s['latency_floor_p50_ms']:.1f} ms",
             s["latency_ratio_p50"], "<= 1.3", "met" if s["latency_bar_met"] else "MISSED"],
            ["query latency p95 (answer / floor)",
             f"{s['latency_answer_p95_ms']:.1f} / {s['latency_floor_p95_ms']:.1f} ms",
             s["latency_ratio_p95"], "", ""],
            ["ingest passages/s (build / raw)",
             f"{s['ingest_build_passages_per_second']:.1f} / {s['ingest_raw_passages_per_second']:.1f}",
             s["ingest_ratio_build_to_raw"], ">= 0.85", "met" if s["ingest_bar_met"] else "MISSED"],
            ["unchanged re-index (embedded, s)", f"{s['ingest_reindex_embedded']}, {s['ingest_reindex_seconds']:.2f} s",
             "", "0 embedded", "met" if s["ingest_reindex_embedded"] == 0 else "MISSED"],
            ["cold ask / import torch",
             f"{s['cold_ask_seconds']:.2f} / {s['cold_import_torch_seconds']:.2f} s",
             s["cold_ratio_ask_to_import_torch"], "<= 0.35", "met" if s["cold_ratio_ask_to_import_torch"] <= 0.35
             else "MISSED"],
            ["cold ask / the torch path", f"{s['cold_ask_seconds']:.2f} / {s['cold_torch_path_seconds']:.2f} s",
             s["cold_ratio_ask_to_torch_path"], "", ""],
            ["cold ask peak RSS", f"{s['cold_ask_peak_rss_mib']:.0f} MiB", "", "<= 300 MiB",
             "met" if s["cold_ask_peak_rss_mib"] <= 300 else "MISSED"]]
    m = result["machine"]
    return "\n".join([f"citebot benchmarks, {result['date']}, {m['cores']} cores {m['cpu']}, {m['ram_gib']} GiB",
                      table(["figure", "value", "ratio", "bar", ""], rows)])


def main() -> None:
    parser = benchmark_parser(__doc__)
    parser.add_argument("questions_arg", nargs="?", metavar="QUESTIONS", help="question set (.jsonl)")
    parser.add_argument("--questions", help="question set (default: tests/data/dev.jsonl in the repository)")
    parser.add_argument("--rounds", type=int, default=10, help="latency rounds (default 10)")
    parser.add_argument("--ingest-rounds", type=int, default=5, help="ingest rounds (default 5)")
    parser.add_argument("--cold-runs", type=int, default=5, help="cold-start runs (default 5)")
    parser.add_argument("--scifact", help="also ingest a SciFact subset from this folder")
    parser.add_argument("--scifact-docs", type=int, default=100)
    run_and_emit(parser, run, human)


if __name__ == "__main__":
    main()
