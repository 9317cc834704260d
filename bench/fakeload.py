"""What the fake Bot API (tests/telegram_server.py) can serve on this machine, alone.

The fake runs in this process as in bench/fanout.py (limits on: 1,000/s for paid broadcasts); a
child process pours ``sendMessage`` calls with ``allow_paid_broadcast=true`` and an HTML text
like an alert's (JSON bodies, as the bot sends) into it over ``--connections`` kept-alive
HTTP/1.1 connections, each call to the next of ``--chats`` chats (so no chat gets two in a
second), as fast as answers come, or at ``--rate`` a second. The client is cheap on purpose
(raw sockets, each request's bytes built before the clock starts), so what is measured is the
fake. Printed: answers a second, 429s, the answers' latency, and the CPU seconds each side used.

Usage: python bench/fakeload.py [--calls 20000] [--connections 16] [--rate 0] [--chats 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

TEXT = (
    "<b>🇯🇵 Japan cut its U.S. Treasury holdings by $61.2 billion over three months</b>\n"
    "Holdings fell to $1,061.5 billion in April 2026, the lowest since January 2020.\n"
    + "<i>Rank: the 3rd largest three-month drop on record (since 2000).</i>\n"
    * 6
)


def request(host: str, token: str, chat_id: int) -> bytes:
    params = {"chat_id": chat_id, "text": TEXT, "parse_mode": "HTML", "allow_paid_broadcast": True}
    body = json.dumps(params, ensure_ascii=False).encode()  # as the bot's transport sends it
    head = (
        f"POST /bot{token}/sendMessage HTTP/1.1\r\nHost: {host}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nAccept: */*\r\n\r\n"
    )
    return head.encode() + body


async def connection(host: str, port: int, calls: list[bytes], gap: float, out: list) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    due = time.monotonic()
    for call in calls:
        if gap:  # on a schedule, but a call that could not go on time is not made up by a burst
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            due = max(due, time.monotonic() - gap) + gap
        started = time.monotonic()
        writer.write(call)
        status = int((await reader.readline()).split()[1])
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await reader.readexactly(length)
        out.append((status, time.monotonic() - started))
    writer.close()


async def client(url: str, calls: int, conns: int, rate: float, chats: int) -> dict:
    host, port = url.removeprefix("http://").split(":")
    every = [request(host, "42:LOAD", 1 + i % chats) for i in range(calls)]
    out: list = []
    gap = conns / rate if rate else 0.0
    cpu = time.process_time()
    t0 = time.monotonic()
    await asyncio.gather(*(connection(host, int(port), every[c::conns], gap, out) for c in range(conns)))
    wall = time.monotonic() - t0
    answers = out
    lat = sorted(s for _, s in answers)
    return {
        "calls": len(answers),
        "wall": wall,
        "ok": sum(1 for st, _ in answers if st == 200),
        "429": sum(1 for st, _ in answers if st == 429),
        "p50_ms": lat[len(lat) // 2] * 1000,
        "p99_ms": lat[int(len(lat) * 0.99)] * 1000,
        "client_cpu": time.process_time() - cpu,
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=20_000)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--rate", type=float, default=0.0, help="calls a second (0: as fast as answered)")
    ap.add_argument("--chats", type=int, default=100_000)
    ap.add_argument("--client", help=argparse.SUPPRESS)  # the child: the fake's URL
    args = ap.parse_args()
    if args.client:
        result = asyncio.run(client(args.client, args.calls, args.connections, args.rate, args.chats))
        print(json.dumps(result))
        return 0
    from telegram_server import TelegramServer

    with TelegramServer() as server:
        server.limits(overall_per_s=30, per_chat_per_s=1, per_group_per_min=20, paid_per_s=1000)
        before = resource.getrusage(resource.RUSAGE_SELF)
        child = [sys.executable, __file__, "--client", server.url, *sys.argv[1:]]
        done = subprocess.run(child, capture_output=True, text=True, check=True, env=os.environ)
        after = resource.getrusage(resource.RUSAGE_SELF)
        r = json.loads(done.stdout)
        fake_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(
        f"{r['calls']} sendMessage calls (paid) over {args.connections} connections"
        f"{f' at {args.rate:g}/s' if args.rate else ''}: {r['ok'] / r['wall']:.0f} answered 200 a second"
        f" ({r['ok']} ok, {r['429']} × 429) in {r['wall']:.1f} s"
    )
    print(
        f"latency p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms; CPU: the fake {fake_cpu:.1f} s"
        f" ({fake_cpu / r['calls'] * 1e6:.0f} µs a call), the client {r['client_cpu']:.1f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
