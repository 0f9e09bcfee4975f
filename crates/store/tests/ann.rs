//! The ANN cache and the vector searcher, through the public API: recall,
//! the stale/delta bookkeeping, refresh decisions, crash leftovers, damaged
//! files, model changes and reloading.

mod common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::{add_files, catalog, exact, Clusters, DIM, MODEL, PIPELINE};
use hark_store::ann::{
    refresh_ann, Allow, AnnAction, SearchMode, VectorSearcher, EXACT_THRESHOLD, REBUILD_FRACTION,
};
use hark_store::{Catalog, FileId, FileRecord, PointId, RootId};

/// The catalog's current vectors of MODEL, for exact reference answers.
fn current(catalog: &Catalog, model: &str) -> Vec<(FileId, Vec<f32>)> {
    let mut all = Vec::new();
    catalog
        .vectors(model, PIPELINE, |id, v| all.push((id.file(), v.to_vec())))
        .unwrap();
    all
}

const FIXTURE_SEED: u64 = 1;

/// A catalog of 20k clustered vectors (200 clusters) with a graph built
/// over them, made once per test run and copied by each test that needs
/// it: building a 20k graph is the slow part of these tests.
///
/// A static is never dropped, so the fixture lives in the target's temp
/// directory under this process's id, and fixtures of test processes that
/// are gone are deleted when a new one is made.
fn fixture() -> &'static Path {
    static FIXTURE: OnceLock<PathBuf> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let parent = Path::new(env!("CARGO_TARGET_TMPDIR"));
        for entry in std::fs::read_dir(parent).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name.strip_prefix("hark-store-ann-fixture-") {
                if !Path::new("/proc").join(pid).exists() {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
        let dir = parent.join(format!("hark-store-ann-fixture-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut catalog = Catalog::open(&dir).unwrap();
        let root = catalog
            .transaction(|tx| tx.add_root(Path::new("/lib")))
            .unwrap();
        let mut gen = Clusters::new(FIXTURE_SEED, 200, DIM);
        add_files(&mut catalog, root, 0, &gen.take(EXACT_THRESHOLD), MODEL);
        let report = refresh_ann(&catalog, &dir, MODEL, PIPELINE).unwrap();
        assert_eq!(report.action, AnnAction::Built, "{report:?}");
        assert_eq!(report.indexed, EXACT_THRESHOLD);
        // Closing the last connection folds the WAL into the file.
        drop(catalog);
        dir
    })
}

/// A private copy of the fixture (with or without its graph), its
/// catalog, root, file ids, and a generator of held-out points from the
/// same clusters.
fn indexed(with_graph: bool) -> (tempfile::TempDir, Catalog, RootId, Clusters, Vec<FileId>) {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(fixture()).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if with_graph || !name.starts_with("ann") {
            std::fs::copy(entry.path(), dir.path().join(&name)).unwrap();
        }
    }
    let catalog = Catalog::open(dir.path()).unwrap();
    let root = catalog.roots().unwrap()[0].id;
    let ids = current(&catalog, MODEL)
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let mut gen = Clusters::new(FIXTURE_SEED, 200, DIM);
    gen.reseed(FIXTURE_SEED + 1000);
    (dir, catalog, root, gen, ids)
}

#[test]
fn recall_at_10_on_20k_clustered_vectors() {
    let (dir, catalog, _root, mut gen, _) = indexed(true);
    let searcher = VectorSearcher::open(&catalog, dir.path(), MODEL, PIPELINE).unwrap();
    assert_eq!(searcher.mode(), SearchMode::Ann);
    assert_eq!(searcher.len(), EXACT_THRESHOLD);
    let all = current(&catalog, MODEL);
    let queries = gen.take(200);
    let mut found = 0;
    for q in &queries {
        let truth: HashSet<FileId> = exact(&all, q, 10).into_iter().map(|h| h.0).collect();
        let got = searcher.search(q, 10, None).unwrap();
        assert_eq!(got.len(), 10);
        found += got.iter().filter(|h| truth.contains(&h.0.file())).count();
    }
    let recall = found as f64 / (10 * queries.len()) as f64;
    assert!(recall >= 0.98, "recall@10 = {recall:.4}");
}

