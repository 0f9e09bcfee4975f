//! The `meta` table: a few named values about the index as a whole, which
//! the indexer writes and search and `hark status` read. Its keys are
//! defined here, once (`index-format.md` lists them too).

use rusqlite::OptionalExtension;

use crate::{Catalog, Result, Tx};

/// The identity of the model the index's vectors come from
/// (`hark_model::ModelLocation::identity`); a reader with another model
/// refuses the index rather than mix vectors.
pub const MODEL: &str = "model";

/// A readable name of that model: the hub id or directory, as given.
pub const MODEL_NAME: &str = "model_name";

/// The embedding pipeline version the vectors were made under
/// (`hark_model::PIPELINE_VERSION`).
pub const PIPELINE: &str = "pipeline";

/// The `hark_indexer::Summary` of the last completed `hark index` run, as
/// JSON.
pub const LAST_RUN: &str = "last_run";

/// The rule the files' UCS fields were derived by (`hark_audio::FILE_UCS_RULE`):
/// the indexer derives them again from each file's name and stored tags
/// when it is absent or another.
pub const UCS_RULE: &str = "ucs_rule";

impl Catalog {
    /// [`Tx::meta`] in its own snapshot.
    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        self.read(|tx| tx.meta(key))
    }
}

impl Tx<'_> {
    /// A value from the `meta` table (see the keys in [`crate::meta`]).
    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(self.err("read meta"))
    }

    /// Sets a value in the `meta` table.
    pub fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.check_writable("write meta")?;
        self.conn
            .execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [key, value],
            )
            .map_err(self.err("write meta"))?;
        Ok(())
    }
}
