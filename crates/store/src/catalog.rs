//! The catalog itself: opening `catalog.sqlite3` for writing (creating it
//! and upgrading its schema) or read-only, and the transactions every read
//! and write goes through. What a [`Tx`] can do is spread over the modules
//! of each concern (files, vectors, full-text, meta, filters), each adding
//! its own `impl Tx` block; this module knows none of them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::schema;
use crate::{Error, Result, SCHEMA_VERSION};

/// The catalog's file name inside the index directory.
pub const FILE_NAME: &str = "catalog.sqlite3";

/// How long a connection waits for a lock before failing. Readers in WAL
/// mode take no lock a writer holds; this covers the moments around a
/// checkpoint and a second writer waiting its turn.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// An open catalog: one SQLite connection.
pub struct Catalog {
    pub(crate) conn: Connection,
    pub(crate) path: PathBuf,
    pub(crate) writable: bool,
}

impl Catalog {
    /// Opens `<dir>/catalog.sqlite3` for reading and writing, creating the
    /// directory and the catalog if needed and upgrading an older schema.
    /// A catalog from a newer hark is refused with [`Error::TooNew`].
    pub fn open(dir: &Path) -> Result<Catalog> {
        Catalog::open_with(dir, true)
    }

    /// [`Catalog::open`] without the check of every page: for writers that
    /// open often and write little, as a shared catalog's replica updated
    /// before every command and every few seconds in the UI. The check
    /// reads the whole file (10 s and more for a million files); here,
    /// damage surfaces as [`Error::Damaged`] from the statement that meets
    /// it instead.
    pub fn open_quick(dir: &Path) -> Result<Catalog> {
        Catalog::open_with(dir, false)
    }