#[test]
fn exact_mode_below_the_threshold_is_exact() {
    let (dir, mut catalog, root) = catalog();
    let mut gen = Clusters::new(2, 20, DIM);
    add_files(&mut catalog, root, 0, &gen.take(3000), MODEL);
    let report = refresh_ann(&catalog, dir.path(), MODEL, PIPELINE).unwrap();
    assert_eq!(report.action, AnnAction::NotNeeded);
    assert!(!dir.path().join("ann.json").exists());
    let searcher = VectorSearcher::open(&catalog, dir.path(), MODEL, PIPELINE).unwrap();
    assert_eq!(searcher.mode(), SearchMode::Exact);
    let all = current(&catalog, MODEL);
    for q in gen.take(20) {
        let want = exact(&all, &q, 7);
        let got = searcher.search(&q, 7, None).unwrap();
        assert_eq!(
            got.iter().map(|h| h.0.file()).collect::<Vec<_>>(),
            want.iter().map(|h| h.0).collect::<Vec<_>>()
        );
        for (g, w) in got.iter().zip(&want) {
            assert!((g.1 as f64 - w.1).abs() < 1e-5, "{g:?} vs {w:?}");
        }
    }
}

#[test]
fn stale_and_new_vectors_follow_the_catalog() {
    let n = EXACT_THRESHOLD;
    let (dir, mut catalog, root, mut gen, ids) = indexed(true);
    let mut searcher = VectorSearcher::open(&catalog, dir.path(), MODEL, PIPELINE).unwrap();
    // A wide search, so that the graph's answers are exact and can be
    // compared with an exact scan id for id.
    searcher.set_ef_search(4000);
    assert!(!searcher.reload_if_changed().unwrap());

    // Delete 300 files, rewrite 300 vectors, add 300 files: 4.5% changed.
    let deleted: Vec<FileId> = ids[..300].to_vec();
    let old_of_deleted: Vec<Vec<f32>> = deleted
        .iter()
        .map(|id| searcher.vector(*id).unwrap())
        .collect();
    catalog.transaction(|tx| tx.remove_files(&deleted)).unwrap();
    let rewritten: Vec<FileId> = ids[300..600].to_vec();
    let old_of_rewritten: Vec<Vec<f32>> = rewritten
        .iter()
        .map(|id| searcher.vector(*id).unwrap())
        .collect();
    let new_vectors = gen.take(300);
    catalog
        .transaction(|tx| {
            for (id, v) in rewritten.iter().zip(&new_vectors) {
                tx.set_vector(*id, MODEL, PIPELINE, v)?;
            }
            Ok::<_, hark_store::Error>(())
        })
        .unwrap();
    let added = add_files(&mut catalog, root, n, &gen.take(300), MODEL);

    assert!(searcher.reload_if_changed().unwrap());
    assert_eq!(searcher.mode(), SearchMode::Ann);
    assert_eq!(searcher.len(), n);
    for (id, v) in rewritten.iter().zip(&new_vectors) {
        assert_eq!(searcher.vector(*id).as_ref(), Some(v));
    }
    for id in &deleted {
        assert_eq!(searcher.vector(*id), None);
    }

    let all = current(&catalog, MODEL);
    let gone: HashSet<FileId> = deleted.iter().copied().collect();
    let mut queries = gen.take(20);
    queries.extend(old_of_deleted.iter().take(20).cloned());
    queries.extend(old_of_rewritten.iter().take(20).cloned());
    queries.extend(new_vectors.iter().take(10).cloned());
    for q in &queries {
        let want = exact(&all, q, 10);
        let got = searcher.search(q, 10, None).unwrap();
        assert!(
            got.iter().all(|h| !gone.contains(&h.0.file())),
            "a deleted file came back"
        );
        assert_eq!(
            got.iter().map(|h| h.0.file()).collect::<Vec<_>>(),
            want.iter().map(|h| h.0).collect::<Vec<_>>()
        );
        for (g, w) in got.iter().zip(&want) {
            assert!((g.1 as f64 - w.1).abs() < 1e-5, "{g:?} vs {w:?}");
        }
    }
    // A rewritten vector's new value finds its file first; an added one too.
    for (id, v) in rewritten.iter().zip(&new_vectors).take(5) {
        assert_eq!(searcher.search(v, 1, None).unwrap()[0].0.file(), *id);
    }
    let added_vector = searcher.vector(added[0]).unwrap();
    assert_eq!(
        searcher.search(&added_vector, 1, None).unwrap()[0].0.file(),
        added[0]
    );

    // The writer keeps this graph: 900 changes are under 15% of 20k.
    let report = refresh_ann(&catalog, dir.path(), MODEL, PIPELINE).unwrap();
    assert_eq!(report.action, AnnAction::Kept, "{report:?}");
    assert_eq!((report.stale, report.delta), (600, 600));
    assert_eq!(report.vectors, n);
}

