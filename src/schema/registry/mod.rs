//! Confluent Schema Registry: a small REST client, the cache of writer
//! schemas seen on input, and the registration of jidoka's output schemas
//! at start-up.
//!
//! With `schemas.registry-url` set, a framed record's id names its writer
//! schema in the registry: records are decoded with it and resolved
//! against jidoka's reader schema (so producers may add fields), and the
//! ids jidoka writes are the ones the registry returned for its schemas
//! under `<topic>-value`. Without it, the fixed `[schemas.ids]` apply.

mod cache;
mod client;
mod error;
mod setup;

pub use cache::{
    fetch_blocking, fetch_missing, Backoff, Stopped, Writer, WriterCache, WriterSchema,
};
pub use client::{FetchedSchema, RegistryClient};
pub use error::{RegistryError, SCHEMA_NOT_FOUND, SUBJECT_NOT_FOUND};
pub use setup::{codec_for, reader_codec, value_subject, CodecError, Uses};
