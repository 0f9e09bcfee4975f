//! The text-embedding cache: `<index dir>/text-cache.sqlite3`, a small
//! SQLite file of query texts and their CLAP vectors, keyed by the model's
//! identity and the text, so a repeated query skips the text tower.
//!
//! It is a separate file so a searcher never writes the catalog. It is only
//! a cache: a damaged file (pages overwritten) is deleted and made anew, and
//! any other failure (an unwritable index directory, a newer file, a lock
//! held too long) turns caching off for this engine instead of failing the
//! query. It keeps at most [`MAX_ENTRIES`] texts, dropping the
//! oldest first. The format is in `index-format.md`.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension};

/// The cache's file name inside the index directory.
pub const FILE_NAME: &str = "text-cache.sqlite3";

/// The cache's format version (`PRAGMA user_version`).
const VERSION: u32 = 1;

/// Entries kept; each is about 2 KiB for a 512-d vector.
pub const MAX_ENTRIES: i64 = 10_000;

/// A cache is a convenience: never make a query wait long on another
/// process's write.
const BUSY_TIMEOUT: Duration = Duration::from_millis(250);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS text_vectors (
    id         INTEGER PRIMARY KEY,
    model      TEXT NOT NULL,
    text       TEXT NOT NULL,
    dim        INTEGER NOT NULL,
    data       BLOB NOT NULL CHECK (length(data) = 4 * dim),
    created_at INTEGER NOT NULL,
    UNIQUE (model, text)
);
";

/// The cache of one engine.
pub(crate) struct TextCache {
    path: PathBuf,
    state: Mutex<State>,
}

enum State {
    /// Not opened yet (nothing opened before the first query that needs it).
    Unopened,
    Open(Connection),
    /// Failed once: no caching for the rest of this engine's life.
    Disabled,
}

impl TextCache {
    /// The cache in `dir`, opened on first use.
    pub(crate) fn new(dir: &Path) -> TextCache {
        TextCache {
            path: dir.join(FILE_NAME),
            state: Mutex::new(State::Unopened),
        }
    }

    fn open(path: &Path) -> rusqlite::Result<Option<Connection>> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let version: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > VERSION {
            // Written by a newer hark: leave it alone.
            return Ok(None);
        }
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Ok(None);
        }
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        if version < VERSION {
            conn.execute_batch(SCHEMA)?;
            conn.pragma_update(None, "user_version", VERSION)?;
        }
        Ok(Some(conn))
    }

    /// Runs `f` on the connection, opening it first if needed; on any
    /// failure, turns the cache off and returns `None`.
    fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Option<T> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let State::Unopened = *state {
            let opened = match Self::open(&self.path) {
                Err(e) if is_damage(&e) => {
                    self.remove();
                    Self::open(&self.path)
                }
                opened => opened,
            };
            *state = match opened {
                Ok(Some(conn)) => State::Open(conn),
                _ => State::Disabled,
            };
        }
        let State::Open(conn) = &*state else {
            return None;
        };
        match f(conn) {
            Ok(v) => Some(v),
            // Another process writing for longer than the timeout: skip
            // the cache this once.
            Err(e)
                if matches!(
                    e.sqlite_error_code(),
                    Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
                ) =>
            {
                None
            }
            // Damage found by a statement: the next use starts a new file.
            Err(e) if is_damage(&e) => {
                *state = State::Unopened;
                self.remove();
                None
            }
            Err(_) => {
                *state = State::Disabled;
                None
            }
        }
    }

    /// Deletes the cache file and its WAL and shared-memory files. Another
    /// process with the old file open keeps using it until it reopens.
    fn remove(&self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut name = self.path.as_os_str().to_owned();
            name.push(suffix);
            let _ = std::fs::remove_file(name);
        }
    }

    /// The cached vector of `text` under `model`.
    pub(crate) fn get(&self, model: &str, text: &str) -> Option<Vec<f32>> {
        self.with(|conn| {
            conn.prepare_cached(
                "SELECT dim, data FROM text_vectors WHERE model = ?1 AND text = ?2",
            )?
            .query_row(params![model, text], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
            })
            .optional()
        })
        .flatten()
        .and_then(|(dim, bytes)| {
            (dim >= 0 && bytes.len() as u64 == 4 * dim as u64).then(|| {
                bytes
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect()
            })
        })
    }

    /// Stores the vector of `text` under `model`, dropping the oldest
    /// entries beyond [`MAX_ENTRIES`].
    pub(crate) fn put(&self, model: &str, text: &str, vector: &[f32]) {
        let data: Vec<u8> = vector.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.with(|conn| {
            conn.prepare_cached(
                "INSERT OR REPLACE INTO text_vectors (model, text, dim, data, created_at)
                 VALUES (?1, ?2, ?3, ?4, unixepoch())",
            )?
            .execute(params![model, text, vector.len() as i64, data])?;
            conn.prepare_cached(
                "DELETE FROM text_vectors WHERE id <= (
                    SELECT id FROM text_vectors ORDER BY id DESC LIMIT 1 OFFSET ?1)",
            )?
            .execute([MAX_ENTRIES])?;
            Ok(())
        });
    }
}