#[test]
fn refresh_keeps_under_the_limit_and_rebuilds_over_it() {
    let n = EXACT_THRESHOLD;
    let (dir, mut catalog, root, mut gen, ids) = indexed(true);
    let limit = (REBUILD_FRACTION * n as f64) as usize;
    // Just under the limit: stale + delta = limit.
    let rewritten = &ids[..limit / 2];
    catalog
        .transaction(|tx| {
            for id in rewritten {
                tx.set_vector(*id, MODEL, PIPELINE, &gen.sample())?;
            }
            Ok::<_, hark_store::Error>(())
        })
        .unwrap();
    let report = refresh_ann(&catalog, dir.path(), MODEL, PIPELINE).unwrap();
    assert_eq!(report.action, AnnAction::Kept, "{report:?}");
    assert_eq!(report.stale + report.delta, limit);
    let before = std::fs::read_to_string(dir.path().join("ann.json")).unwrap();

    // One more new file tips it over.
    add_files(&mut catalog, root, n, &gen.take(1), MODEL);
    let report = refresh_ann(&catalog, dir.path(), MODEL, PIPELINE).unwrap();
    assert!(matches!(report.action, AnnAction::Rebuilt(_)), "{report:?}");
    assert_eq!(report.indexed, n + 1);
    let after = std::fs::read_to_string(dir.path().join("ann.json")).unwrap();
    assert_ne!(before, after);
    // The old generation's files are gone; the new one's are there.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("ann-"))
        .collect();
    let mut names = names;
    names.sort();
    assert_eq!(names, vec!["ann-2.graph"]);
    // And a reader sees a graph without stale entries or delta.
    let searcher = VectorSearcher::open(&catalog, dir.path(), MODEL, PIPELINE).unwrap();
    assert_eq!(searcher.mode(), SearchMode::Ann);
    assert_eq!(searcher.len(), n + 1);
}

#[test]
fn leftover_temporary_files_are_ignored_and_removed() {
    let (dir, mut catalog, root) = catalog();
    let mut gen = Clusters::new(5, 10, DIM);
    add_files(&mut catalog, root, 0, &gen.take(50), MODEL);
    // What a writer killed mid-build leaves: half-written dumps and manifest.
    let leftovers = [
        "ann-tmp-4242-1.graph",
        "ann-tmp-4242-1.hnsw.data",
        "ann.json.tmp-4242",
    ];
    for name in leftovers {
        std::fs::write(dir.path().join(name), b"half written").unwrap();
    }
    let searcher = VectorSearcher::open(&catalog, dir.path(), MODEL, PIPELINE).unwrap();
    assert_eq!(searcher.mode(), SearchMode::Exact);
    assert_eq!(searcher.ann_problem(), None);
    assert_eq!(searcher.len(), 50);
    let report = refresh_ann(&catalog, dir.path(), MODEL, PIPELINE).unwrap();
    assert_eq!(report.leftovers_removed, 3);
    for name in leftovers {
        assert!(!dir.path().join(name).exists(), "{name} left behind");
    }
}

