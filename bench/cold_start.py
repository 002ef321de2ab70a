"""Cold start: wall time and peak memory of `citebot ask` in a new process, against `python -c "import torch"`.

The index is built once in a temporary home (CITEBOT_HOME); then, alternating, several runs of
  ask        citebot ask "which states opted out?"                      (ONNX Runtime: the shipped path)
  ask-torch  the same with CITEBOT_ENCODER_BACKEND=torch                 (the torch path it replaced)
  torch      python -c "import torch"                                    (the floor named by issue 11)
  python     python -c pass                                              (interpreter start and exit)
Median wall times, each command's peak RSS (from wait4), and the ratios ask / torch and ask / ask-torch.
Then one run of the answer path under `python -X importtime` (top imports by cumulative time, each with the
chain of modules that pulled it in), and one run timing the phases of `ask` inside a fresh process.

    python bench/cold_start.py [--runs 5] [--json]
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401
from _common import REPO, benchmark_parser, log, machine, median, now, run_and_emit, table

QUESTION = "which states opted out?"

# Phases of `citebot ask` in a fresh process, step by step as bot.commands.answers.cmd_ask runs them (the same helpers).
PHASES = rf"""
import time, json
t0 = time.perf_counter(); marks = {{}}
from bot.settings import build_encoder, load_settings
marks["import settings"] = time.perf_counter()
settings = load_settings(); encoder = build_encoder(settings); encoder.preload()
marks["read settings, import the encoder (numpy), start loading the model"] = time.perf_counter()
from bot.service import KnowledgeService
from bot.rendering.terminal import render_answer
marks["import service, FAISS (the model loads meanwhile)"] = time.perf_counter()
service = KnowledgeService(settings, encoder=encoder)
service.searchable()
marks["load index (verify, read, BM25, examples)"] = time.perf_counter()
service.encoder.backend
marks["wait for the model"] = time.perf_counter()
answer, _ = service.answer_and_record({QUESTION!r}, surface="cli")
render_answer(answer)
marks["answer + record + render"] = time.perf_counter()
out, last = {{}}, t0
for name, t in marks.items():
    out[name] = round(t - last, 3); last = t
