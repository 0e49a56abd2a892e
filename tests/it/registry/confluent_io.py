"""Confluent's own Python client (confluent-kafka, with its bundled
librdkafka, SchemaRegistryClient, AvroSerializer and AvroDeserializer) on
both sides of jidoka, for tests/it/registry.rs.

produce: writes predictions (JSON lines) to a topic with an evolved copy of
jidoka's prediction schema (one extra field with a default), registered
through the registry under <topic>-value, keyed by model id; then one
record framed with a schema id the registry does not have. Prints
{"produced": n, "schema_id": id}.

consume: reads every record of each topic from the beginning to the end
seen at start, and decodes each with AvroDeserializer through the registry;
any record that does not decode fails the run. Prints per topic the count
and one identifying field of each record.
"""

import argparse
import json
import struct
import sys
import uuid

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

EXTRA = {"name": "serving_host", "type": "string", "default": "unknown",
         "doc": "A field jidoka's schema does not have."}


def produce(args):
    with open(args.schema) as f:
        schema = json.load(f)
    schema["fields"].append(EXTRA)
    registry = SchemaRegistryClient({"url": args.registry})
    serializer = AvroSerializer(registry, json.dumps(schema), lambda obj, ctx: obj)
    producer = Producer({"bootstrap.servers": args.bootstrap, "linger.ms": 5})
    ctx = SerializationContext(args.topic, MessageField.VALUE)
    produced, schema_id = 0, None
    with open(args.input) as f:
        for line in f:
            record = json.loads(line)
            record["serving_host"] = "pod-%d" % (produced % 7)
            value = serializer(record, ctx)
            schema_id = struct.unpack(">I", value[1:5])[0]
            producer.produce(args.topic, key=record["model_id"], value=value)
            produced += 1
            if produced % 1000 == 0:
                producer.poll(0)
    # A valid datum behind an id the registry never gave out.
    producer.produce(args.topic, key="churn-v7",
                     value=b"\x00" + struct.pack(">I", args.unknown_id) + value[5:])
    if producer.flush(60) != 0:
        sys.exit("records left unsent")
    print(json.dumps({"produced": produced, "schema_id": schema_id}))


def consume(args):
    registry = SchemaRegistryClient({"url": args.registry})
    deserializer = AvroDeserializer(registry)
    out = {}
    for topic in args.topics.split(","):
        consumer = Consumer({"bootstrap.servers": args.bootstrap,
                             "group.id": "reader-" + uuid.uuid4().hex,
                             "enable.auto.commit": False,
                             "enable.partition.eof": True})
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        left, assign = {}, []
        for p in partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            assign.append(TopicPartition(topic, p, low))
            if high > low:
                left[p] = high
        consumer.assign(assign)
        ctx = SerializationContext(topic, MessageField.VALUE)
        records, idle = [], 0
        while left:
            msg = consumer.poll(1.0)
            if msg is None:
                idle += 1
                if idle > 60:
                    sys.exit("%s: nothing new for 60 s, still to read %s" % (topic, left))
                continue
            idle = 0
            if msg.error():
                if msg.error().code() == -191:  # _PARTITION_EOF
                    left.pop(msg.partition(), None)
                    continue
                sys.exit("%s: %s" % (topic, msg.error()))
            value = deserializer(msg.value(), ctx)
            records.append(value.get(args.field.get(topic, "model_id")) if args.field else value)
            if msg.offset() + 1 >= left.get(msg.partition(), 0):
                left.pop(msg.partition(), None)
        consumer.close()
        out[topic] = records
    print(json.dumps(out, default=str))


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("produce")
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--registry", required=True)
    p.add_argument("--topic", required=True)
    p.add_argument("--schema", required=True)
    p.add_argument("--input", required=True)
    p.add_argument("--unknown-id", type=int, required=True)
    c = sub.add_parser("consume")
    c.add_argument("--bootstrap", required=True)
    c.add_argument("--registry", required=True)
    c.add_argument("--topics", required=True)
    c.add_argument("--field", type=json.loads, default={},
                   help='JSON object: topic -> field printed for each record')
    args = parser.parse_args()
    {"produce": produce, "consume": consume}[args.command](args)


if __name__ == "__main__":
    main()