fn truncate(path: &Path, keep: f64) {
    let bytes = std::fs::read(path).unwrap();
    std::fs::write(path, &bytes[..(bytes.len() as f64 * keep) as usize]).unwrap();
}

const GRAPH: &str = "ann-1.graph";

fn read_manifest(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("ann.json")).unwrap()).unwrap()
}

/// Makes the manifest agree with the graph file as it now is (size and
/// hash of its prefix), so that only the file's own checks can catch the
/// damage.
fn update_manifest(dir: &Path) {
    let bytes = std::fs::read(dir.join(GRAPH)).unwrap();
    let mut manifest = read_manifest(dir);
    let hashed = (manifest["graph"]["hashed_bytes"].as_u64().unwrap() as usize).min(bytes.len());
    manifest["graph"]["bytes"] = bytes.len().into();
    manifest["graph"]["blake3"] = blake3::hash(&bytes[..hashed]).to_hex().to_string().into();
    std::fs::write(dir.join("ann.json"), manifest.to_string()).unwrap();
}

fn le_u64(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap())
}

/// Overwrites `new` at byte `at` of the graph file, behind the checksum.
fn patch_graph(dir: &Path, at: impl Fn(&[u8]) -> usize, new: &[u8]) {
    let path = dir.join(GRAPH);
    let mut bytes = std::fs::read(&path).unwrap();
    let at = at(&bytes);
    bytes[at..at + new.len()].copy_from_slice(new);
    std::fs::write(&path, bytes).unwrap();
    update_manifest(dir);
}

/// The byte offset of level 0's first neighbour index, by the layout in
/// index-format.md: the level table follows the 64-byte header, level 0's
/// section holds n + 1 row offsets and then the neighbours.
fn first_level0_neighbour(bytes: &[u8]) -> usize {
    let n = le_u64(bytes, 16) as usize;
    let level0 = le_u64(bytes, 64 + 16) as usize;
    level0 + 4 * (n + 1)
}

#[test]
fn a_damaged_graph_falls_back_to_an_exact_scan_and_is_rebuilt() {
    let (dir, catalog, _root, mut gen, _) = indexed(true);
    let all = current(&catalog, MODEL);
    let pristine: Vec<(String, Vec<u8>)> = ["ann.json", GRAPH]
        .iter()
        .map(|n| (n.to_string(), std::fs::read(dir.path().join(n)).unwrap()))
        .collect();
    type Damage = Box<dyn Fn(&Path)>;
    // What each damage does, and a word the reason must contain.
    let damages: Vec<(&str, Damage, &str)> = vec![
        (
            "truncated graph",
            Box::new(|d| truncate(&d.join(GRAPH), 0.5)),
            "the manifest says",
        ),
        (
            "truncated behind the checksum",
            Box::new(|d| {
                truncate(&d.join(GRAPH), 0.7);
                update_manifest(d);
            }),
            "header implies",
        ),
        (
            "flipped byte in the adjacency",
            Box::new(|d| {
                let path = d.join(GRAPH);
                let mut bytes = std::fs::read(&path).unwrap();
                let at = first_level0_neighbour(&bytes);
                bytes[at] ^= 0x01;
                std::fs::write(&path, bytes).unwrap();
            }),
            "checksum",
        ),
        (
            "neighbour index out of range",
            Box::new(|d| patch_graph(d, first_level0_neighbour, &u32::MAX.to_le_bytes())),
            "neighbour index is out of range",
        ),
        (
            "wrong magic",
            Box::new(|d| patch_graph(d, |_| 0, b"NOTHARK!")),
            "wrong magic",
        ),
        (
            "wrong version",
            Box::new(|d| patch_graph(d, |_| 8, &99u32.to_le_bytes())),
            "version 99",
        ),
        (
            "garbage manifest",
            Box::new(|d| std::fs::write(d.join("ann.json"), b"{\"format\": 2,").unwrap()),
            "does not parse",
        ),
        (
            "manifest of format 1",
            Box::new(|d| {
                let mut manifest = read_manifest(d);
                manifest["format"] = 1.into();
                std::fs::write(d.join("ann.json"), manifest.to_string()).unwrap();
            }),
            "format 1 (this hark reads 3)",
        ),
        (
            "missing graph",
            Box::new(|d| std::fs::remove_file(d.join(GRAPH)).unwrap()),
            "is missing",
        ),
    ];
    for (what, damage, reason) in &damages {
        for (name, bytes) in &pristine {
            std::fs::write(dir.path().join(name), bytes).unwrap();
        }
        damage(dir.path());
        let searcher = VectorSearcher::open(&catalog, dir.path(), MODEL, PIPELINE).unwrap();
        assert_eq!(searcher.mode(), SearchMode::Exact, "{what}");
        let problem = searcher.ann_problem().unwrap_or_default().to_owned();
        assert!(problem.contains(reason), "{what}: {problem}");
        let q = gen.sample();
        let want: Vec<FileId> = exact(&all, &q, 5).into_iter().map(|h| h.0).collect();
        let got: Vec<FileId> = searcher
            .search(&q, 5, None)
            .unwrap()
            .into_iter()
            .map(|h| h.0.file())
            .collect();
        assert_eq!(got, want, "{what}");
    }
    // The writer replaces the damaged graph (the last damage is in place).
    let report = refresh_ann(&catalog, dir.path(), MODEL, PIPELINE).unwrap();
    assert!(
        matches!(&report.action, AnnAction::Rebuilt(why) if why.contains("unusable")),
        "{report:?}"
    );
    let searcher = VectorSearcher::open(&catalog, dir.path(), MODEL, PIPELINE).unwrap();
    assert_eq!(searcher.mode(), SearchMode::Ann);
    assert_eq!(searcher.ann_problem(), None);
}

