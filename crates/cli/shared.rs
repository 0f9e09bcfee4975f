//! `--catalog URL`: the shared catalog glue of the commands. Reading
//! commands bring the index directory's replica up to date first, and
//! answer from it (with one warning) when the server cannot be reached;
//! the TUI keeps it up to date every few seconds.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use hark_shared::replica::{self, Synced};
use hark_shared::{Address, Mounts, SharedCatalog};
use hark_store::Catalog;

use crate::output;
use crate::Cli;

/// How often the TUI brings its replica up to date.
pub const TUI_SYNC_EVERY: Duration = Duration::from_secs(5);

/// The shared catalog's address, if `--catalog` or `HARK_CATALOG` names one.
pub fn address(cli: &Cli) -> anyhow::Result<Option<Address>> {
    match &cli.catalog {
        None => Ok(None),
        Some(url) if url.is_empty() => Ok(None),
        Some(url) => Ok(Some(Address::resolve(url)?)),
    }
}

/// Before a reading command: brings the replica in `index_dir` up to date
/// when a shared catalog is set. If the server cannot be reached, says so
/// once (with the replica's age) and goes on with the replica as it is;
/// with no replica at all, that is an error.
pub fn refresh_replica(cli: &Cli, index_dir: &Path) -> anyhow::Result<()> {
    let Some(address) = address(cli)? else {
        return Ok(());
    };
    match sync(&address, index_dir) {
        Ok(_) => Ok(()),
        Err(e) if e.is_connection() => match replica::last_synced(index_dir) {
            Some(at) => {
                output::warn(&format!(
                    "{}; answering from the local replica, last brought up to date {}",
                    hark_tui::backend::error_chain(&e),
                    age(at)
                ));
                Ok(())
            }
            None => Err(anyhow::Error::new(e).context(format!(
                "no local replica of the shared catalog in `{}` yet, and the catalog cannot be reached",
                index_dir.display()
            ))),
        },
        Err(e) => Err(e.into()),
    }
}

/// One sync of the replica in `index_dir` (and its ANN cache when it
/// changed).
pub fn sync(address: &Address, index_dir: &Path) -> Result<Synced, hark_shared::Error> {
    std::fs::create_dir_all(index_dir).map_err(|source| hark_shared::Error::Io {
        path: index_dir.to_owned(),
        what: "create the index directory",
        source,
    })?;
    let mounts = Mounts::load(index_dir)?;
    let mut shared = SharedCatalog::open_readonly(address)?;
    // The whole-file check would read a large replica at every command.
    let mut local = Catalog::open_quick(index_dir)?;
    let synced = replica::sync(&mut shared, &mut local, index_dir, &mounts)?;
    if synced.changed() {
        replica::refresh_ann(&local, index_dir)?;
    }
    Ok(synced)
}

/// "3 min ago", "2 h ago".
fn age(at: SystemTime) -> String {
    let secs = SystemTime::now()
        .duration_since(at)
        .unwrap_or_default()
        .as_secs();
    match secs {
        0..=59 => format!("{secs} s ago"),
        60..=3599 => format!("{} min ago", secs / 60),
        3600..=172_799 => format!("{} h ago", secs / 3600),
        _ => format!("{} days ago", secs / 86_400),
    }
}

/// Keeps the replica in `index_dir` up to date every
/// [`TUI_SYNC_EVERY`] on a thread of its own, until the returned guard is
/// dropped. Failures are silent (the UI owns the terminal; the UI shows
/// the replica as it is, and the next round tries again).
pub fn keep_synced(address: Address, index_dir: PathBuf) -> anyhow::Result<SyncGuard> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    std::thread::Builder::new()
        .name("hark-replica".into())
        .spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                let _ = sync(&address, &index_dir);
                let mut slept = Duration::ZERO;
                while slept < TUI_SYNC_EVERY && !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(100));
                    slept += Duration::from_millis(100);
                }
            }
        })
        .context("start the replica's sync thread")?;
    Ok(SyncGuard(stop))
}

/// Stops [`keep_synced`]'s thread when dropped.
pub struct SyncGuard(Arc<AtomicBool>);

impl Drop for SyncGuard {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav(path: &Path, freq: f32) {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 16_000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(path, spec).unwrap();
        for n in 0..8_000 {
            let x = (std::f32::consts::TAU * freq * n as f32 / 16_000.0).sin();
            w.write_sample((x * 10_000.0) as i16).unwrap();
        }
        w.finalize().unwrap();
    }

    fn index(dir: &Path, address: &Address, add: &[(String, PathBuf)]) {
        let options = hark_indexer::Options::default();
        hark_indexer::run_shared(
            dir,
            address,
            add,
            &options,
            None,
            &mut |_: hark_indexer::Event<'_>| {},
        )
        .unwrap();
    }

    fn files(index_dir: &Path) -> u64 {
        Catalog::open_readonly(index_dir)
            .unwrap()
            .counts()
            .unwrap()
            .files
    }

    #[test]
    fn the_tui_s_sync_thread_brings_new_files_within_a_few_seconds_and_stops_with_its_guard() {
        let cluster = hark_pgtest::Cluster::start();
        let address = Address::resolve(&cluster.create_database("sfx")).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let lib = dir.path().join("lib");
        std::fs::create_dir_all(&lib).unwrap();
        wav(&lib.join("one.wav"), 200.0);
        // An indexing host records the library by name (no model here:
        // the files wait for vectors, and the replica has them by name).
        let server = dir.path().join("server");
        index(&server, &address, &[("sfx".into(), lib.clone())]);
        // A workstation mounts it; its replica starts with one file.
        let ws = dir.path().join("ws");
        let mut mounts = Mounts::default();
        mounts.set("sfx", &lib.canonicalize().unwrap());
        std::fs::create_dir_all(&ws).unwrap();
        mounts.save(&ws).unwrap();
        sync(&address, &ws).unwrap();
        assert_eq!(files(&ws), 1);

        let guard = keep_synced(address.clone(), ws.clone()).unwrap();
        wav(&lib.join("two.wav"), 300.0);
        index(&server, &address, &[]);
        let start = std::time::Instant::now();
        while files(&ws) < 2 {
            assert!(
                start.elapsed() < TUI_SYNC_EVERY * 3,
                "the replica did not follow within {:?}",
                TUI_SYNC_EVERY * 3
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        drop(guard);
        // Stopped: a later change stays out of the replica.
        std::thread::sleep(Duration::from_millis(300));
        wav(&lib.join("three.wav"), 400.0);
        index(&server, &address, &[]);
        std::thread::sleep(TUI_SYNC_EVERY + Duration::from_secs(1));
        assert_eq!(files(&ws), 2);
    }
}
