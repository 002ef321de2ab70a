"""Split question sets once, by a fixed seed, into train / validation / test (60 / 20 / 20).

A question's split depends only on its id and the seed, so adding a writer's file later never moves a
question that was already assigned. Usage:

    python bench/split_questions.py knowledge/corpus/questions/written/*.jsonl --out knowledge/corpus/questions

The Spanish sets are split 50 / 20 / 30, so that their test split alone holds 60 answerable and 15
unanswerable questions:

    python bench/split_questions.py knowledge/corpus/questions/es/writer_*.jsonl --out knowledge/corpus/questions/es \
        --percent 50 20 30
"""
from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

SEED = "citebot-questions-2026-12-01"
SPLITS = (("train", 60), ("validation", 80), ("test", 100))  # cumulative percent


def split_of(question_id: str, seed: str = SEED, splits: tuple[tuple[str, int], ...] = SPLITS) -> str:
    """The split a question id falls in."""
    bucket = int(hashlib.sha256(f"{seed}:{question_id}".encode()).hexdigest(), 16) % 100
    return next(name for name, upper in splits if bucket < upper)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--percent", type=int, nargs=3, metavar=("TRAIN", "VALIDATION", "TEST"),
                        help="shares of the three splits (default 60 20 20)")
    args = parser.parse_args()
    splits = SPLITS
    if args.percent:
        if sum(args.percent) != 100:
            parser.error("--percent must add up to 100")
        train, validation, _ = args.percent
        splits = (("train", train), ("validation", train + validation), ("test", 100))
    lines: dict[str, list[str]] = {name: [] for name, _ in splits}
    for path in args.files:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                lines[split_of(json.loads(line)["id"], SEED, splits)].append(line)
    for name, rows in lines.items():
        (args.out / f"{name}.jsonl").write_text("".join(row + "\n" for row in rows), encoding="utf-8")
        print(f"{name}: {len(rows)} questions")


if __name__ == "__main__":
    main()
