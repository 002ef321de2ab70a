"""Discord load over processes: one `citebot serve` on SQLite beside two on PostgreSQL, one shard each.

Both layouts run as real `citebot serve` subprocesses against the local Discord double (in this process, with
two guilds placed on shards 0 and 1) over the mini test corpus: first one process serving both shards with its
activity in SQLite (discord.py's automatic sharding), then two processes with CITEBOT_SHARD_IDS [0] and [1]
sharing a PostgreSQL database (a real server started here, as the tests start it) and one published index.
The same questions, alternating between the two guilds, go to each layout; it reports answers per second, time
to acknowledge (p50/p95) and to answer, and checks that every question was deferred and answered exactly once.

    python bench/discord_replicas.py [--questions 120] [--seconds 20] [--users 40] [--json]
"""
from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401  (puts the repository on sys.path)
from _common import REPO, benchmark_parser, emit, log, machine, now, percentile, table

MINI_CORPUS = REPO / "tests" / "data" / "mini"
QUESTIONS = ["What is an ICE detainer?", "Who can be held on a detainer?", "How long can a detainer hold someone?",
             "What does the program check fingerprints against?"]


async def layout_run(args, folder: Path, processes: list[list[int]] | None, database_url: str | None) -> dict:
    """Start the double and the bot processes of one layout, warm up, send the load, measure."""
    from tests.bot.discord_app.loadgen import Tracker, user_ids
    from tests.bot.discord_app.replicas import bot_environment, start_bot
    from tests.discord_double import FakeDiscord

    corpus, shared = folder / "corpus", folder / "index"
    shutil.copytree(MINI_CORPUS, corpus)
    fake = await FakeDiscord(guilds=["Shard zero", "Shard one"], shards=2).start()
    bots = []
    try:
        groups = processes or [None]
        for n, shards in enumerate(groups):
            env = bot_environment(fake, folder / f"home-{n}", shared, database_url or "", corpus, 2, shards or [0],
                                  CITEBOT_COOLDOWN_SECONDS=str(args.cooldown))
            if shards is None:  # one process, every shard, SQLite: the default deployment
                for key in ("CITEBOT_SHARD_COUNT", "CITEBOT_SHARD_IDS", "CITEBOT_DATABASE_URL", "CITEBOT_INDEX_DIR"):
                    env.pop(key)
            bot = await start_bot(f"bot-{n}", env, folder)
            bots.append(bot)
            await bot.wait_for_log("logged in as")
        await fake.wait_for(lambda: fake.connected(0) and fake.connected(1), 60, what="both shards connected")
        guilds = [g.id for g in fake.guilds]
        warm = Tracker(fake, prune=True)
        await warm.ask_paced(8, 4, user_ids(8, base=9 * 10**17), QUESTIONS, guilds=guilds)
        await warm.wait_answered(timeout=120)
        log(f"{len(bots)} process(es) up; load: {args.questions} questions over {args.seconds:g} s")
        tracker = Tracker(fake, prune=True)
        await tracker.ask_paced(args.questions, args.seconds, user_ids(args.users), QUESTIONS, guilds=guilds)
        try:
            await tracker.wait_answered(timeout=args.seconds + 180)
        except AssertionError as exc:
            log(f"not every question was answered: {exc}")
        await tracker.settle(quiet=0.5)
        items = tracker.sent
        acks = [s.ack_seconds for s in items if s.ack_seconds is not None]
        answers = [s.answer_seconds for s in items if s.answer_seconds is not None]
        first = min(s.sent_at for s in items)
        last = max((s.answered_at for s in items if s.answered_at is not None), default=time.monotonic())
        n = len(items)
        checks = {"deferred": sum(s.ack_type == 5 for s in items),
                  "answered_exactly_once": sum(s.followups == 1 for s in items),
                  "duplicates": sum(max(0, s.followups - 1) for s in items),
                  "crossed_answers": sum(s.title != s.question for s in items), "double_errors": len(fake.errors)}
        return {
            "processes": len(bots), "database": "postgresql" if database_url else "sqlite", "questions": n,
            "answers_per_second": round(sum(s.followups > 0 for s in items) / (last - first), 2),
            "ack_p50_ms": round(percentile(acks, 50) * 1000, 1), "ack_p95_ms": round(percentile(acks, 95) * 1000, 1),
            "answer_p95_ms": round(percentile(answers, 95) * 1000, 1), "checks": checks,
            "ok": checks["deferred"] == checks["answered_exactly_once"] == n
            and not (checks["duplicates"] or checks["crossed_answers"] or checks["double_errors"]),
        }
    finally:
        for bot in bots:
            await bot.stop()
        await fake.close()


def run(args) -> dict:
    from tests.postgres_server import start_postgres

    results = []
    with tempfile.TemporaryDirectory(prefix="citebot-bench-replicas-") as scratch:
        log("one process, SQLite, automatic sharding")
        results.append(asyncio.run(layout_run(args, Path(scratch) / "single", None, None)))
        server = start_postgres()
        try:
            log(f"two processes, PostgreSQL on port {server.port}, shards [0] and [1]")
            results.append(asyncio.run(layout_run(args, Path(scratch) / "replicas", [[0], [1]],
                                                  server.new_database())))
        finally:
            server.stop()
    single, replicas = results
    return {"benchmark": "discord_replicas", "date": now(), "machine": machine(),
            "settings": {"questions": args.questions, "seconds": args.seconds, "users": args.users,
                         "cooldown_seconds": args.cooldown},
            "layouts": results,
            "answers_per_second_ratio": round(replicas["answers_per_second"] / single["answers_per_second"], 3),
            "ok": all(r["ok"] for r in results)}


def human(r: dict) -> str:
    rows = [[f"{x['processes']} process(es), {x['database']}", f"{x['answers_per_second']:g}", f"{x['ack_p50_ms']:g}",
             f"{x['ack_p95_ms']:g}", f"{x['answer_p95_ms']:g}",
             f"{x['checks']['answered_exactly_once']}/{x['questions']}", "OK" if x["ok"] else "FAILED"]
            for x in r["layouts"]]
    return "\n".join([
        f"Discord load over processes: {r['settings']['questions']} /ask over {r['settings']['seconds']:g} s, "
        f"two guilds on two shards, mini corpus, {r['machine']['cores']} cores",
        table(["layout", "answers/s", "ack p50 ms", "ack p95 ms", "answer p95 ms", "exactly once", ""], rows),
        f"answers/s, two processes on PostgreSQL / one on SQLite: {r['answers_per_second_ratio']:g}"])


def main() -> None:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--questions", type=int, default=120)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--users", type=int, default=40)
    parser.add_argument("--cooldown", type=float, default=0.0)
    args = parser.parse_args()
    result = run(args)
    emit(result, args.json, human(result))


if __name__ == "__main__":
    main()
