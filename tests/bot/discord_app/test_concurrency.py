"""A burst of questions: every one acknowledged in time while the gateway heartbeat carries on."""
from __future__ import annotations

import asyncio
import time

QUESTIONS = ["What is an ICE detainer?", "Which state first withdrew from Secure Communities?",
             "What is the capital of France?", "How many U.S. citizens were arrested through Secure Communities?"]


async def test_twenty_concurrent_questions_are_all_acknowledged_while_heartbeats_continue(bot, fake):
    await fake.wait_for(lambda: len(fake.heartbeats_acked) >= 2, timeout=2, what="heartbeats before the burst")
    since = time.monotonic()
    acked_before = len(fake.heartbeats_acked)
    interactions = [await fake.send_slash_command("ask", {"question": QUESTIONS[i % len(QUESTIONS)]},
                                                  user_id=str(400 + i)) for i in range(20)]
    bodies = await asyncio.gather(*(fake.wait_for_followup(i, timeout=15) for i in interactions))

    records = [fake.interactions[i["id"]] for i in interactions]
    assert all(r.ack_type == 5 for r in records)  # every one deferred...
    delays = [r.acked_at - r.delivered_at for r in records]
    assert max(delays) < 3.0, delays  # ...within Discord's deadline (the double would answer 10062 otherwise)
    assert all(b["embeds"][0]["title"] in QUESTIONS for b in bodies)

    # The answers ran in worker threads: the event loop kept heartbeating every ~100 ms throughout.
    elapsed = time.monotonic() - since
    print(f"burst: {elapsed:.2f} s, slowest ack {max(delays):.3f} s, "
          f"heartbeat gap {fake.max_heartbeat_gap(since):.3f} s")
    assert fake.max_heartbeat_gap(since) < 0.5, fake.max_heartbeat_gap(since)
    assert len(fake.heartbeats_acked) - acked_before >= int(elapsed / 0.1 * 0.5)
    fake.assert_clean()