out["total (after interpreter start)"] = round(last - t0, 3)
print(json.dumps(out))
"""


def venv_bin(name: str) -> Path:
    """A console script next to the interpreter running this benchmark (the project venv)."""
    return Path(sys.executable).parent / name


def timed(cmd: list[str], env: dict) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one run of cmd, read from wait4 for that child alone."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        child = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{' '.join(cmd)} failed ({child.returncode}):\n{err.read().decode()[-2000:]}")
    return seconds, usage.ru_maxrss / 1024


def parse_importtime(stderr: str) -> list[dict]:
    """Tree of imports from `python -X importtime` output (children are printed before their parent)."""
    pending: dict[int, list[dict]] = {}
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        self_us, cumulative_us, name = line.split(":", 1)[1].split("|", 2)
        raw = name[1:] if name.startswith(" ") else name
        depth = (len(raw) - len(raw.lstrip(" "))) // 2
        node = {"name": raw.strip(), "self_ms": int(self_us) / 1000, "cumulative_ms": int(cumulative_us) / 1000,
                "children": pending.pop(depth + 1, [])}
        pending.setdefault(depth, []).append(node)
    return pending.get(0, [])


def flatten(roots: list[dict]) -> list[tuple[dict, list[str]]]:
    out = []

    def walk(node: dict, chain: list[str]) -> None:
        out.append((node, chain))
        for child in node["children"]:
            walk(child, [*chain, node["name"]])

    for root in roots:
        walk(root, [])
    return out


OURS = ("bot", "knowledge", "embeddings")


def import_report(stderr: str, top: int) -> dict:
    roots = parse_importtime(stderr)
    nodes = flatten(roots)
    total_ms = sum(r["cumulative_ms"] for r in roots)
    top_level = sorted(roots, key=lambda n: -n["cumulative_ms"])[:top]
    # The heaviest third-party packages (first module of each top-level package), with who imported them.
    # A package's cost: the sum over its top-most modules (those not imported by the same package),
    # attributed to the heaviest of them for "who imported it".
    third_party: dict[str, dict] = {}
    for node, chain in nodes:
        package = node["name"].split(".")[0]
        if package in OURS or package.startswith("_"):
            continue
        if any(c.split(".")[0] == package for c in chain):
            continue  # under a module of the same package: already counted there
        ours = [c for c in chain if c.split(".")[0] in OURS]
        entry = third_party.setdefault(package, {"package": package, "cumulative_ms": 0.0, "heaviest": 0.0})
        entry["cumulative_ms"] = round(entry["cumulative_ms"] + node["cumulative_ms"], 1)
        if node["cumulative_ms"] > entry["heaviest"]:
            entry.update(heaviest=node["cumulative_ms"], first_module=node["name"],
                         imported_by=ours[-1] if ours else (chain[-1] if chain else "(top level)"),
                         chain=" > ".join([*chain, node["name"]]))
    for entry in third_party.values():
        entry.pop("heaviest")
    heavy = sorted(third_party.values(), key=lambda r: -r["cumulative_ms"])[:top]
    return {"total_ms": round(total_ms, 1),
            "top_level": [{"module": n["name"], "cumulative_ms": round(n["cumulative_ms"], 1)} for n in top_level],
            "heaviest_packages": heavy}


def run(args) -> dict:
    citebot = venv_bin("citebot")
    if not citebot.exists():
        raise SystemExit(f"{citebot} not found: install the project (`make setup`) into this interpreter's venv")
    python = sys.executable
    with tempfile.TemporaryDirectory(prefix="citebot-bench-cold-") as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CITEBOT_")}
        env.update(CITEBOT_HOME=home, HF_HUB_OFFLINE="1")
        # Compiled modules are cached as an installed package would have them, but in the temporary folder
        # (nothing is written into the repository).
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(Path(home) / "pycache")
        env["PYTHONPATH"] = str(REPO)
        torch_env = {**env, "CITEBOT_ENCODER_BACKEND": "torch"}
        log("building the index in a temporary home ...")
        build, _ = timed([str(citebot), "index"], env)
        log(f"index built in {build:.1f} s; warming the file cache ...")
        commands = {"ask": ([str(citebot), "ask", QUESTION], env),
                    "ask-torch": ([str(citebot), "ask", QUESTION], torch_env),
                    "torch": ([python, "-c", "import torch"], env),
                    "python": ([python, "-c", "pass"], env)}
        for cmd, cmd_env in commands.values():  # one untimed run each: page cache and .pyc files
            timed(cmd, cmd_env)
        times: dict[str, list[float]] = {name: [] for name in commands}
        peaks: dict[str, list[float]] = {name: [] for name in commands}
        names = list(commands)
        for r in range(args.runs):
            for name in names[r % len(names):] + names[:r % len(names)]:  # rotate the order every run
                seconds, peak = timed(*commands[name])
                times[name].append(seconds)
                peaks[name].append(peak)
            log(f"run {r + 1}/{args.runs}: " + ", ".join(f"{n} {v[-1]:.2f} s" for n, v in times.items()))
        log("importtime and phases ...")
        traced = subprocess.run([python, "-X", "importtime", str(citebot), "ask", QUESTION], env=env, cwd=REPO,
                                capture_output=True, text=True, check=True)
        imports = import_report(traced.stderr, args.top)
        phases = json.loads(subprocess.run([python, "-c", PHASES], env=env, cwd=REPO, capture_output=True,
                                           text=True, check=True).stdout.strip()
                            .splitlines()[-1])
    med = {name: median(v) for name, v in times.items()}
    return {
        "benchmark": "cold_start",
        "date": now(),
        "machine": machine(),
        "question": QUESTION,
        "runs": args.runs,
        "index_build_seconds": round(build, 2),
        "seconds_median": {k: round(v, 3) for k, v in med.items()},
        "seconds_all": {k: [round(x, 3) for x in v] for k, v in times.items()},
        "peak_rss_mib_max": {k: round(max(v), 1) for k, v in peaks.items()},
        "ratio_ask_to_import_torch": round(med["ask"] / med["torch"], 3),
        "ratio_ask_to_torch_path": round(med["ask"] / med["ask-torch"], 3),
        "phases_seconds": phases,
        "imports": imports,
    }


def short_chain(chain: str) -> str:
    parts = chain.split(" > ")
    return chain if len(parts) <= 4 else " > ".join([*parts[:2], "...", *parts[-2:]])


def human(result: dict) -> str:
    s, peak = result["seconds_median"], result["peak_rss_mib_max"]
    labels = {"ask": "citebot ask (ONNX Runtime)", "ask-torch": "citebot ask, CITEBOT_ENCODER_BACKEND=torch",
              "torch": "python -c 'import torch'", "python": "python -c pass (interpreter start)"}
    rows = [[label, s[name], peak[name]] for name, label in labels.items()]
    out = [f"Cold start, median of {result['runs']} runs",
           table(["command", "seconds", "peak RSS MiB"], rows),
           f"ratio ask / import torch: {result['ratio_ask_to_import_torch']:.2f}; "
           f"ask / torch path: {result['ratio_ask_to_torch_path']:.2f}", "",
           table(["phase of ask (fresh process)", "seconds"], [[k, v] for k, v in result["phases_seconds"].items()]),
           "", table(["top-level import", "cumulative ms"],
                     [[r["module"], r["cumulative_ms"]] for r in result["imports"]["top_level"]],
                     f"python -X importtime citebot ask: {result['imports']['total_ms']:.0f} ms of imports"),
           "", table(["package", "cumulative ms", "imported by (ours)", "chain"],
                     [[r["package"], r["cumulative_ms"], r["imported_by"], short_chain(r["chain"])]
                      for r in result["imports"]["heaviest_packages"]], "heaviest third-party packages:")]
    return "\n".join(out)


def main() -> None:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each command (default 5)")
    parser.add_argument("--top", type=int, default=15, help="how many imports to list (default 15)")
    run_and_emit(parser, run, human)


if __name__ == "__main__":
    main()
