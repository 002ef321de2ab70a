"""Pin matching: precision and recall of the bundled pin matcher on labelled question pairs.

Each pair is (a, b, same): `a` is pinned, `b` is asked; a match serves a's pinned answer to b. Pairs were
written blind (knowledge/corpus/questions/paraphrases/README.md) and split once by id: the matcher was fitted
on train and its threshold chosen on validation (`citebot calibrate-pins`); test is only measured. Reported
per split: precision and recall at the shipped threshold, the best recall any threshold reaches at precision
>= 0.95 (an upper bound, chosen on the split itself), each feature's ROC AUC, and recall per kind of pair.
Builds the bundled index in a temporary home (or uses --home).

    python bench/pin_matching.py [--home DIR] [--json]
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import _common  # noqa: F401
import numpy as np
from _common import REPO, benchmark_parser, log, machine, now, run_and_emit, table

PAIRS = REPO / "knowledge" / "corpus" / "questions" / "paraphrases"
BAR = {"precision": 0.95, "recall": 0.8}


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """ROC AUC by ranks (ties averaged)."""
    from scipy.stats import rankdata

    positives = labels > 0
    if positives.all() or not positives.any():
        return float("nan")
    ranks = rankdata(scores)
    n_pos, n_neg = positives.sum(), (~positives).sum()
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def run(args) -> dict:
    from bot.answering.pin_matcher import PAIR_FEATURES
    from bot.answering.pin_training import TARGET_PRECISION, best_threshold, pair_data_for, precision_recall, read_pairs
    from bot.service import KnowledgeService
    from bot.settings import Settings

    with tempfile.TemporaryDirectory(prefix="citebot-bench-pins-") as home:
        service = KnowledgeService(Settings(home=Path(args.home or home), corpus=[], include_bundled_corpus=True))
        search, _ = service.searchable()
        matcher = service.pin_board.matcher
        splits = {}
        for name in ("train", "validation", "test"):
            pairs = read_pairs(PAIRS / f"{name}.jsonl")
            log(f"{name}: {len(pairs)} pairs")
            data = pair_data_for(search, pairs).with_metric(matcher.metric)
            p = matcher.probabilities(data.features)
            precision, recall = precision_recall(p, data.labels, matcher.threshold)
            _, best_p, best_r = best_threshold(p, data.labels, TARGET_PRECISION)
            kinds: dict[str, list[int]] = {}
            for pair, hit in zip(pairs, p >= matcher.threshold):
                if pair.same:
                    kinds.setdefault(pair.kind, []).append(int(hit))
            splits[name] = {"pairs": len(pairs), "same": int(data.labels.sum()), "precision": round(precision, 4),
                            "recall": round(recall, 4), "best_recall_at_target": round(best_r, 4),
                            "best_precision_there": round(best_p, 4),
                            "feature_auc": {f: round(auc(data.features[:, i], data.labels), 3)
                                            for i, f in enumerate(PAIR_FEATURES)},
                            "model_auc": round(auc(p, data.labels), 3),
                            "recall_by_kind": {k: round(sum(v) / len(v), 3) for k, v in sorted(kinds.items())}}
    test = splits["test"]
    met = test["precision"] >= BAR["precision"] and test["recall"] >= BAR["recall"]
    return {"benchmark": "pin_matching", "date": now(), "machine": machine(), "threshold": matcher.threshold,
            "provenance": matcher.provenance, "splits": splits, "bar": {**BAR, "met": met}}


def human(result: dict) -> str:
    rows = [[name, s["pairs"], s["same"], s["precision"], s["recall"], s["best_recall_at_target"], s["model_auc"]]
            for name, s in result["splits"].items()]
    aucs = result["splits"]["test"]["feature_auc"]
    return "\n".join([
        f"Pin matching at threshold {result['threshold']:.3f}",
        table(["split", "pairs", "same", "precision", "recall", "best recall @P>=0.95", "model AUC"], rows),
        "feature AUC on test: " + ", ".join(f"{k} {v}" for k, v in aucs.items()),
        f"bar (test): precision >= {BAR['precision']} and recall >= {BAR['recall']}: "
        f"{'met' if result['bar']['met'] else 'MISSED'}"])


def main() -> None:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--home", help="use this CITEBOT_HOME (its index) instead of a temporary one")
    run_and_emit(parser, run, human)


if __name__ == "__main__":
    main()
