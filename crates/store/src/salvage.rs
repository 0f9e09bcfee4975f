//! Repairing a damaged catalog: [`repair`] sets the damaged file aside
//! (renamed, never deleted), builds a new catalog the way a first run does,
//! and copies into it every root, file row (with its tags and full-text
//! row), vector, fingerprint and model entry that can still be read,
//! keeping their ids. A file whose row survived keeps its vector and its
//! fingerprint. A file whose row was lost but whose content hash can still
//! be read from the `files_content_hash` index has its vectors held under
//! that hash (see [`crate::Held`]), and the run that follows gives them back
//! when it finds the same bytes again. So only what was lost is embedded
//! (or fingerprinted) again.
//!
//! SQLite's recovery extension is not in rusqlite's bundled build, so each
//! table is read row by row in rowid order; where a read fails (a page
//! overwritten), the scan looks for the first rowid past the damage that it
//! can seek to and goes on from there. `index-format.md` ("Repair")
//! describes the procedure for someone reading the directory.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection, OpenFlags, Statement};

use crate::{ann, held, meta, Catalog, Error, FileId, Result, Tx, FILE_NAME, SCHEMA_VERSION};

/// What [`repair`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repair {
    /// Where the damaged catalog now is, beside the new one
    /// (`catalog.damaged-<UTC time>.sqlite3`, with its `-wal` and `-shm`).
    pub damaged: PathBuf,
    /// Roots salvaged.
    pub roots: u64,
    /// File rows salvaged.
    pub files: u64,
    /// Vectors salvaged with their file: whole-file vectors and moments.
    pub vectors: u64,
    /// Vectors of lost file rows, held by content hash until the file is
    /// found again ([`crate::Held`]).
    pub held: u64,
    /// Fingerprints salvaged (schema version 4 on).
    pub fingerprints: u64,
    /// Stretches of rows that could not be read and were skipped.
    pub gaps: u64,
}

/// How a long file is cut into moments, for telling a file whose moments
/// all survived from one that lost some (the indexer's rule; see its
/// `moments` module).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MomentRule {
    /// Files longer than this many seconds have moments.
    pub long_file_s: f64,
    /// The last moment ends where the file ends, or at most this many
    /// seconds before.
    pub min_tail_s: f64,
}

impl MomentRule {
    /// Whether a whole-file vector with `moments` moments (numbered from 1
    /// without a gap), the last ending at `last_end_s`, is complete for a
    /// file of `duration_s` seconds. Without a duration, never: nothing
    /// tells whether moments were lost.
    pub fn complete(&self, duration_s: Option<f64>, moments: u32, last_end_s: Option<f64>) -> bool {
        match duration_s {
            None => false,
            Some(d) if d <= self.long_file_s => moments == 0,
            // A little slack for rounding between the header's duration and
            // the decoded length.
            Some(d) => {
                moments > 0 && last_end_s.is_some_and(|end| end >= d - self.min_tail_s - 0.05)
            }
        }
    }
}

/// The columns of `files`, in the order copied.
const FILE_COLUMNS: &str = "id, root_id, path, path_text, size, mtime_ns, content_hash, format, \
     codec, duration_s, sample_rate, channels, bits_per_sample, tags, ucs_cat_id, ucs_category, \
     ucs_subcategory, ucs_fx_name, peaks, status, error, indexed_at";

/// The columns of `vectors` a copy sets (`seq` is the new catalog's).
const VECTOR_COLUMNS: &str = "point, file_id, segment, start_s, end_s, model, pipeline, dim, data";

/// The same, read from a catalog of schema version 1 or 2 (one vector per
/// file, keyed by file).
const VECTOR_COLUMNS_V2: &str =
    "file_id * 1048576, file_id, 0, NULL, NULL, model, pipeline, dim, data";

