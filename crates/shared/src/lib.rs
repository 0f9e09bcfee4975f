//! hark's shared catalog for a team: one PostgreSQL database that the
//! indexers of every workstation write to, split the embedding work
//! through, and that each workstation's local replica follows (issue 13;
//! see design.md, "Beyond one machine", and index-format.md, "The shared
//! catalog").
//!
//! A studio keeps its sound library on a NAS mounted by many workstations
//! at different paths. The shared catalog names each library root
//! (`sfx`), keeps files by root and path relative to it, with their
//! metadata, and their vectors, so that a library is embedded once for
//! all hosts; several `hark index` runs against it split the work.
//!
//! # Brief overview
//!
//! - [`Address`] turns a `postgres://` URL into connection settings with
//!   libpq's conventions (`PGHOST` and friends, `~/.pgpass`), and
//!   [`RedactedUrl`] is the only form in which an address is ever shown:
//!   its password is masked, in every error too.
//! - [`SharedCatalog::open`] connects, refuses a database that is not
//!   hark's ([`Error::Foreign`], [`Error::Corrupt`]: nothing written) and
//!   migrates the schema (`hark_schema`, [`SCHEMA_VERSION`]);
//!   [`SharedCatalog::open_readonly`] only checks it. Writes: named roots
//!   ([`SharedCatalog::add_root`]), files ([`SharedCatalog::upsert_file`],
//!   which queues a file waiting for its vector), removals.
//! - The claim protocol ([`SharedCatalog::claim`], [`Claim::finish`]):
//!   workers lock batches of the work queue with `FOR UPDATE SKIP LOCKED`
//!   in a transaction held while they embed, so claims die with their
//!   worker's connection.
//! - The change sequence ([`SharedCatalog::changes_since`], [`Position`]):
//!   everything written or removed since a position, from one snapshot,
//!   for a replica to apply.
//!
//! The crate never prints; errors carry the address redacted.

#![warn(missing_docs)]

mod address;
mod catalog;
mod changes;
mod claim;
mod error;
mod mounts;
mod redact;
pub mod replica;
mod schema;
mod tls;

pub use address::Address;
pub use catalog::{KnownFile, SharedCatalog, IDLE_IN_TRANSACTION_TIMEOUT};
pub use changes::{Change, Position, SharedVector};
pub use claim::{Claim, ClaimedFile, Embedded};
pub use error::{Error, Result};
pub use mounts::{Mount, Mounts, MOUNTS_FILE};
pub use redact::{RedactedUrl, MASK};
pub use schema::SCHEMA_VERSION;