/// An index written by hark before the graph file (manifest format 1,
/// hnsw_rs's dump files): readers report it incompatible and scan exactly,
/// and the next refresh rebuilds it and deletes the old files.
#[test]
fn a_format_1_cache_is_reported_and_replaced() {
    let (dir, catalog, _root, mut gen, _) = indexed(false);
    let d = dir.path();
    // The manifest as format 1 wrote it (field for field), and its files.
    let old = serde_json::json!({
        "format": 1, "generation": 4, "model": MODEL, "pipeline": PIPELINE,
        "dim": DIM, "count": EXACT_THRESHOLD, "built_seq": 1,
        "max_nb_connection": 32, "ef_construction": 100,
        "distance": "hark_store::ann::kernel::UnitDot", "byte_order": "little",
        "pointer_bits": 64, "hnsw_rs": "0.3.5", "orphans": [],
        "graph": {"name": "ann-4.hnsw.graph", "bytes": 3, "blake3": "00"},
        "data": {"name": "ann-4.hnsw.data", "bytes": 3, "blake3": "00"},
        "built_at": 0, "build_seconds": 1.0
    });
    std::fs::write(d.join("ann.json"), old.to_string()).unwrap();
    std::fs::write(d.join("ann-4.hnsw.graph"), b"old").unwrap();
    std::fs::write(d.join("ann-4.hnsw.data"), b"old").unwrap();

    let searcher = VectorSearcher::open(&catalog, d, MODEL, PIPELINE).unwrap();
    assert_eq!(searcher.mode(), SearchMode::Exact);
    let problem = searcher.ann_problem().unwrap();
    assert!(
        problem.contains("format 1 (this hark reads 3)"),
        "{problem}"
    );
    assert_eq!(searcher.search(&gen.sample(), 5, None).unwrap().len(), 5);

    let report = refresh_ann(&catalog, d, MODEL, PIPELINE).unwrap();
    assert!(
        matches!(&report.action, AnnAction::Rebuilt(why) if why.contains("format 1")),
        "{report:?}"
    );
    let mut names: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("ann-"))
        .collect();
    names.sort();
    assert_eq!(names, vec!["ann-5.graph"]);
    let searcher = VectorSearcher::open(&catalog, d, MODEL, PIPELINE).unwrap();
    assert_eq!(searcher.mode(), SearchMode::Ann);
    assert_eq!(searcher.ann_problem(), None);
}

