//! The errors of hark-shared. Every variant that names the catalog names
//! it as a [`RedactedUrl`]: no error can carry a password.

use std::path::PathBuf;

use crate::RedactedUrl;

/// What went wrong with a shared catalog, and where.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The catalog address does not parse, or a setting is invalid.
    #[error("the catalog address `{address}` is not usable: {cause}")]
    BadAddress {
        /// The address, redacted.
        address: RedactedUrl,
        /// What is wrong.
        cause: String,
    },
    /// The password file exists but could not be read.
    #[error("failed to read the password file `{}`", path.display())]
    PasswordFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The server could not be reached or refused the connection.
    #[error("failed to connect to the shared catalog `{address}`")]
    Connect {
        /// The address, redacted.
        address: RedactedUrl,
        /// Why (the driver's message, which never holds the password).
        source: postgres::Error,
    },
    /// A statement failed.
    #[error("shared catalog `{address}`: failed to {what}")]
    Sql {
        /// The address, redacted.
        address: RedactedUrl,
        /// What was being done.
        what: &'static str,
        /// Why.
        source: postgres::Error,
    },
    /// The database holds tables that are not hark's, and no hark schema:
    /// hark writes nothing there.
    #[error(
        "the database at `{address}` is not a hark catalog: schema `{schema}` holds {} \
         that hark did not make ({}), and no `hark_schema` table; nothing was written\n\
         hint: give hark a database of its own (README, \"A shared library for a team\")",
        if tables.len() == 1 { "a table" } else { "tables" },
        tables.join(", ")
    )]
    Foreign {
        /// The address, redacted.
        address: RedactedUrl,
        /// The PostgreSQL schema (namespace) looked in.
        schema: String,
        /// Some of the tables found there.
        tables: Vec<String>,
    },
    /// The catalog's schema is newer than this build knows.
    #[error(
        "the shared catalog `{address}` has schema version {found}, newer than version \
         {supported} that this hark supports; upgrade hark"
    )]
    TooNew {
        /// The address, redacted.
        address: RedactedUrl,
        /// The catalog's version.
        found: i32,
        /// The newest this build supports.
        supported: i32,
    },
    /// The catalog's schema is older than this build needs and the
    /// connection may not upgrade it (a read-only open or role).
    #[error(
        "the shared catalog `{address}` has schema version {found}, older than version \
         {supported}; run `hark index` with a role that may write to upgrade it"
    )]
    TooOld {
        /// The address, redacted.
        address: RedactedUrl,
        /// The catalog's version.
        found: i32,
        /// The version this build needs.
        supported: i32,
    },
    /// hark's schema table is there but the catalog breaks its
    /// invariants: a table of its version is missing, or the version table
    /// is not hark's.
    #[error("the shared catalog `{address}` is damaged: {what}; nothing was written")]
    Corrupt {
        /// The address, redacted.
        address: RedactedUrl,
        /// What is wrong.
        what: String,
    },
    /// The role may read but not write the catalog.
    #[error(
        "the role `{role}` cannot write to the shared catalog `{address}` (it may only read: \
         search works, `hark index` does not)\n\
         hint: index with a role that may write (README, \"A shared library for a team\")"
    )]
    ReadOnlyRole {
        /// The address, redacted.
        address: RedactedUrl,
        /// The role connected as.
        role: String,
    },
    /// The local replica (an ordinary hark catalog) failed.
    #[error("the local replica of the shared catalog failed")]
    Replica(#[from] hark_store::Error),
    /// A file of the index directory (the mounts, the replica's stamp)
    /// could not be read or written.
    #[error("failed to {what} `{}`", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done.
        what: &'static str,
        /// Why.
        source: std::io::Error,
    },
    /// The index directory holds a local index, which a replica would
    /// replace.
    #[error(
        "the index directory `{}` holds a local index; a shared catalog needs an index \
         directory of its own (its catalog becomes a replica of the shared one)\n\
         hint: pass another --index DIR with --catalog",
        dir.display()
    )]
    LocalIndex {
        /// The index directory.
        dir: PathBuf,
    },
    /// The mounts file is not one hark wrote.
    #[error("the mounts file `{}` is damaged: {cause}\nhint: delete it and run `hark index PATH --name NAME` for each mount", path.display())]
    BadMounts {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        cause: String,
    },
}

impl Error {
    /// Whether the server was unreachable or the connection broke: the
    /// kind of failure a retry or a local replica answers.
    pub fn is_connection(&self) -> bool {
        match self {
            Error::Connect { .. } => true,
            Error::Sql { source, .. } => source.is_closed() || source.as_db_error().is_none(),
            _ => false,
        }
    }
}

/// A shared-catalog result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