    fn open_with(dir: &Path, check_pages: bool) -> Result<Catalog> {
        std::fs::create_dir_all(dir).map_err(|source| Error::CreateDir {
            path: dir.to_owned(),
            source,
        })?;
        let path = dir.join(FILE_NAME);
        let open = |what| {
            let path = path.clone();
            move |source| Error::open(&path, what, source)
        };
        if !path.exists() {
            Self::create_whole(dir, &path)?;
        }
        let mut conn = Connection::open(&path).map_err(open("open the file"))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(open("set busy_timeout"))?;
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .map_err(open("set journal_mode=WAL"))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::NoWal { path, mode });
        }
        // In WAL mode, NORMAL syncs the WAL at checkpoints, not at every
        // commit: a process crash (kill -9) loses nothing committed, and a
        // power loss can roll back only the last transactions, never
        // corrupt the file. FULL would fsync every batch for no safety the
        // indexer needs, since it redoes uncommitted work on the next run.
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(open("set synchronous=NORMAL"))?;
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(open("set foreign_keys=ON"))?;
        // A few overwritten pages would fail some statement later in the
        // run, or only a reader; found here, the indexer repairs the
        // catalog before it starts (`salvage`).
        if check_pages {
            check(&conn, &path)?;
        }
        schema::migrate(&mut conn, &path)?;
        Ok(Catalog {
            conn,
            path,
            writable: true,
        })
    }

    /// Opens `<dir>/catalog.sqlite3` read-only, for search and the UI.
    /// Fails with [`Error::Missing`] if there is none, and with
    /// [`Error::TooOld`] or [`Error::TooNew`] unless its schema is
    /// [`SCHEMA_VERSION`] (only a writer may upgrade).
    pub fn open_readonly(dir: &Path) -> Result<Catalog> {
        let path = dir.join(FILE_NAME);
        if !path.is_file() {
            return Err(Error::Missing { path });
        }
        let open = |what| {
            let path = path.clone();
            move |source| Error::open(&path, what, source)
        };
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(open("open the file"))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(open("set busy_timeout"))?;
        let found = schema::version(&conn).map_err(open("read the schema version"))?;
        if found > SCHEMA_VERSION {
            return Err(Error::TooNew {
                path,
                found,
                supported: SCHEMA_VERSION,
            });
        }
        if found < SCHEMA_VERSION {
            return Err(Error::TooOld {
                path,
                found,
                supported: SCHEMA_VERSION,
            });
        }
        Ok(Catalog {
            conn,
            path,
            writable: false,
        })
    }

    /// Checks every page of the catalog (`PRAGMA quick_check`), failing
    /// with [`Error::Damaged`] if one is damaged. [`Catalog::open`] does it;
    /// a reader may, where a full read is worth it (`hark status`): about
    /// 0.4 s for 100k files with their vectors, on a warm cache.
    pub fn check(&self) -> Result<()> {
        check(&self.conn, &self.path)
    }

    /// The catalog file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` in one write transaction, committed if `f` returns `Ok`
    /// and rolled back otherwise. Takes the write lock at the start
    /// (`BEGIN IMMEDIATE`), waiting up to the busy timeout for another
    /// writer; readers are never blocked and see none of it until commit.
    pub fn transaction<T, E: From<Error>>(
        &mut self,
        f: impl FnOnce(&Tx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        if !self.writable {
            return Err(Error::ReadOnly {
                path: self.path.clone(),
                what: "begin a write transaction",
            }
            .into());
        }
        let sqlite = |what| {
            let path = self.path.clone();
            move |source| Error::sqlite(&path, what, source)
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sqlite("begin a write transaction"))?;
        let value = f(&Tx {
            conn: &tx,
            path: &self.path,
            writable: true,
        })?;
        tx.commit().map_err(sqlite("commit"))?;
        Ok(value)
    }

    /// Runs `f` on one consistent snapshot of the catalog: everything it
    /// reads is as of the same commit, whatever a writer does meanwhile.
    /// The `Tx` refuses writes with [`Error::ReadOnly`].
    pub fn read<T, E: From<Error>>(&self, f: impl FnOnce(&Tx<'_>) -> Result<T, E>) -> Result<T, E> {
        let sqlite = |what| {
            let path = self.path.clone();
            move |source| Error::sqlite(&path, what, source)
        };
        // `transaction` takes `&mut self`, so no write transaction can be
        // open here; a `read` nested in another fails cleanly in SQLite
        // ("cannot start a transaction within a transaction").
        let tx = self
            .conn
            .unchecked_transaction()
            .map_err(sqlite("begin a read transaction"))?;
        let value = f(&Tx {
            conn: &tx,
            path: &self.path,
            writable: false,
        })?;
        tx.finish().map_err(sqlite("end a read transaction"))?;
        Ok(value)
    }

    /// SQLite's `PRAGMA data_version` on this connection: it changes when
    /// another connection commits, so a long-lived reader can tell cheaply
    /// whether to look for new vectors.
    pub fn data_version(&self) -> Result<i64> {
        self.conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))
            .map_err(|source| Error::sqlite(&self.path, "read data_version", source))
    }

    /// Creates a new catalog at `path` so that it appears whole: made and
    /// migrated under a temporary name in the same folder, then linked into
    /// place. A reader racing the first `hark index` therefore finds either no
    /// catalog or one at the current schema, never a file at schema version 0.
    /// `hard_link` fails if `path` exists, so a concurrent creator that got
    /// there first keeps its catalog (rename would replace it) and this one
    /// opens it instead.
    pub(crate) fn create_whole(dir: &Path, path: &Path) -> Result<()> {
        let temp = dir.join(format!("{FILE_NAME}.new-{}", std::process::id()));
        let open = |what| {
            let path = temp.clone();
            move |source| Error::open(&path, what, source)
        };
        let _ = std::fs::remove_file(&temp);
        {
            let mut conn = Connection::open(&temp).map_err(open("create the file"))?;
            // WAL is recorded in the file, so the linked catalog opens in WAL
            // mode; closing the only connection checkpoints and removes the WAL.
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0))
                .map_err(open("set journal_mode=WAL"))?;
            schema::migrate(&mut conn, &temp)?;
            conn.close()
                .map_err(|(_, e)| open("close the new catalog")(e))?;
        }
        let io = |source| Error::Create {
            path: path.to_owned(),
            source,
        };
        std::fs::File::open(&temp)
            .and_then(|f| f.sync_all())
            .map_err(io)?;
        let linked = std::fs::hard_link(&temp, path);
        let _ = std::fs::remove_file(&temp);
        match linked {
            Ok(()) => {
                // The new name is durable once the folder is synced.
                let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(io(e)),
        }
    }

    /// Opens a catalog at an older schema version, for upgrade tests.
    #[cfg(test)]
    pub(crate) fn create_at_version(dir: &Path, version: u32) -> Result<Connection> {
        let path = dir.join(FILE_NAME);
        let mut conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        schema::migrate_to(&mut conn, &path, version)?;
        Ok(conn)
    }
}