/// Sets the damaged catalog in `dir` aside and builds a new one from what
/// can be read of it. The caller holds the index's writer lock. A file
/// whose moments did not all survive (by `moments`) keeps no vector at all,
/// so that the run that follows embeds it whole again. The ANN
/// cache is retired (the new catalog numbers its vectors afresh); the next
/// [`ann::refresh_ann`] builds a new one.
///
/// # Errors
///
/// [`Error::TooNew`] if the damaged catalog's header says a newer hark
/// wrote it (then nothing is moved); [`Error::SetAside`] if it cannot be
/// renamed; failures creating or writing the new catalog. Unreadable rows
/// are not errors: they are skipped and counted in [`Repair::gaps`].
pub fn repair(dir: &Path, moments: &MomentRule) -> Result<Repair> {
    let path = dir.join(FILE_NAME);
    if let Some(found) = header_version(&path).filter(|&v| v > SCHEMA_VERSION) {
        return Err(Error::TooNew {
            path,
            found,
            supported: SCHEMA_VERSION,
        });
    }
    let damaged = set_aside(dir, &path)?;
    ann::unpublish(dir)?;
    let mut catalog = Catalog::open(dir)?;
    let mut repair = Repair {
        damaged,
        roots: 0,
        files: 0,
        vectors: 0,
        held: 0,
        fingerprints: 0,
        gaps: 0,
    };
    // A file SQLite cannot open at all leaves nothing to salvage: the new
    // catalog starts empty and the run indexes everything again.
    let Ok(source) = Connection::open_with_flags(
        &repair.damaged,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    ) else {
        return Ok(repair);
    };
    let version = crate::schema::version(&source).unwrap_or(SCHEMA_VERSION);
    catalog.transaction(|tx| {
        copy_rows(&source, tx, &mut repair, version)?;
        if version >= 3 {
            repair.vectors -= drop_incomplete(tx, moments)?;
        }
        if version >= 4 {
            copy_fingerprints(&source, tx, &mut repair)?;
        }
        for key in [meta::MODEL, meta::MODEL_NAME, meta::PIPELINE] {
            let value = source.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| {
                r.get::<_, String>(0)
            });
            if let Ok(value) = value {
                tx.set_meta(key, &value)?;
            }
        }
        Ok::<_, Error>(())
    })?;
    Ok(repair)
}

/// Copies the readable roots, files and vectors of `source` into `tx`,
/// counting them in `repair`. Rows the new catalog refuses (a file whose
/// root was lost, a vector whose file was lost) are left out: the run
/// indexes those files again.
fn copy_rows(source: &Connection, tx: &Tx<'_>, repair: &mut Repair, version: u32) -> Result<()> {
    let err = |what| move |e| Error::sqlite(tx.path, what, e);
    let mut insert_root = tx
        .conn
        .prepare("INSERT INTO roots (id, path, added_at) VALUES (?1, ?2, ?3)")
        .map_err(err("salvage roots"))?;
    let mut roots = 0;
    let mut gaps = scan(
        source,
        "SELECT rowid, id, path, added_at FROM roots",
        |row| {
            roots += insert_root.execute(params_from_iter(row)).is_ok() as u64;
        },
    );

    let marks = vec!["?"; FILE_COLUMNS.split(',').count()].join(", ");
    let mut insert_file = tx
        .conn
        .prepare(&format!(
            "INSERT INTO files ({FILE_COLUMNS}) VALUES ({marks})"
        ))
        .map_err(err("salvage files"))?;
    let mut files = Vec::new();
    gaps += scan(
        source,
        &format!("SELECT rowid, {FILE_COLUMNS} FROM files"),
        |row| {
            if insert_file.execute(params_from_iter(row)).is_ok() {
                if let Some(Value::Integer(id)) = row.first() {
                    files.push(FileId(*id));
                }
            }
        },
    );
    for &id in &files {
        tx.refresh_fts(id)?;
    }
    repair.files = files.len() as u64;

    // The content hashes of the rows that were not copied, from the index
    // (its pages are apart from the table's): their vectors are held.
    let copied: HashSet<i64> = files.iter().map(|f| f.0).collect();
    let mut lost: HashMap<i64, Vec<u8>> = HashMap::new();
    gaps += lost_hashes(source, &copied, &mut lost);
    tx.conn
        .execute_batch(held::CREATE)
        .map_err(err("salvage vectors"))?;
    let mut insert_held = tx
        .conn
        .prepare(
            "INSERT INTO held_vectors (content_hash, segment, start_s, end_s, model, pipeline,
                                       dim, data)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .map_err(err("salvage vectors"))?;
    let mut held_whole = HashSet::new();
    let mut held = 0;

    let columns = if version >= 3 {
        VECTOR_COLUMNS
    } else {
        VECTOR_COLUMNS_V2
    };
    let marks = vec!["?"; VECTOR_COLUMNS.split(',').count()].join(", ");
    let mut insert_vector = tx
        .conn
        .prepare(&format!(
            "INSERT INTO vectors ({VECTOR_COLUMNS}) VALUES ({marks})"
        ))
        .map_err(err("salvage vectors"))?;
    let mut whole = HashSet::new();
    let mut vectors = 0;
    gaps += scan(
        source,
        &format!("SELECT rowid, {columns} FROM vectors"),
        |row| {
            let (Some(Value::Integer(file)), Some(Value::Integer(segment))) =
                (row.get(1), row.get(2))
            else {
                return;
            };
            if let Some(hash) = lost.get(file) {
                // As below: moments only after their file's whole vector.
                if *segment != 0 && !held_whole.contains(hash) {
                    return;
                }
                let values = std::iter::once(Value::Blob(hash.clone())).chain(row[2..].to_vec());
                if insert_held.execute(params_from_iter(values)).is_ok() {
                    held += 1;
                    if *segment == 0 {
                        held_whole.insert(hash.clone());
                    }
                }
                return;
            }
            // Moments without their file's whole vector are of no use: the
            // file is embedded again, moments and all.
            if *segment != 0 && !whole.contains(file) {
                return;
            }
            if insert_vector.execute(params_from_iter(row)).is_ok() {
                vectors += 1;
                if *segment == 0 {
                    whole.insert(*file);
                }
            }
        },
    );
    if held == 0 {
        drop(insert_held);
        tx.conn
            .execute_batch("DROP TABLE held_vectors")
            .map_err(err("salvage vectors"))?;
    }
    repair.roots = roots;
    repair.vectors = vectors;
    repair.held = held;
    repair.gaps = gaps;
    Ok(())
}

