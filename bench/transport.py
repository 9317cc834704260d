"""Client CPU a JSON POST: the bot's transport (aiohttp, bot/notify/outbound/transport.py) against
python-telegram-bot's own ``HTTPXRequest``.

The fake Bot API (tests/telegram_server.py, flood limits off) runs in a child process, behind a
misbehaving front (tests/telegram_front.py) with ``--front MODE``, so its CPU is not counted.
This process makes ``--calls`` ``sendMessage`` calls (an alert-sized HTML text, as JSON) through
each transport's ``do_request``, ``--concurrency`` at a time, after a warm-up, and prints the CPU
it used (``time.process_time()``) a call, the wall time, and the ratio between the two.

Usage: python bench/transport.py [--calls 3000] [--concurrency 8] [--front gzip]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from pathlib import Path

from telegram.request import BaseRequest, HTTPXRequest, RequestData
from telegram.request._requestparameter import RequestParameter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from bot.notify.outbound.transport import AiohttpRequest  # noqa: E402

TOKEN = "123456789:bench-token"
TEXT = (
    "<b>🇯🇵 Japan cut its U.S. Treasury holdings by $61.2 billion over three months</b>\n"
    "Holdings fell to $1,061.5 billion in April 2026, the lowest since January 2020.\n"
    + "<i>Rank: the 3rd largest three-month drop on record (since 2000).</i>\n"
    * 6
)


def serve(front: str) -> None:
    """The child: the fake Bot API (and the front), its URL on stdout, until stdin closes."""
    from telegram_front import TelegramFront
    from telegram_server import TelegramServer

    with TelegramServer(limits=False) as server:
        if front:
            with TelegramFront(server, front) as proxy:
                print(proxy.url, flush=True)
                sys.stdin.read()
        else:
            print(server.url, flush=True)
            sys.stdin.read()


def data(chat_id: int) -> RequestData:
    params = {"chat_id": chat_id, "text": TEXT, "parse_mode": "HTML"}
    return RequestData([RequestParameter.from_input(k, v) for k, v in params.items()])


async def run(request: BaseRequest, url: str, calls: int, concurrency: int) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of ``calls`` calls, ``concurrency`` at a time."""
    await request.initialize()
    try:
        target = f"{url}/bot{TOKEN}/sendMessage"
        for i in range(concurrency * 4):  # warm-up: connections open, code paths hot
            await request.do_request(target, "POST", data(i))
        bodies = [data(1000 + i) for i in range(calls)]
        queue = iter(bodies)

        async def worker() -> None:
            for body in queue:
                status, _ = await request.do_request(target, "POST", body)
                assert status == 200, status

        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.process_time() - cpu, time.perf_counter() - wall
    finally:
        await request.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--front", default="", help="a tests/telegram_front.py mode (gzip, chunked, …)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.front)
        return
    child_args = [sys.executable, __file__, "--serve", "--front", args.front]
    child = subprocess.Popen(child_args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        url = child.stdout.readline().strip()
        transports = {
            "aiohttp (AiohttpRequest)": AiohttpRequest(timeout=30.0),
            "httpx (HTTPXRequest)": HTTPXRequest(
                connection_pool_size=args.concurrency, read_timeout=30.0, pool_timeout=30.0
            ),
        }
        per_call = {}
        front = f", front {args.front}" if args.front else ""
        print(
            f"{args.calls} sendMessage calls, {args.concurrency} at a time, server in a child process{front}"
        )
        for name, request in transports.items():
            cpu, wall = asyncio.run(run(request, url, args.calls, args.concurrency))
            per_call[name] = cpu / args.calls * 1e6
            print(f"  {name:26} {per_call[name]:8,.0f} µs CPU a call   {args.calls / wall:8,.0f} calls/s")
        fast, slow = per_call.values()
        print(f"  httpx / aiohttp: {slow / fast:.1f}× the CPU a call")
    finally:
        if child.stdin:
            child.stdin.close()
        child.wait(10)


if __name__ == "__main__":
    main()