#[test]
fn a_graph_of_another_model_is_ignored_then_replaced() {
    let (dir, mut catalog, root, mut gen, _) = indexed(true);
    // A few files embedded by another model.
    let other = "other/model@1";
    add_files(&mut catalog, root, EXACT_THRESHOLD, &gen.take(40), other);
    let searcher = VectorSearcher::open(&catalog, dir.path(), other, PIPELINE).unwrap();
    assert_eq!(searcher.mode(), SearchMode::Exact);
    assert_eq!(searcher.ann_problem(), None);
    assert_eq!(searcher.len(), 40);
    let q = gen.sample();
    let want: Vec<FileId> = exact(&current(&catalog, other), &q, 5)
        .into_iter()
        .map(|h| h.0)
        .collect();
    let got: Vec<FileId> = searcher
        .search(&q, 5, None)
        .unwrap()
        .into_iter()
        .map(|h| h.0.file())
        .collect();
    assert_eq!(got, want);
    // The writer for the new model drops the old model's graph (the new
    // one has too few vectors for one of its own).
    let report = refresh_ann(&catalog, dir.path(), other, PIPELINE).unwrap();
    assert_eq!(report.action, AnnAction::Removed);
    assert!(!dir.path().join("ann.json").exists());
    assert!(!dir.path().join(GRAPH).exists());
}

#[test]
fn a_filter_still_gets_k_hits() {
    let (dir, catalog, _root, mut gen, ids) = indexed(true);
    let searcher = VectorSearcher::open(&catalog, dir.path(), MODEL, PIPELINE).unwrap();
    let all = current(&catalog, MODEL);
    // Allow 1 file in 500: nearly every graph candidate is rejected.
    let allowed: HashSet<FileId> = ids.iter().copied().step_by(500).collect();
    let allow = |id: FileId| allowed.contains(&id);
    let subset: Vec<(FileId, Vec<f32>)> = all
        .iter()
        .filter(|(id, _)| allowed.contains(id))
        .cloned()
        .collect();
    // Whether the caller says how many pass (then it scans them without
    // asking the graph) or not (the graph's candidates show the share).
    for passing in [None, Some(subset.len())] {
        let filter = Allow {
            test: &allow,
            passing,
        };
        for q in gen.take(5) {
            let got = searcher.search(&q, 10, Some(filter)).unwrap();
            let want: Vec<FileId> = exact(&subset, &q, 10).into_iter().map(|h| h.0).collect();
            assert_eq!(
                got.iter().map(|h| h.0.file()).collect::<Vec<_>>(),
                want,
                "{passing:?}"
            );
        }
    }
    // A filter that passes a third: the graph still gives 10 allowed hits,
    // whatever the caller knows of the count (an upper bound is allowed).
    let third = |id: FileId| id.0 % 3 == 0;
    let thirds = ids.iter().filter(|id| third(**id)).count();
    for passing in [None, Some(thirds), Some(ids.len())] {
        let filter = Allow {
            test: &third,
            passing,
        };
        for q in gen.take(5) {
            let got = searcher.search(&q, 10, Some(filter)).unwrap();
            assert_eq!(got.len(), 10, "{passing:?}");
            assert!(got.iter().all(|h| third(h.0.file())));
        }
    }
    // A filter that allows everything changes nothing.
    let q = gen.sample();
    assert_eq!(
        searcher
            .search(&q, 10, Some(Allow::new(&|_| true)))
            .unwrap(),
        searcher.search(&q, 10, None).unwrap()
    );
}

