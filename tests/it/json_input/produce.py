"""Produces records to Kafka with Confluent's own client (confluent-kafka,
which bundles librdkafka), the way a serving platform writes JSON.

Usage: produce.py BOOTSTRAP TOPIC FILE.jsonl

Each line of FILE is one record: {"key": str, "value": object} sends
json.dumps(value) (Python's default, which writes NaN for a float NaN);
"raw": str sends those bytes as they are; "frame": id prefixes the
Confluent JSON-Schema header (byte 0, the 4-byte big-endian id);
"nan_at": [field, ...] sets that field of the value to float("nan").
"""

import json
import sys

from confluent_kafka import Producer


def main():
    bootstrap, topic, path = sys.argv[1:4]
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "linger.ms": 5,
            # Keys placed as jidoka's producers place them (murmur2, like
            # Java clients), as README's "Keys and partitions" asks of a
            # platform's librdkafka-based producers.
            "partitioner": "murmur2_random",
        }
    )
    failures = []

    def delivered(err, _msg):
        if err is not None:
            failures.append(str(err))

    sent = 0
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            if "raw" in record:
                value = record["raw"].encode("utf-8")
            else:
                body = record["value"]
                if "nan_at" in record:
                    target = body
                    *parents, last = record["nan_at"]
                    for name in parents:
                        target = target[name]
                    target[last] = float("nan")
                value = json.dumps(body).encode("utf-8")
            if "frame" in record:
                value = b"\x00" + record["frame"].to_bytes(4, "big") + value
            while True:
                try:
                    producer.produce(topic, key=record["key"].encode("utf-8"), value=value, on_delivery=delivered)
                    break
                except BufferError:
                    producer.poll(0.1)
            producer.poll(0)
            sent += 1
    left = producer.flush(60)
    if left or failures:
        sys.exit(f"{left} records not delivered, failures: {failures[:5]}")
    print(f"produced {sent} records to {topic}")


if __name__ == "__main__":
    main()
