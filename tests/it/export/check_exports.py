"""Checks jidoka's exports against what `audit replay --json` printed and
the drift events read from the topic: reads the Parquet files with pyarrow
and DuckDB, the CSV and JSON lines with Python's own readers, and
compares every cell. Run by tests/it/export.rs:

    python3 check_exports.py DIR

DIR holds replay.jsonl (audit replay --from-beginning --json),
latest.jsonl (audit replay --latest --json), subset.jsonl (audit replay
--from-beginning --json with the subset filters), drift_ref.jsonl (every
drift event on the topic, as JSON), drift_subset_ref.jsonl (those the
drift subset filters keep) and the exports audit.{parquet,csv,jsonl},
latest.parquet, subset.parquet, drift.{parquet,csv,jsonl} and
drift_subset.parquet. Prints what it checked; exits 1 on the first
mismatch, 2 when pyarrow or duckdb is missing.
"""

import csv
import datetime
import json
import math
import sys

try:
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq
except ImportError as e:
    sys.stderr.write(
        f"check_exports.py needs pyarrow and duckdb from PyPI "
        f"(pip install pyarrow duckdb; tests/run.sh installs them): {e}\n"
    )
    sys.exit(2)

ARMS = ["none", "retrain", "rollback", "fallback", "hold", "escalate"]
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


