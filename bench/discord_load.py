"""Discord load: many /ask from many users against the local Discord double, the real bot and the real model.

Everything runs in this process, on one event loop: the double (tests/discord_double, REST + gateway on
127.0.0.1), the real CitebotClient (discord.py) logged in to it, and the bundled model answering over the mini
test corpus (tests/data/mini) or the bundled starter corpus (--corpus bundled), in a fresh temporary home.
After a warm-up round (not measured), the load round sends --questions /ask interactions evenly over
--seconds from --users distinct users (round-robin, so each user asks every users*seconds/questions s; the
bot's per-user cooldown is set below that with --cooldown), and reports
  answers per second  answered / (last answer - first question); the offered rate is questions/seconds
  time to acknowledge  question sent -> the bot's accepted defer callback (Discord's deadline: 3 s)
  time to answer       question sent -> the accepted follow-up carrying the answer
  heartbeats           gaps between the double's HEARTBEAT_ACKs, against the interval (--heartbeat-ms; Discord
                       uses ~41 s, far too long to see anything in 20 s)
  memory               RSS after the warm-up and after the load round, each after dropping the double's
                       recordings, collecting garbage and glibc's malloc_trim (freed heap handed back, so RSS
                       shows memory in use); the untrimmed end figure and the peak too. The double's records
                       of each answered question are dropped during the run as well (Tracker(prune=True)):
                       kept, they would add ~25 KB a question that even freed stays in the process
and checks that every question was deferred in time and answered exactly once, with no error logged.
The double shares the bot's event loop and CPU: the figures include its cost, as a real network would not.

    python bench/discord_load.py [--corpus mini|bundled] [--questions 200] [--seconds 20] [--users 50] [--json]
    python bench/discord_load.py --seconds 2 --cooldown 0     # offered faster than it can answer: capacity
    python bench/discord_load.py --processes 2 --questions 120 --cooldown 0   # two processes on PostgreSQL
"""
from __future__ import annotations

import asyncio
import gc
import itertools
import json
import logging
import resource
import tempfile
import time
import tracemalloc
from pathlib import Path

import _common  # noqa: F401  (puts the repository on sys.path)
from _common import REPO, benchmark_parser, emit, log, machine, now, percentile, rss_bytes, table

ACK_DEADLINE_S = 3.0
MINI_CORPUS = REPO / "tests" / "data" / "mini"
DEV_QUESTIONS = REPO / "tests" / "data" / "dev.jsonl"