/// Deletes every vector of the files whose moments did not all survive;
/// returns how many.
fn drop_incomplete(tx: &Tx<'_>, rule: &MomentRule) -> Result<u64> {
    let err = |e| Error::sqlite(tx.path, "check salvaged moments", e);
    let mut stmt = tx
        .conn
        .prepare(
            "SELECT v.file_id, max(f.duration_s), sum(v.segment > 0), max(v.segment),
                    max(CASE WHEN v.segment > 0 THEN v.end_s END)
             FROM vectors v JOIN files f ON f.id = v.file_id
             GROUP BY v.file_id",
        )
        .map_err(err)?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Option<f64>>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, Option<f64>>(4)?,
            ))
        })
        .map_err(err)?;
    let mut partial = Vec::new();
    for row in rows {
        let (file, duration, moments, last, last_end) = row.map_err(err)?;
        let numbered = moments == last;
        let moments = u32::try_from(moments).unwrap_or(u32::MAX);
        // A file of unknown length keeps what it has: nothing tells a loss.
        let whole = duration.is_none() || (numbered && rule.complete(duration, moments, last_end));
        if !whole {
            partial.push(file);
        }
    }
    let mut dropped = 0;
    let mut delete = tx
        .conn
        .prepare("DELETE FROM vectors WHERE file_id = ?1")
        .map_err(err)?;
    for file in partial {
        dropped += delete.execute([file]).map_err(err)? as u64;
    }
    Ok(dropped)
}

/// Adds to `lost` the rowid and content hash of every row of `files` not
/// in `copied` that the `files_content_hash` index still lists, read from
/// the index alone (a covering scan: the table's pages are not read).
/// Returns 1 if the index could not be read to its end, else 0.
fn lost_hashes(
    source: &Connection,
    copied: &HashSet<i64>,
    lost: &mut HashMap<i64, Vec<u8>>,
) -> u64 {
    let Ok(mut stmt) = source.prepare(
        "SELECT rowid, content_hash FROM files INDEXED BY files_content_hash
         WHERE content_hash IS NOT NULL",
    ) else {
        return 1;
    };
    let Ok(mut rows) = stmt.query([]) else {
        return 1;
    };
    loop {
        match rows.next() {
            Ok(Some(row)) => {
                if let (Ok(id), Ok(hash)) = (row.get::<_, i64>(0), row.get::<_, Vec<u8>>(1)) {
                    if !copied.contains(&id) {
                        lost.insert(id, hash);
                    }
                }
            }
            Ok(None) => return 0,
            Err(_) => return 1,
        }
    }
}

/// Copies the readable fingerprints of `source` into `tx` (those of files
/// whose row was copied), counting them in `repair`: without them the run
/// would decode the whole library again. A fingerprint lost is computed
/// again by that run (its file is listed as lacking one).
fn copy_fingerprints(source: &Connection, tx: &Tx<'_>, repair: &mut Repair) -> Result<()> {
    let mut insert = tx
        .conn
        .prepare("INSERT INTO fingerprints (file_id, data) VALUES (?1, ?2)")
        .map_err(|e| Error::sqlite(tx.path, "salvage fingerprints", e))?;
    let mut copied = 0;
    repair.gaps += scan(
        source,
        "SELECT rowid, file_id, data FROM fingerprints",
        |row| {
            copied += insert.execute(params_from_iter(row)).is_ok() as u64;
        },
    );
    repair.fingerprints = copied;
    Ok(())
}

