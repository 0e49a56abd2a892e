"""A platform's own Avro producer for tests/it/platform.rs: Confluent's
Python client (confluent-kafka) with SchemaRegistryClient and
AvroSerializer writes scoring events with a schema of the platform's own
(its own record name and field names, an extra field jidoka does not
use), registered under <topic>-value, keyed by request id, placed with
murmur2 as a Java producer would.

Reads jidoka predictions (JSON lines, jidoka's field names) and writes each
as the platform's event, then two unusable records (a NaN feature; a
schema id the registry does not have). Prints {"produced": n,
"schema_id": id} (n: the good records).
"""

import json
import struct
import sys

from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

SCHEMA = {
    "type": "record",
    "name": "ScoringEvent",
    "namespace": "com.example.serving",
    "fields": [
        {"name": "request_id", "type": "string"},
        {"name": "model", "type": {"type": "record", "name": "ModelRef", "fields": [
            {"name": "name", "type": "string"},
            {"name": "version", "type": "string"}]}},
        {"name": "ts_ms", "type": "long"},
        {"name": "inputs", "type": {"type": "map", "values": "double"}},
        {"name": "output", "type": {"type": "record", "name": "Output", "fields": [
            {"name": "probability", "type": "double"},
            {"name": "label", "type": ["null", "string"], "default": None}]}},
        {"name": "serving_ms", "type": ["null", "double"], "default": None},
        {"name": "serving_host", "type": "string", "default": "unknown"},
    ],
}


def main():
    bootstrap, registry_url, topic, path = sys.argv[1:5]
    registry = SchemaRegistryClient({"url": registry_url})
    serializer = AvroSerializer(registry, json.dumps(SCHEMA), lambda obj, ctx: obj)
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5,
                         "partitioner": "murmur2_random"})
    ctx = SerializationContext(topic, MessageField.VALUE)
    produced, schema_id = 0, None
    with open(path) as f:
        for line in f:
            p = json.loads(line)
            event = {
                "request_id": p["prediction_id"],
                "model": {"name": p["model_id"], "version": p["model_version"]},
                "ts_ms": p["event_time"],
                "inputs": p["features"],
                "output": {"probability": p["score"], "label": p["predicted_class"]},
                "serving_ms": p["latency_ms"],
                "serving_host": "pod-%d" % (produced % 7),
            }
            value = serializer(event, ctx)
            schema_id = struct.unpack(">I", value[1:5])[0]
            producer.produce(topic, key=p["prediction_id"], value=value)
            produced += 1
            if produced % 1000 == 0:
                producer.poll(0)
    # Two records that cannot be used: a feature that is not a number
    # (NaN), and a valid datum behind a schema id the registry never gave.
    bad = dict(event, request_id="bad-nan", inputs={"tenure_days": float("nan")})
    producer.produce(topic, key="bad-nan", value=serializer(bad, ctx))
    producer.produce(topic, key="bad-id",
                     value=b"\x00" + struct.pack(">I", 9999) + value[5:])
    if producer.flush(60) != 0:
        sys.exit("records left unsent")
    print(json.dumps({"produced": produced, "schema_id": schema_id}))


if __name__ == "__main__":
    main()