/// [`Catalog::check`] on a connection.
fn check(conn: &Connection, path: &Path) -> Result<()> {
    let found: String = conn
        .query_row("PRAGMA quick_check(1)", [], |r| r.get(0))
        .map_err(|e| Error::open(path, "check the file", e))?;
    if found == "ok" {
        Ok(())
    } else {
        // One line (`Tree 20 page 27: btreeInitPage() returns error code
        // 11`), without the `*** in database main ***` heading.
        let cause = found.lines().filter(|l| !l.starts_with("***"));
        Err(Error::Damaged {
            path: path.to_owned(),
            cause: cause.collect::<Vec<_>>().join("; "),
        })
    }
}

/// A transaction on the catalog, given to the closures of
/// [`Catalog::transaction`] (read-write) and [`Catalog::read`] (read-only).
pub struct Tx<'a> {
    pub(crate) conn: &'a Connection,
    pub(crate) path: &'a Path,
    pub(crate) writable: bool,
}

impl Tx<'_> {
    /// An [`Error::Sqlite`] maker for `map_err`, saying what failed.
    pub(crate) fn err(&self, what: &'static str) -> impl FnOnce(rusqlite::Error) -> Error + '_ {
        move |source| Error::sqlite(self.path, what, source)
    }

    /// Refuses a write through a read snapshot with [`Error::ReadOnly`].
    pub(crate) fn check_writable(&self, what: &'static str) -> Result<()> {
        if self.writable {
            Ok(())
        } else {
            Err(Error::ReadOnly {
                path: self.path.to_owned(),
                what,
            })
        }
    }

    /// An [`Error::Corrupt`]: stored data breaking an invariant.
    pub(crate) fn corrupt(&self, what: String) -> Error {
        Error::Corrupt {
            path: self.path.to_owned(),
            what,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upgrade_from_each_older_version() {
        for version in 1..=SCHEMA_VERSION {
            let dir = tempfile::tempdir().unwrap();
            {
                let conn = Catalog::create_at_version(dir.path(), version).unwrap();
                assert_eq!(schema::version(&conn).unwrap(), version);
                // Data as version 1 wrote it must survive every upgrade.
                conn.execute(
                    "INSERT INTO roots (path, added_at) VALUES (CAST('/lib' AS BLOB), 7)",
                    [],
                )
                .unwrap();
            }
            let catalog = Catalog::open(dir.path()).unwrap();
            assert_eq!(schema::version(&catalog.conn).unwrap(), SCHEMA_VERSION);
            let roots = catalog.roots().unwrap();
            assert_eq!(roots.len(), 1);
            assert_eq!(roots[0].path, Path::new("/lib"));
            assert_eq!(roots[0].added_at, 7);
        }
    }

    #[test]
    fn fresh_file_migrates_from_zero() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Catalog::create_at_version(dir.path(), 0).unwrap();
        assert_eq!(schema::version(&conn).unwrap(), 0);
        drop(conn);
        let catalog = Catalog::open(dir.path()).unwrap();
        assert_eq!(schema::version(&catalog.conn).unwrap(), SCHEMA_VERSION);
    }

    #[test]
    fn readonly_refuses_older_schema() {
        let dir = tempfile::tempdir().unwrap();
        drop(Catalog::create_at_version(dir.path(), 0).unwrap());
        match Catalog::open_readonly(dir.path()) {
            Err(Error::TooOld {
                found, supported, ..
            }) => {
                assert_eq!((found, supported), (0, SCHEMA_VERSION));
            }
            other => panic!("expected TooOld, got {:?}", other.map(|_| ())),
        }
    }
}