/// Calls `f` with the values of every row of `select` (which selects the
/// rowid first, then the columns to copy) that can be read, in rowid order,
/// skipping what cannot. Returns how many stretches were skipped.
fn scan(source: &Connection, select: &str, mut f: impl FnMut(&[Value])) -> u64 {
    let (Ok(mut from_stmt), Ok(mut probe)) = (
        source.prepare(&format!("{select} WHERE rowid >= ?1 ORDER BY rowid")),
        source.prepare(&format!(
            "{select} WHERE rowid >= ?1 ORDER BY rowid LIMIT 1"
        )),
    ) else {
        // The table's schema or root is unreadable: nothing of it is left.
        return 1;
    };
    let mut from = i64::MIN;
    let mut gaps = 0;
    loop {
        let mut next_unread = from;
        let damaged = match from_stmt.query([from]) {
            Err(_) => true,
            Ok(mut rows) => loop {
                match rows.next() {
                    Ok(Some(row)) => {
                        let values: rusqlite::Result<Vec<Value>> = (1..row.as_ref().column_count())
                            .map(|i| row.get::<_, Value>(i))
                            .collect();
                        let Ok(rowid) = row.get::<_, i64>(0) else {
                            break true;
                        };
                        if let Ok(values) = values {
                            f(&values);
                        }
                        match rowid.checked_add(1) {
                            Some(next) => next_unread = next,
                            None => break false,
                        }
                    }
                    Ok(None) => break false,
                    Err(_) => break true,
                }
            },
        };
        if !damaged {
            return gaps;
        }
        gaps += 1;
        match past_damage(&mut probe, next_unread) {
            Some(next) => from = next,
            None => return gaps,
        }
    }
}

/// The smallest rowid above `bad` that a seek reaches without error, if
/// any: found by doubling the step from `bad` until a seek works, then
/// halving back between the last failure and that success.
fn past_damage(probe: &mut Statement<'_>, bad: i64) -> Option<i64> {
    let mut seeks = |rowid: i64| -> bool {
        probe
            .query([rowid])
            .and_then(|mut rows| rows.next().map(|_| ()))
            .is_ok()
    };
    let mut failed = bad;
    let mut step = 1i64;
    let mut works = loop {
        let at = failed.saturating_add(step);
        if at == failed {
            return None;
        }
        if seeks(at) {
            break at;
        }
        failed = at;
        step = step.saturating_mul(2);
    };
    while works - failed > 1 {
        let mid = failed + (works - failed) / 2;
        if seeks(mid) {
            works = mid;
        } else {
            failed = mid;
        }
    }
    Some(works)
}

/// The schema version in a catalog file's header (`user_version`, bytes
/// 60..64), if the header can be read: it survives damage elsewhere.
fn header_version(path: &Path) -> Option<u32> {
    use std::io::Read;
    let mut header = [0u8; 64];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut header))
        .ok()?;
    header
        .starts_with(b"SQLite format 3\0")
        .then(|| u32::from_be_bytes([header[60], header[61], header[62], header[63]]))
}

/// Renames the catalog at `path`, with its `-wal` and `-shm`, to
/// `catalog.damaged-<UTC time>.sqlite3` in `dir` (a `-2`, `-3`, ... suffix
/// if that name is taken), and returns the new path.
fn set_aside(dir: &Path, path: &Path) -> Result<PathBuf> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let stamp = utc_stamp(now);
    let mut n = 1;
    let damaged = loop {
        let name = match n {
            1 => format!("catalog.damaged-{stamp}.sqlite3"),
            n => format!("catalog.damaged-{stamp}-{n}.sqlite3"),
        };
        let candidate = dir.join(name);
        if !candidate.exists() {
            break candidate;
        }
        n += 1;
    };
    let io = |from: &Path, source| Error::SetAside {
        path: from.to_owned(),
        to: damaged.clone(),
        source,
    };
    std::fs::rename(path, &damaged).map_err(|e| io(path, e))?;
    for suffix in ["-wal", "-shm"] {
        let from = sibling(path, suffix);
        match std::fs::rename(&from, sibling(&damaged, suffix)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(&from, e)),
            _ => {}
        }
    }
    let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    Ok(damaged)
}

/// `path` with `suffix` appended to its file name (`catalog.sqlite3-wal`).
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    name.into()
}

/// `secs` since the Unix epoch as a UTC time for a file name,
/// `20261203T014502Z`.
fn utc_stamp(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rest = secs % 86_400;
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_stamps() {
        assert_eq!(utc_stamp(0), "19700101T000000Z");
        assert_eq!(utc_stamp(951_782_400), "20000229T000000Z");
        assert_eq!(utc_stamp(1_796_265_902), "20261203T024502Z");
    }
}
