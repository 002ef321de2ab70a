"""A second process for the concurrency tests: votes, pins, settings and questions as fast as it can."""
from __future__ import annotations

import sys
from pathlib import Path

from bot.activity import PinnedSentence, open_store


def main(url: str, sqlite_path: str, writer: str, rounds: int, question_ids: str) -> None:
    """Write `rounds` of each kind of record, every one naming this writer."""
    store = open_store(url or None, Path(sqlite_path))
    ids = [int(i) for i in question_ids.split(",")]
    for n in range(rounds):
        store.vote(ids[n % len(ids)], f"{writer}-{n}", helpful=n % 2 == 0)
        store.add_pin("guild", f"{writer} question {n}", (PinnedSentence("shared", "src", f"s{n}"),), False, writer)
        store.set_setting("guild", f"{writer}-key-{n % 5}", str(n))
        store.set_setting("guild", "shared-key", writer)
        store.record_question("guild", writer, f"{writer} asks {n}", n % 3 == 0, "test")
        store.audit("guild", writer, writer, "upload", f"file {n}")
    store.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
