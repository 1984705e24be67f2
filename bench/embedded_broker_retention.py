"""Does the embedded broker (Tansu, memory storage) honour topic retention? Its resident memory
before and after publishing, with ``retention.ms`` / ``retention.bytes`` set on the topic, and
whether ``DeleteRecords`` trims it.

    .venv/bin/python bench/embedded_broker_retention.py [messages] [bytes_per_message]
"""

from __future__ import annotations

import asyncio
import sys

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic, RecordsToDelete

from gridcommons.devstack import EmbeddedBroker, free_port


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def main(count: int, size: int) -> None:
    broker = EmbeddedBroker(free_port())
    broker.start()
    assert broker.proc is not None
    pid = broker.proc.pid
    tp = TopicPartition("retention-probe", 0)
    try:
        admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap)
        await admin.start()
        configs = {"retention.ms": "1000", "retention.bytes": str(100 * size)}
        await admin.create_topics([NewTopic(tp.topic, 1, 1, topic_configs=configs)])
        print(f"topic created with {configs}; broker RSS {rss_mb(pid):.1f} MB")
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks=1)
        await producer.start()
        for _ in range(count):
            await producer.send(tp.topic, b"x" * size)
        await producer.flush()
        await producer.stop()
        print(f"after {count} x {size} B ({count * size / 1e6:.0f} MB): RSS {rss_mb(pid):.1f} MB")
        await asyncio.sleep(15)
        print(f"15 s later (retention.ms=1000): RSS {rss_mb(pid):.1f} MB")
        try:
            await admin.delete_records({tp: RecordsToDelete(count - 1)}, timeout_ms=5000)
            print("DeleteRecords accepted")
        except Exception as exc:
            print(f"DeleteRecords refused: {exc.__class__.__name__}: {exc}")
        await admin.close()
        consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap)
        await consumer.start()
        first = (await consumer.beginning_offsets([tp]))[tp]
        end = (await consumer.end_offsets([tp]))[tp]
        await consumer.stop()
        print(f"partition offsets {first}..{end}: RSS {rss_mb(pid):.1f} MB")
    finally:
        broker.stop()


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    asyncio.run(main(*(args + [3000, 10_000][len(args) :])))