class Mismatch(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Mismatch(what)


def lines(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def ms_of(text):
    """Epoch ms of an RFC 3339 UTC time with milliseconds."""
    dt = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    td = dt - EPOCH
    return td.days * 86_400_000 + td.seconds * 1000 + td.microseconds // 1000


def audit_expected(r):
    """The export row of a replayed audit record, flattened here
    independently of the exporter."""
    ev = r["evidence"]
    rules = sorted(
        (x for x in r["rules"] if x["matched"]), key=lambda x: -x.get("priority", 0)
    )
    b = r.get("bandit")
    o = r.get("outcome")
    s = r.get("supersedes")
    row = {
        "decision_id": r["decision_id"],
        "version": r["version"],
        "sequence": r["sequence"],
        "status": r["status"],
        "model_id": r["model_id"],
        "model_version": r["model_version"],
        "decided_at": r["decided_at"],
        "decided_by": r["decided_by"],
        "proposed_action": r["proposed_action"],
        "action": r["action"],
        "command_id": r["command_id"],
        "operator_command_id": r["operator_command_id"],
        "gate_reason": r["gate_reason"],
        "config_version": r["config_version"],
        "source_topic": r["inputs"]["source_topic"],
        "source_partition": r["inputs"]["source_partition"],
        "source_offset": r["inputs"]["source_offset"],
        "records_seen": r["inputs"]["records_seen"],
        "features_tested": len(ev),
        "features_drifted": sum(1 for e in ev if e["drifted"]),
        "drifted_features": [e["feature"] for e in ev if e["drifted"]],
        "drift_event_ids": [e["drift_event_id"] for e in ev if e["drift_event_id"]],
        "evidence": ev,
        "rules_matched": [x["name"] for x in rules],
        "hard_rule_matched": any(x["hard"] and x["matched"] for x in r["rules"]),
        "rules": r["rules"],
        "checks_failed": [c["name"] for c in r["checks"] if not c["passed"]],
        "checks": r["checks"],
        "cooldown_active": r["cooldown"]["active"],
        "cooldown_last_action_at": r["cooldown"]["last_action_at"],
        "cooldown_remaining_ms": r["cooldown"]["remaining_ms"],
        "context": r["context"],
        "bandit_chosen": b and b["chosen"],
        "bandit_confidence": b and b["confidence"],
        "bandit_threshold": b and b["threshold"],
        "bandit_samples": b and b["samples"],
    }
    for arm in ARMS:
        view = next((a for a in (b or {}).get("arms", []) if a["action"] == arm), None)
        row[f"bandit_{arm}_mean"] = view and view["posterior_mean"]
        row[f"bandit_{arm}_observations"] = view and view["observations"]
    row.update(
        {
            "bandit_arms": b and b["arms"],
            "outcome_command_id": o and o["command_id"],
            "outcome_status": o and o["status"],
            "outcome_recovery": o and o["recovery"],
            "outcome_cost": o and o["cost"],
            "outcome_reward": o and o["reward"],
            "outcome_reported_at": o and o["reported_at"],
            "supersedes_sequence": s and s["sequence"],
            "supersedes_hash": s and s["record_hash"],
            "previous_hash": r["previous_hash"],
            "record_hash": r["record_hash"],
        }
    )
    w = r.get("reward")
    for key in [
        "arm", "parts", "learned", "horizon_ms", "measured_at",
        "accuracy_drop_before", "drifted_share_before", "accuracy_drop_after",
        "drifted_share_after", "measured_recovery", "reported_recovery",
        "reported_cost", "measured_weight", "reported_weight",
        "benefit_weight", "cost_weight", "recovery",
    ]:
        row[f"reward_{key}"] = w and w[key]
    row["reward"] = w and w["reward"]
    row["bandit_seed"] = b and b["seed"]
    row["bandit_against"] = b and b["against"]
    for arm in ARMS:
        view = next((a for a in (b or {}).get("arms", []) if a["action"] == arm), None)
        row[f"bandit_{arm}_deviation"] = view and view["deviation"]
    return row


JSON_COLUMNS = {"evidence", "rules", "checks", "context", "bandit_arms"}

DRIFT_COLUMNS = [
    "event_id", "model_id", "feature", "kind", "status", "event_time", "test",
    "statistic", "p_value", "adjusted_p_value", "alpha", "correction",
    "effect_size", "min_effect", "reference_size", "reference_start_time",
    "reference_end_time", "window_size", "window_start_record",
    "window_end_record", "window_start_time", "window_end_time", "late_records",
]


def drift_expected(e):
    return {c: e[c] for c in DRIFT_COLUMNS}


def read_parquet(path):
    """(column names, arrow types, rows as dicts with times as epoch ms and
    JSON columns parsed)."""
    t = pq.read_table(path)
    types = {f.name: f.type for f in t.schema}
    for i, f in enumerate(t.schema):
        if pa.types.is_timestamp(f.type):
            check(
                f.type.unit == "ms" and f.type.tz == "UTC",
                f"{path}: {f.name} is {f.type}, not timestamp[ms, tz=UTC]",
            )
            t = t.set_column(i, f.name, t.column(i).cast(pa.int64()))
    rows = t.to_pylist()
    for row in rows:
        for c in JSON_COLUMNS & row.keys():
            if row[c] is not None:
                row[c] = json.loads(row[c])
    return t.column_names, types, rows


def same(a, b):
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def compare_rows(what, got, want):
    check(len(got) == len(want), f"{what}: {len(got)} rows, expected {len(want)}")
    for i, (g, w) in enumerate(zip(got, want)):
        check(list(g.keys()) == list(w.keys()), f"{what}: columns {list(g.keys())} != {list(w.keys())}")
        for k in w:
            check(same(g[k], w[k]), f"{what} row {i} ({w.get('decision_id') or w.get('event_id')}): {k} = {g[k]!r}, expected {w[k]!r}")


def csv_value(cell, kind):
    """A CSV cell as the Parquet value it should equal."""
    if cell == "" and kind != "string":
        return None
    if kind == "string":
        return cell
    if kind == "int64":
        return int(cell)
    if kind == "double":
        return float(cell)
    if kind == "bool":
        check(cell in ("true", "false"), f"bool cell {cell!r}")
        return cell == "true"
    if kind.startswith("timestamp"):
        return ms_of(cell)
    if kind.startswith("list"):
        return json.loads(cell)
    raise Mismatch(f"unexpected column type {kind}")


def check_csv(path, columns, types, rows):
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        body = list(reader)
    check(header == columns, f"{path}: header {header} != {columns}")
    check(len(body) == len(rows), f"{path}: {len(body)} rows, parquet has {len(rows)}")
    for i, (cells, row) in enumerate(zip(body, rows)):
        for c, cell in zip(columns, cells):
            want = row[c]
            kind = str(types[c])
            if c in JSON_COLUMNS:
                got = None if cell == "" else json.loads(cell)
            elif kind == "string" and want is None:
                got = None if cell == "" else cell
            else:
                got = csv_value(cell, kind)
            check(same(got, want), f"{path} row {i}: {c} = {cell!r}, parquet has {want!r}")


def check_jsonl(path, columns, types, rows):
    objs = lines(path)
    check(len(objs) == len(rows), f"{path}: {len(objs)} rows, parquet has {len(rows)}")
    for i, (obj, row) in enumerate(zip(objs, rows)):
        check(list(obj.keys()) == columns, f"{path} row {i}: keys {list(obj.keys())}")
        for c in columns:
            got, want = obj[c], row[c]
            kind = str(types[c])
            if kind.startswith("timestamp") and isinstance(got, str):
                got = ms_of(got)
            if kind == "double" and isinstance(want, float) and not math.isfinite(want):
                want = None  # JSON has no NaN or infinity
            check(same(got, want), f"{path} row {i}: {c} = {got!r}, parquet has {want!r}")


def duck_count(con, sql, path):
    return con.execute(sql, [path]).fetchone()[0]


def main(d):
    con = duckdb.connect()
    replay = lines(f"{d}/replay.jsonl")
    check(len(replay) > 0, "replay printed no audit record")

    # The audit export, read by pyarrow, equals the replay row by row.
    columns, types, rows = read_parquet(f"{d}/audit.parquet")
    want = [audit_expected(r) for r in replay]
    compare_rows("audit.parquet", rows, want)
    for c, t in [("decision_id", "string"), ("version", "int64"), ("bandit_confidence", "double"),
                 ("hard_rule_matched", "bool"), ("drifted_features", "list<element: string>"),
                 ("decided_at", "timestamp[ms, tz=UTC]")]:
        check(str(types[c]) in (t, t.replace("element", "item")), f"audit.parquet: {c} is {types[c]}, expected {t}")
    with_bandit = sum(1 for r in rows if r["bandit_chosen"] is not None)
    with_rules = sum(1 for r in rows if r["rules_matched"])
    print(f"audit.parquet: {len(rows)} rows x {len(columns)} columns equal replay --json (pyarrow); "
          f"{with_bandit} with a bandit view, {with_rules} with matched rules")

    # DuckDB reads the same rows and values.
    for fmt, sql in [("parquet", "SELECT count(*) FROM read_parquet(?)"),
                     ("csv", "SELECT count(*) FROM read_csv(?, header = true)"),
                     ("jsonl", "SELECT count(*) FROM read_json(?, format = 'newline_delimited')")]:
        n = duck_count(con, sql, f"{d}/audit.{fmt}")
        check(n == len(replay), f"duckdb: audit.{fmt} has {n} rows, replay printed {len(replay)}")
    got = con.execute(
        "SELECT decision_id, version, epoch_ms(decided_at), outcome_reward FROM read_parquet(?) "
        "WHERE status = 'completed' ORDER BY decision_id, version", [f"{d}/audit.parquet"]).fetchall()
    want_completed = sorted(
        (r["decision_id"], r["version"], r["decided_at"], r["outcome"]["reward"])
        for r in replay if r["status"] == "completed")
    check(len(want_completed) > 0, "no completed decision in the replay")
    check([tuple(x) for x in got] == want_completed, f"duckdb completed: {got} != {want_completed}")
    n = con.execute("SELECT count(*) FROM read_parquet(?) WHERE len(drifted_features) > 0",
                    [f"{d}/audit.parquet"]).fetchone()[0]
    check(n == sum(1 for r in replay if any(e["drifted"] for e in r["evidence"])),
          f"duckdb: {n} rows with drifted features")
    print(f"duckdb: audit.parquet/csv/jsonl have {len(replay)} rows; {len(want_completed)} completed with their rewards")

    # CSV and JSON lines agree with the Parquet, cell by cell.
    check_csv(f"{d}/audit.csv", columns, types, rows)
    check_jsonl(f"{d}/audit.jsonl", columns, types, rows)
    print("audit.csv and audit.jsonl agree with audit.parquet")

    # --latest and a filtered export: the rows replay printed with the same flags.
    for name, ref in [("latest", "latest.jsonl"), ("subset", "subset.jsonl")]:
        expected = lines(f"{d}/{ref}")
        _, _, got_rows = read_parquet(f"{d}/{name}.parquet")
        compare_rows(f"{name}.parquet", got_rows, [audit_expected(r) for r in expected])
        print(f"{name}.parquet: {len(got_rows)} rows equal replay --json with the same flags")

    # Drift events.
    ref = lines(f"{d}/drift_ref.jsonl")
    check(len(ref) > 0, "no drift event on the topic")
    ref.sort(key=lambda e: (e["event_time"], e["model_id"], e["feature"], e["event_id"]))
    columns, types, rows = read_parquet(f"{d}/drift.parquet")
    check(columns == DRIFT_COLUMNS, f"drift.parquet columns {columns}")
    compare_rows("drift.parquet", rows, [drift_expected(e) for e in ref])
    for fmt, sql in [("parquet", "SELECT count(*) FROM read_parquet(?)"),
                     ("csv", "SELECT count(*) FROM read_csv(?, header = true)"),
                     ("jsonl", "SELECT count(*) FROM read_json(?, format = 'newline_delimited')")]:
        n = duck_count(con, sql, f"{d}/drift.{fmt}")
        check(n == len(ref), f"duckdb: drift.{fmt} has {n} rows, the topic {len(ref)}")
    got = con.execute("SELECT event_id, p_value, effect_size FROM read_parquet(?) ORDER BY event_id",
                      [f"{d}/drift.parquet"]).fetchall()
    check([tuple(x) for x in got] == sorted((e["event_id"], e["p_value"], e["effect_size"]) for e in ref),
          "duckdb: drift p-values and effect sizes")
    check_csv(f"{d}/drift.csv", columns, types, rows)
    check_jsonl(f"{d}/drift.jsonl", columns, types, rows)
    subset = lines(f"{d}/drift_subset_ref.jsonl")
    subset.sort(key=lambda e: (e["event_time"], e["model_id"], e["feature"], e["event_id"]))
    _, _, got_rows = read_parquet(f"{d}/drift_subset.parquet")
    compare_rows("drift_subset.parquet", got_rows, [drift_expected(e) for e in subset])
    print(f"drift: {len(ref)} events in parquet (pyarrow, duckdb), csv and jsonl; subset {len(subset)}")


if __name__ == "__main__":
    try:
        main(sys.argv[1])
    except Mismatch as e:
        sys.stderr.write(f"MISMATCH: {e}\n")
        sys.exit(1)