#[test]
fn a_reader_picks_up_new_vectors_and_a_new_graph() {
    // The fixture's catalog without its graph: searched exactly.
    let (dir, mut catalog, root, mut gen, _) = indexed(false);
    let mut searcher = VectorSearcher::open(&catalog, dir.path(), MODEL, PIPELINE).unwrap();
    assert_eq!(searcher.mode(), SearchMode::Exact);
    assert!(!searcher.reload_if_changed().unwrap());

    let added = add_files(&mut catalog, root, EXACT_THRESHOLD, &gen.take(20), MODEL);
    assert!(searcher.reload_if_changed().unwrap());
    assert_eq!(searcher.len(), EXACT_THRESHOLD + 20);
    let v = searcher.vector(added[3]).unwrap();
    assert_eq!(searcher.search(&v, 1, None).unwrap()[0].0.file(), added[3]);
    assert!(!searcher.reload_if_changed().unwrap());

    // The cron run's refresh publishes a graph: the reader switches to it.
    let report = refresh_ann(&catalog, dir.path(), MODEL, PIPELINE).unwrap();
    assert_eq!(report.action, AnnAction::Built);
    assert!(searcher.reload_if_changed().unwrap());
    assert_eq!(searcher.mode(), SearchMode::Ann);
    assert_eq!(searcher.len(), EXACT_THRESHOLD + 20);
    assert_eq!(searcher.search(&v, 1, None).unwrap()[0].0.file(), added[3]);
}

#[test]
fn bad_queries_are_errors() {
    let (dir, mut catalog, root) = catalog();
    let mut gen = Clusters::new(10, 5, DIM);
    add_files(&mut catalog, root, 0, &gen.take(10), MODEL);
    let searcher = VectorSearcher::open(&catalog, dir.path(), MODEL, PIPELINE).unwrap();
    assert!(matches!(
        searcher.search(&[1.0; 3], 5, None),
        Err(hark_store::Error::QueryDimension {
            expected: 512,
            found: 3
        })
    ));
    assert!(matches!(
        searcher.search(&[0.0; DIM], 5, None),
        Err(hark_store::Error::QueryNotFinite)
    ));
    assert!(searcher.search(&gen.sample(), 0, None).unwrap().is_empty());
    // Fewer vectors than k: all of them.
    assert_eq!(searcher.search(&gen.sample(), 50, None).unwrap().len(), 10);
}

#[test]
fn sequence_numbers_track_every_vector_change() {
    let (dir, mut catalog, root) = catalog();
    let raw = rusqlite::Connection::open(dir.path().join(hark_store::FILE_NAME)).unwrap();
    let seq = |id: FileId| -> i64 {
        raw.query_row("SELECT seq FROM vectors WHERE file_id = ?1", [id.0], |r| {
            r.get(0)
        })
        .unwrap()
    };
    let tombstones = || -> Vec<(i64, i64)> {
        let mut s = raw
            .prepare("SELECT seq, point FROM vector_tombstones ORDER BY seq")
            .unwrap();
        s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let ids = add_files(&mut catalog, root, 0, &[vec![1.0; 4], vec![0.5; 4]], MODEL);
    let (a, b) = (ids[0], ids[1]);
    assert!(seq(a) < seq(b));
    // A rewrite takes a new, higher number.
    let before = seq(b);
    catalog
        .transaction(|tx| tx.set_vector(a, MODEL, PIPELINE, &[0.0, 1.0, 0.0, 0.0]))
        .unwrap();
    assert!(seq(a) > before);
    // A new content hash deletes the vector: a tombstone.
    let mut r = FileRecord::new(root, "/lib/0.wav", 2, 2);
    r.content_hash = Some(b"changed".to_vec());
    catalog.transaction(|tx| tx.upsert_file(&r)).unwrap();
    let t = tombstones();
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].1, PointId::whole(a).0);
    assert!(t[0].0 > seq(b));
    // Removing a file deletes its vector by cascade: a tombstone too.
    catalog.transaction(|tx| tx.remove_files(&[b])).unwrap();
    let t = tombstones();
    assert_eq!(t.len(), 2);
    assert_eq!(t[1].1, PointId::whole(b).0);
    // A refresh below the threshold prunes them: no reader needs them.
    refresh_ann(&catalog, dir.path(), MODEL, PIPELINE).unwrap();
    assert!(tombstones().is_empty());
    let pruned: i64 = raw
        .query_row("SELECT pruned_through FROM vector_seq", [], |r| r.get(0))
        .unwrap();
    assert!(pruned >= t[1].0);
}

#[test]
fn searcher_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<VectorSearcher>();
}