/// Whether SQLite says the file is damaged.
fn is_damage(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_per_model_and_text() {
        let dir = tempfile::tempdir().unwrap();
        let cache = TextCache::new(dir.path());
        assert_eq!(cache.get("m", "rain"), None);
        cache.put("m", "rain", &[0.5, -0.25, 1e-7]);
        cache.put("other", "rain", &[1.0]);
        assert_eq!(cache.get("m", "rain"), Some(vec![0.5, -0.25, 1e-7]));
        assert_eq!(cache.get("other", "rain"), Some(vec![1.0]));
        assert_eq!(cache.get("m", "Rain"), None);
        // A second handle (another process) sees it.
        let again = TextCache::new(dir.path());
        assert_eq!(again.get("m", "rain"), Some(vec![0.5, -0.25, 1e-7]));
    }

    #[test]
    fn keeps_at_most_max_entries_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let cache = TextCache::new(dir.path());
        cache.with(|conn| {
            // Fill to the limit directly; one put then evicts the oldest.
            conn.execute(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
                 INSERT INTO text_vectors (model, text, dim, data, created_at)
                 SELECT 'm', 't' || i, 1, x'0000803f', 0 FROM n",
                [MAX_ENTRIES],
            )
        });
        cache.put("m", "newest", &[2.0]);
        let count = cache
            .with(|c| {
                c.query_row("SELECT count(*) FROM text_vectors", [], |r| {
                    r.get::<_, i64>(0)
                })
            })
            .unwrap();
        assert_eq!(count, MAX_ENTRIES);
        assert_eq!(cache.get("m", "t1"), None, "the oldest is dropped");
        assert_eq!(cache.get("m", "t2"), Some(vec![1.0]));
        assert_eq!(cache.get("m", "newest"), Some(vec![2.0]));
    }

    #[test]
    fn unusable_location_disables_caching() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the file should be: it cannot be opened.
        std::fs::create_dir(dir.path().join(FILE_NAME)).unwrap();
        let cache = TextCache::new(dir.path());
        cache.put("m", "rain", &[1.0]);
        assert_eq!(cache.get("m", "rain"), None);
        // A missing index directory too.
        let cache = TextCache::new(&dir.path().join("missing/deeper"));
        cache.put("m", "rain", &[1.0]);
        assert_eq!(cache.get("m", "rain"), None);
    }

    #[test]
    fn a_damaged_file_is_made_anew() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let cache = TextCache::new(dir.path());
        for i in 0..200 {
            cache.put("m", &format!("text {i}"), &[i as f32; 512]);
        }
        drop(cache);
        // Garbage over a page in the middle: the header still says SQLite.
        let mut bytes = std::fs::read(&path).unwrap();
        let middle = bytes.len() / 2 / 4096 * 4096;
        bytes[middle..middle + 4096].fill(0xA5);
        std::fs::write(&path, &bytes).unwrap();
        let cache = TextCache::new(dir.path());
        for i in 0..200 {
            cache.get("m", &format!("text {i}"));
        }
        cache.put("m", "rain", &[1.0]);
        assert_eq!(cache.get("m", "rain"), Some(vec![1.0]));
        drop(cache);

        // Garbage over the header: not a database any more.
        std::fs::write(&path, vec![0x5A; 8192]).unwrap();
        let cache = TextCache::new(dir.path());
        assert_eq!(cache.get("m", "rain"), None);
        cache.put("m", "rain", &[2.0]);
        assert_eq!(cache.get("m", "rain"), Some(vec![2.0]));
    }

    #[test]
    fn newer_format_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", VERSION + 1)
            .unwrap();
        drop(conn);
        let cache = TextCache::new(dir.path());
        cache.put("m", "rain", &[1.0]);
        assert_eq!(cache.get("m", "rain"), None);
        let conn = Connection::open(&path).unwrap();
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .unwrap();
        assert_eq!(tables, 0, "a newer cache must not be written to");
    }
}
