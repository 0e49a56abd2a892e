//! Unit tests of `write.rs`: each format read back with its own reader
//! (the parquet crate's Arrow reader, the csv crate, serde_json).

use super::*;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampMillisecondType};
use arrow_array::Array;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn columns() -> Vec<Column> {
    [
        ("id", Kind::Text),
        ("n", Kind::Int),
        ("x", Kind::Float),
        ("ok", Kind::Bool),
        ("at", Kind::Time),
        ("tags", Kind::TextList),
        ("doc", Kind::Json),
    ]
    .into_iter()
    .map(|(name, kind)| Column {
        name: name.into(),
        kind,
    })
    .collect()
}

fn rows() -> Vec<Vec<Value>> {
    vec![
        vec![
            Value::Text("a, \"quoted\"\nline".into()),
            Value::Int(-3),
            Value::Float(2.1e-9),
            Value::Bool(true),
            Value::Time(1_717_200_000_123),
            Value::TextList(vec!["x".into(), "y,z".into()]),
            Value::Json(r#"{"k":[1,2]}"#.into()),
        ],
        vec![
            Value::Text("b".into()),
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
            Value::TextList(vec![]),
            Value::Null,
        ],
        vec![
            Value::Text("c".into()),
            Value::Int(i64::MAX),
            Value::Float(f64::NAN),
            Value::Bool(false),
            Value::Time(-5),
            Value::Null,
            Value::Json("[]".into()),
        ],
    ]
}

fn write(dir: &Path, name: &str, format: Format) -> Result<PathBuf, ExportError> {
    let out = dir.join(name);
    let n = write_table(&out, format, &columns(), &mut rows().into_iter())?;
    assert_eq!(n, 3);
    Ok(out)
}

#[test]
fn parquet_reads_back_typed() -> TestResult {
    let dir = tempfile::tempdir()?;
    let out = write(dir.path(), "t.parquet", Format::Parquet)?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&out)?)?.build()?;
    let batches: Vec<RecordBatch> = reader.collect::<Result<_, _>>()?;
    assert_eq!(batches.len(), 1);
    let b = &batches[0];
    assert_eq!(b.num_rows(), 3);
    assert_eq!(b.schema(), arrow_schema(&columns()));
    let ids = b.column(0).as_string::<i32>();
    assert_eq!(ids.value(0), "a, \"quoted\"\nline");
    let n = b.column(1).as_primitive::<Int64Type>();
    assert_eq!((n.value(0), n.is_null(1), n.value(2)), (-3, true, i64::MAX));
    let x = b.column(2).as_primitive::<Float64Type>();
    assert_eq!(x.value(0), 2.1e-9);
    assert!(x.is_null(1) && x.value(2).is_nan());
    let ok = b.column(3).as_boolean();
    assert!(ok.value(0) && ok.is_null(1) && !ok.value(2));
    let at = b.column(4).as_primitive::<TimestampMillisecondType>();
    assert_eq!(
        (at.value(0), at.is_null(1), at.value(2)),
        (1_717_200_000_123, true, -5)
    );
    let tags = b.column(5).as_list::<i32>();
    let first = tags.value(0);
    let first = first.as_string::<i32>();
    assert_eq!((first.value(0), first.value(1)), ("x", "y,z"));
    assert_eq!(tags.value(1).len(), 0);
    assert!(!tags.is_null(1) && tags.is_null(2));
    let doc = b.column(6).as_string::<i32>();
    assert_eq!((doc.value(0), doc.is_null(1)), (r#"{"k":[1,2]}"#, true));
    Ok(())
}

#[test]
fn csv_has_a_header_and_text_cells() -> TestResult {
    let dir = tempfile::tempdir()?;
    let out = write(dir.path(), "t.csv", Format::Csv)?;
    let mut r = csv::Reader::from_path(&out)?;
    let header: Vec<String> = r.headers()?.iter().map(str::to_string).collect();
    assert_eq!(header, ["id", "n", "x", "ok", "at", "tags", "doc"]);
    let rows: Vec<csv::StringRecord> = r.records().collect::<Result<_, _>>()?;
    assert_eq!(rows.len(), 3);
    let cells = |i: usize| -> Vec<String> { rows[i].iter().map(str::to_string).collect() };
    assert_eq!(
        cells(0),
        [
            "a, \"quoted\"\nline",
            "-3",
            "2.1e-9",
            "true",
            "2024-06-01T00:00:00.123Z",
            r#"["x","y,z"]"#,
            r#"{"k":[1,2]}"#
        ]
    );
    assert_eq!(cells(1), ["b", "", "", "", "", "[]", ""]);
    // A float round-trips; a time RFC 3339 cannot show is its epoch ms.
    assert_eq!(cells(0)[2].parse::<f64>()?, 2.1e-9);
    assert_eq!(
        cells(2),
        ["c", &i64::MAX.to_string(), "NaN", "false", "-5", "", "[]"]
    );
    Ok(())
}

#[test]
fn jsonl_is_one_object_per_row_with_nested_json() -> TestResult {
    let dir = tempfile::tempdir()?;
    let out = write(dir.path(), "t.jsonl", Format::Jsonl)?;
    let text = std::fs::read_to_string(&out)?;
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    assert_eq!(lines.len(), 3);
    assert_eq!(
        lines[0],
        serde_json::json!({
            "id": "a, \"quoted\"\nline", "n": -3, "x": 2.1e-9, "ok": true,
            "at": "2024-06-01T00:00:00.123Z", "tags": ["x", "y,z"], "doc": {"k": [1, 2]}
        })
    );
    assert_eq!(
        lines[1],
        serde_json::json!({
            "id": "b", "n": null, "x": null, "ok": null, "at": null, "tags": [], "doc": null
        })
    );
    assert_eq!(lines[2]["x"], serde_json::Value::Null, "NaN is null");
    assert_eq!(lines[2]["at"], serde_json::json!(-5));
    assert_eq!(lines[2]["n"], serde_json::json!(i64::MAX));
    // Keys in column order.
    assert!(text.starts_with(r#"{"id":"#), "{text}");
    Ok(())
}

#[test]
fn a_failed_write_names_the_path_and_leaves_nothing_behind() -> TestResult {
    let dir = tempfile::tempdir()?;
    let missing = dir.path().join("no-such-dir").join("t.parquet");
    let err = write_table(
        &missing,
        Format::Parquet,
        &columns(),
        &mut rows().into_iter(),
    )
    .err()
    .ok_or("wrote into a missing directory")?;
    assert!(
        err.to_string().contains(&missing.display().to_string()),
        "{err}"
    );

    // A target that cannot be replaced (a directory): the error names
    // it, and no temporary file is left beside it.
    let taken = dir.path().join("taken.csv");
    std::fs::create_dir(&taken)?;
    let err = write_table(&taken, Format::Csv, &columns(), &mut rows().into_iter())
        .err()
        .ok_or("replaced a directory")?;
    assert!(
        err.to_string().contains(&taken.display().to_string()),
        "{err}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path())?.count(),
        1,
        "a temporary file was left"
    );

    // An existing file is replaced whole.
    let out = dir.path().join("t.csv");
    std::fs::write(&out, "old\n")?;
    write_table(&out, Format::Csv, &columns(), &mut rows().into_iter())?;
    let new = std::fs::read_to_string(&out)?;
    assert!(
        new.starts_with("id,n,x,ok,at,tags,doc\n") && !new.contains("old"),
        "{new}"
    );
    Ok(())
}

#[test]
fn an_empty_export_still_has_its_columns() -> TestResult {
    let dir = tempfile::tempdir()?;
    for (name, format) in [
        ("e.parquet", Format::Parquet),
        ("e.csv", Format::Csv),
        ("e.jsonl", Format::Jsonl),
    ] {
        let out = dir.path().join(name);
        assert_eq!(
            write_table(&out, format, &columns(), &mut std::iter::empty())?,
            0
        );
        match format {
            Format::Parquet => {
                let b = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&out)?)?;
                assert_eq!(b.schema(), &arrow_schema(&columns()));
            }
            Format::Csv => {
                assert_eq!(std::fs::read_to_string(&out)?, "id,n,x,ok,at,tags,doc\n");
            }
            Format::Jsonl => assert_eq!(std::fs::read_to_string(&out)?, ""),
        }
    }
    Ok(())
}

#[test]
fn formats_parse_by_name_and_extension() {
    for f in [Format::Parquet, Format::Csv, Format::Jsonl] {
        assert_eq!(Format::parse(f.as_str()), Ok(f));
    }
    assert!(Format::parse("xlsx").is_err());
    assert_eq!(
        Format::from_path(Path::new("/tmp/a.PARQUET")),
        Some(Format::Parquet)
    );
    assert_eq!(
        Format::from_path(Path::new("a.ndjson")),
        Some(Format::Jsonl)
    );
    assert_eq!(Format::from_path(Path::new("a.txt")), None);
    assert_eq!(Format::from_path(Path::new("a")), None);
    assert_eq!(rfc3339(0).as_deref(), Some("1970-01-01T00:00:00.000Z"));
    assert_eq!(rfc3339(-1), None);
    assert_eq!(
        rfc3339(253_402_300_799_999).as_deref(),
        Some("9999-12-31T23:59:59.999Z")
    );
    assert_eq!(rfc3339(253_402_300_800_000), None);
}