class Counter(logging.Handler):
    """Counts WARNING and ERROR records (and keeps the first few ERRORs) while passing them to stderr."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.warnings = 0
        self.errors: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            self.errors.append(f"{record.name}: {record.getMessage()}")
        else:
            self.warnings += 1


def questions_for(corpus: str) -> list[str]:
    """The questions asked: the mini corpus's (one abstains), or the dev set written for the bundled corpus."""
    from tests.bot.discord_app.loadgen import MINI_QUESTIONS

    if corpus == "mini":
        return list(MINI_QUESTIONS)
    return [json.loads(line)["question"] for line in DEV_QUESTIONS.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def ms(values: list[float], q: float) -> float:
    return round(percentile(values, q) * 1000, 1)


def summary(values: list[float]) -> dict:
    """p50, p95 and max in milliseconds."""
    return {"p50_ms": ms(values, 50), "p95_ms": ms(values, 95), "max_ms": round(max(values) * 1000, 1)}


async def load_run(args, service, questions: list[str], counter: Counter) -> dict:
    """Start the double and the bot, warm up, run the load round, and measure it."""
    from bot.discord_app.client import CitebotClient
    from tests.bot.discord_app.loadgen import (
        Tracker,
        forget_recordings,
        heartbeat_ack_gaps,
        settle_memory,
        user_ids,
    )
    from tests.discord_double import FakeDiscord, running

    fake = await FakeDiscord(guilds=["Bench"], heartbeat_interval_ms=args.heartbeat_ms).start()
    undo = fake.patch_discord()
    try:
        client = CitebotClient(service, guild_ready_timeout=0.05)
        async with running(client, fake, timeout=30):
            log(f"bot logged in to the double on port {fake.port}; warm-up: {args.warmup} questions")
            warm = Tracker(fake, prune=True)
            await warm.ask_paced(args.warmup, max(1.0, args.warmup / 20), user_ids(args.warmup, base=9 * 10**17),
                                 questions)
            await warm.wait_answered(timeout=120)
            await warm.settle()
            if bad := [s for s in warm.sent if s.ack_type != 5 or s.followups != 1]:
                raise SystemExit(f"warm-up failed: {len(bad)} question(s) not deferred and answered once; "
                                 f"fake errors: {fake.errors[:3]}")
            del warm
            await asyncio.sleep(args.heartbeat_ms / 1000)  # a heartbeat or two before the load starts
            forget_recordings(fake)
            settle_memory()
            rss_start = rss_bytes()
            heap_start = tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else None
            errors_before = len(counter.errors)

            log(f"load: {args.questions} questions from {args.users} users over {args.seconds:g} s")
            users = user_ids(args.users)
            tracker = Tracker(fake, prune=True)
            since = time.monotonic()
            await tracker.ask_paced(args.questions, args.seconds, users, questions)
            sent_done = time.monotonic()
            try:
                await tracker.wait_answered(timeout=args.seconds + 120)
            except AssertionError as exc:  # reported below as unanswered questions
                log(f"not every question was answered: {exc}")
            answered = time.monotonic()
            await tracker.settle(quiet=0.5)
            until = max((s.answered_at for s in tracker.sent if s.answered_at is not None), default=answered)

            items = tracker.sent
            acks = [s.ack_seconds for s in items if s.ack_seconds is not None]
            answers = [s.answer_seconds for s in items if s.answer_seconds is not None]
            first = min(s.sent_at for s in items)
            ack_gaps = heartbeat_ack_gaps(fake, since, until)
            beats = [t for t, _ in fake.heartbeats if since <= t <= until]
            interval = args.heartbeat_ms / 1000
            result = {
                "questions": len(items),
                "users": len({s.user_id for s in items}),
                "offered_per_second": round(args.questions / args.seconds, 2),
                "send_seconds": round(sent_done - since, 2),
                "run_seconds": round(answered - since, 2),
                "answers_per_second": round(sum(s.followups > 0 for s in items) / (until - first), 2),
                "ack": summary(acks),
                "answer": summary(answers),
                "checks": {
                    "unanswered": len(tracker.pending()),
                    "deferred": sum(s.ack_type == 5 for s in items),
                    "acked_within_3s": sum(a < ACK_DEADLINE_S for a in acks),
                    "answered_exactly_once": sum(s.followups == 1 for s in items),
                    "duplicate_followups": sum(max(0, s.followups - 1) for s in items),
                    "cooldown_refusals": sum(s.ack_type == 4 for s in items),
                    "answer_for_another_question": sum(s.title != s.question for s in items),
                    "double_errors": len(fake.errors),
                    "errors_logged": len(counter.errors) - errors_before,
                },
                "heartbeat": {
                    "interval_ms": args.heartbeat_ms,
                    "acked": sum(since <= t <= until for t in fake.heartbeats_acked),
                    "ack_gap_p50_ms": ms(ack_gaps[1:-1] or ack_gaps, 50),
                    "ack_gap_max_ms": round(max(ack_gaps) * 1000, 1),
                    "max_gap_over_interval": round(max(ack_gaps) / interval, 2),
                    "heartbeat_jitter_max_ms": round(max((abs(b - a - interval) for a, b in itertools.pairwise(beats)),
                                                         default=float("nan")) * 1000, 1),
                },
            }
            del tracker, items
            forget_recordings(fake)
            gc.collect()
            rss_end_untrimmed = rss_bytes()  # what `top` would show: glibc keeps freed memory mapped
            settle_memory()  # gc, then malloc_trim: what is really still in use
            rss_end = rss_bytes()
            heap_end = tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else None
            result["memory"] = {
                "rss_start_mib": round(rss_start / 2**20, 1),
                "rss_end_mib": round(rss_end / 2**20, 1),
                "rss_growth_mib": round((rss_end - rss_start) / 2**20, 1),
                "rss_end_before_trim_mib": round(rss_end_untrimmed / 2**20, 1),
                "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            }
            if heap_start is not None:  # run with `python -X tracemalloc` to see the Python heap as well
                result["memory"]["python_heap_growth_kib"] = round((heap_end - heap_start) / 1024, 1)
            c, n = result["checks"], result["questions"]
            result["ok"] = (c["deferred"] == c["acked_within_3s"] == c["answered_exactly_once"] == n
                            and not any(c[k] for k in ("unanswered", "duplicate_followups", "cooldown_refusals",
                                                       "answer_for_another_question", "double_errors",
                                                       "errors_logged")))
            result["errors"] = counter.errors[errors_before:][:5]
            return result
    finally:
        undo()
        await fake.close()


def run(args) -> dict:
    from bot.service import KnowledgeService
    from bot.settings import Settings

    questions = questions_for(args.corpus)
    counter = Counter()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger().addHandler(counter)
    with tempfile.TemporaryDirectory(prefix="citebot-bench-discord-") as home:
        settings = Settings(home=Path(home), corpus=[MINI_CORPUS] if args.corpus == "mini" else [],
                            include_bundled_corpus=args.corpus == "bundled", cooldown_seconds=args.cooldown,
                            **({"answer_workers": args.workers} if args.workers else {}))
        service = KnowledgeService(settings)
        start = time.perf_counter()
        outcome = service.build_index()
        service.answer(questions[0])  # loads the model, as `citebot serve` does before connecting
        log(f"index: {outcome.report.passages} passages from {outcome.report.sources} sources, model loaded, "
            f"in {time.perf_counter() - start:.1f} s")
        result = asyncio.run(load_run(args, service, questions, counter))
    spacing = args.users * args.seconds / args.questions
    return {
        "benchmark": "discord_load",
        "date": now(),
        "machine": machine(),
        "corpus": args.corpus,
        "index": {"sources": outcome.report.sources, "passages": outcome.report.passages},
        "settings": {"answer_workers": settings.answer_workers, "cooldown_seconds": args.cooldown,
                     "seconds_between_a_users_questions": round(spacing, 2), "warmup_questions": args.warmup},
        **result,
    }


def human(r: dict) -> str:
    c, hb, m = r["checks"], r["heartbeat"], r["memory"]
    n = r["questions"]
    f = "{:.1f}".format
    rows = [["time to acknowledge (defer)", f(r["ack"]["p50_ms"]), f(r["ack"]["p95_ms"]), f(r["ack"]["max_ms"])],
            ["time to answer (follow-up)", f(r["answer"]["p50_ms"]), f(r["answer"]["p95_ms"]),
             f(r["answer"]["max_ms"])],
            ["heartbeat ACK gap", f(hb["ack_gap_p50_ms"]), "-", f(hb["ack_gap_max_ms"])]]
    return "\n".join([
        f"Discord load: {n} /ask from {r['users']} users over {r['send_seconds']:g} s "
        f"(offered {r['offered_per_second']:g}/s), {r['corpus']} corpus ({r['index']['passages']} passages), "
        f"{r['settings']['answer_workers']} answer workers, {r['machine']['cores']} cores",
        f"answers per second: {r['answers_per_second']:g}   (all answered {r['run_seconds']:g} s after the first "
        f"question)",
        table(["", "p50 ms", "p95 ms", "max ms"], rows),
        f"heartbeats: {hb['acked']} acknowledged, interval {hb['interval_ms']} ms, longest gap "
        f"{hb['max_gap_over_interval']:g}x the interval, send jitter up to {hb['heartbeat_jitter_max_ms']:g} ms",
        f"RSS: {m['rss_start_mib']:g} MiB after warm-up -> {m['rss_end_mib']:g} MiB after the load "
        f"({m['rss_growth_mib']:+g} MiB; {m['rss_end_before_trim_mib']:g} MiB before malloc_trim); "
        f"peak {m['peak_rss_mib']:g} MiB"
        + (f"; Python heap {m['python_heap_growth_kib']:+g} KiB" if "python_heap_growth_kib" in m else ""),
        f"checks: unanswered {c['unanswered']}, deferred {c['deferred']}/{n}, "
        f"acknowledged within 3 s {c['acked_within_3s']}/{n}, "
        f"answered exactly once {c['answered_exactly_once']}/{n}, duplicates {c['duplicate_followups']}, "
        f"cooldown refusals {c['cooldown_refusals']}, crossed answers {c['answer_for_another_question']}, "
        f"double errors {c['double_errors']}, errors logged {c['errors_logged']} -> {'OK' if r['ok'] else 'FAILED'}",
    ])


def main() -> None:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--corpus", choices=["mini", "bundled"], default="mini",
                        help="tests/data/mini (default) or the bundled starter corpus")
    parser.add_argument("--questions", type=int, default=200, help="questions in the load round (default 200)")
    parser.add_argument("--seconds", type=float, default=20.0, help="spread over this many seconds (default 20)")
    parser.add_argument("--users", type=int, default=50, help="distinct users, round-robin (default 50)")
    parser.add_argument("--cooldown", type=float, default=2.0,
                        help="per-user cooldown in seconds (default 2; keep it below users*seconds/questions)")
    parser.add_argument("--workers", type=int, help="answer worker threads (default: the settings' default)")
    parser.add_argument("--warmup", type=int, default=100,
                        help="questions in the unmeasured warm-up, 20 a second from users of their own (default 100)")
    parser.add_argument("--heartbeat-ms", type=int, default=1000, help="the double's heartbeat interval (default 1000)")
    parser.add_argument("--processes", type=int, choices=[1, 2], default=1,
                        help="2: the same load against `citebot serve` subprocesses, one on SQLite beside two on "
                             "PostgreSQL with a shard each (bench/discord_replicas.py; mini corpus)")
    args = parser.parse_args()
    if args.processes == 2:
        import discord_replicas

        result = discord_replicas.run(args)
        emit(result, args.json, discord_replicas.human(result))
        return
    spacing = args.users * args.seconds / args.questions
    if args.cooldown >= spacing:
        parser.error(f"--cooldown {args.cooldown:g} would refuse questions: each user asks every {spacing:g} s")
    result = run(args)
    emit(result, args.json, human(result))


if __name__ == "__main__":
    main()
