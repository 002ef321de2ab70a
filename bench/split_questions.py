"""Split question sets once, by a fixed seed, into train / validation / test (60 / 20 / 20).

A question's split depends only on its id and the seed, so adding a writer's file later never moves a
question that was already assigned. Usage:

    python bench/split_questions.py knowledge/corpus/questions/written/*.jsonl --out knowledge/corpus/questions
"""
from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

SEED = "citebot-questions-2026-12-01"
SPLITS = (("train", 60), ("validation", 80), ("test", 100))  # cumulative percent


def split_of(question_id: str, seed: str = SEED) -> str:
    """The split a question id falls in."""
    bucket = int(hashlib.sha256(f"{seed}:{question_id}".encode()).hexdigest(), 16) % 100
    return next(name for name, upper in SPLITS if bucket < upper)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    lines: dict[str, list[str]] = {name: [] for name, _ in SPLITS}
    for path in args.files:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                lines[split_of(json.loads(line)["id"])].append(line)
    for name, rows in lines.items():
        (args.out / f"{name}.jsonl").write_text("".join(row + "\n" for row in rows), encoding="utf-8")
        print(f"{name}: {len(rows)} questions")


if __name__ == "__main__":
    main()
