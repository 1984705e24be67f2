"""How the broker answers a consumer's long poll: delivery latency and idle CPU per ``fetch_max_wait_ms``.

    .venv/bin/python bench/broker_fetch_wait.py [--waits 10,50,100,500] [--messages 40] [--idle 20]

Starts an embedded broker (Tansu, as ``make run`` and the tests do) unless KAFKA_BOOTSTRAP_SERVERS
is set. For each wait: one consumer (``fetch_min_bytes=1``) on a fresh topic; (1) idle: the CPU
of the broker and of this process over ``--idle`` seconds with nothing produced; (2) latency:
``--messages`` messages produced at random moments (0.1–0.4 s apart), each timed from before
``send`` to the consumer's ``getone``. On Apache Kafka a fetch is answered as soon as one byte
arrives (latency independent of the wait); a broker that answers only when the wait ends shows
latency ≈ wait / 2.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from gridcommons.devstack import EmbeddedBroker, free_port

CLK_TCK = os.sysconf("SC_CLK_TCK")


def ticks(pid: int) -> int:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


async def one(bootstrap: str, wait_ms: int, messages: int, idle: float, broker_pid: int | None) -> None:
    topic = f"bench.fetch.{uuid.uuid4().hex[:8]}"
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
    await producer.start()
    await producer.send_and_wait(topic, b"warm-up")
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"bench-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        fetch_max_wait_ms=wait_ms,
        fetch_min_bytes=1,
    )
    await consumer.start()
    try:
        await consumer.getone()  # the warm-up: joined and assigned
        me = os.getpid()
        b0, m0, t0 = (ticks(broker_pid) if broker_pid else 0), ticks(me), time.monotonic()
        await asyncio.sleep(idle)
        elapsed = time.monotonic() - t0
        broker_cpu = (ticks(broker_pid) - b0) / CLK_TCK / elapsed * 100 if broker_pid else float("nan")
        consumer_cpu = (ticks(me) - m0) / CLK_TCK / elapsed * 100
        latencies = []
        for _ in range(messages):
            await asyncio.sleep(random.uniform(0.1, 0.4))
            t = time.perf_counter()
            await producer.send(topic, b"x")
            await consumer.getone()
            latencies.append((time.perf_counter() - t) * 1000)
        latencies.sort()
        print(
            f"fetch_max_wait_ms={wait_ms:>4}: latency p50 {statistics.median(latencies):6.1f} ms, "
            f"p90 {latencies[int(0.9 * (len(latencies) - 1))]:6.1f} ms, max {latencies[-1]:6.1f} ms; "
            f"idle CPU: broker {broker_cpu:5.2f} %, consumer process {consumer_cpu:5.2f} % of one core",
            flush=True,
        )
    finally:
        await consumer.stop()
        await producer.stop()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--waits", default="10,50,100,500")
    parser.add_argument("--messages", type=int, default=40)
    parser.add_argument("--idle", type=float, default=20)
    args = parser.parse_args()
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    broker = None
    if not bootstrap:
        broker = EmbeddedBroker(free_port())
        bootstrap = broker.start()
    try:
        pid = broker.proc.pid if broker is not None and broker.proc is not None else None
        print(f"broker {bootstrap}; load average {os.getloadavg()[0]:.1f}", flush=True)
        for wait in (int(w) for w in args.waits.split(",")):
            await one(bootstrap, wait, args.messages, args.idle, pid)
    finally:
        if broker is not None:
            broker.stop()


if __name__ == "__main__":
    asyncio.run(main())
