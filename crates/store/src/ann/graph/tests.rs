//! Tests of the graph file on a small hand-made graph: the round trip
//! through writing, mapping and searching, its bytes pinned, the surgery,
//! and damaged files rejected with a reason or searched without a panic.

use std::fs::File;
use std::path::Path;

use super::format::{Layout, Written, VECTOR_ALIGN};
use super::mapped::MappedGraph;
use super::surgery::{Csr, Graph};
use super::write::write_file;
use crate::Result;

/// A small hand-made graph: 6 points, 2 levels, point 5 an orphan.
fn sample() -> (Graph, Vec<Vec<f32>>) {
    let graph = Graph {
        ids: vec![10, 20, 30, 40, 50, 7],
        reachable: 5,
        entry: 2,
        levels: vec![
            Csr {
                members: vec![],
                offsets: vec![0, 2, 4, 7, 9, 10, 11],
                neighbours: vec![1, 2, 0, 2, 0, 1, 3, 2, 4, 3, 0],
            },
            Csr {
                members: vec![0, 2],
                offsets: vec![0, 1, 2],
                neighbours: vec![2, 0],
            },
        ],
    };
    let dim = 4;
    let vectors = (0..6)
        .map(|i| {
            let mut v = vec![0f32; dim];
            v[i % dim] = 1.0;
            v[(i + 1) % dim] = 0.5;
            v
        })
        .collect();
    (graph, vectors)
}

fn write_sample(dir: &Path) -> (std::path::PathBuf, Written, Graph, Vec<Vec<f32>>) {
    let (graph, vectors) = sample();
    let path = dir.join("g.graph");
    let written = write_file(&path, &graph, 4, |i| &vectors[i]).unwrap();
    (path, written, graph, vectors)
}

fn open(path: &Path, written: &Written) -> Result<MappedGraph> {
    MappedGraph::open(&File::open(path).unwrap(), path, written, 4)
}

#[test]
fn round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let (path, written, graph, vectors) = write_sample(dir.path());
    assert_eq!(written.hashed_bytes % VECTOR_ALIGN, 0);
    assert_eq!(written.bytes, written.hashed_bytes + 6 * 4 * 4);
    let mapped = open(&path, &written).unwrap();
    assert_eq!(mapped.to_graph(), graph);
    for (i, v) in vectors.iter().enumerate() {
        assert_eq!(mapped.vector(i), Some(&v[..]));
    }
    assert_eq!(mapped.find(7), Some(5));
    assert_eq!(mapped.find(30), Some(2));
    assert_eq!(mapped.find(31), None);
    // The best match of point 3's own vector is point 3, and the
    // orphan is never returned by the graph search.
    let hits = mapped.search(&vectors[3], 6, 6);
    assert_eq!(hits[0].0, 3);
    assert!(hits.iter().all(|h| h.0 < 5));
    // Prefaulting maps pages and warms caches; answers stay the same.
    mapped.prefault();
    assert_eq!(mapped.search(&vectors[3], 6, 6), hits);
}

/// The sample's file, byte for byte: a change to what `write` emits is
/// a change of the format (and of `VERSION`), never a side effect.
#[test]
fn sample_file_bytes_are_pinned() {
    let dir = tempfile::tempdir().unwrap();
    let (path, written, _, _) = write_sample(dir.path());
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes.len() as u64, written.bytes);
    assert_eq!(
        blake3::hash(&bytes).to_hex().as_str(),
        "2e9420cf6b9de612abb6a64b0db1eb3f5d7edc8bb51ee3f684142182b2c113f8"
    );
}

#[test]
fn reverse_edges_reach_a_point_that_only_links_out() {
    // 0 ↔ 1, and 2 → 0 with nothing back: 2 is unreachable from 0.
    let mut g = Graph {
        ids: vec![10, 20, 30],
        reachable: 3,
        entry: 0,
        levels: vec![Csr {
            members: Vec::new(),
            offsets: vec![0, 1, 2, 4],
            neighbours: vec![1, 0, 0, 1],
        }],
    };
    assert_eq!(g.reached(), [true, true, false]);
    assert_eq!(g.add_reverse_edges(1), 1);
    assert_eq!(g.reached(), [true, true, true]);
    assert_eq!(g.levels[0].row(0), [1, 2]);
    assert_eq!(g.levels[0].row(2), [0, 1]);
    // Already symmetric for the nearest: nothing more to add.
    assert_eq!(g.add_reverse_edges(1), 0);
}

#[test]
fn orphans_last_renumbers_consistently() {
    let (mut graph, _) = sample();
    graph.reachable = 6;
    let reached = graph.reached();
    // Point 5 has an edge out (to 0) but none in.
    assert_eq!(reached, vec![true, true, true, true, true, false]);
    let before = graph.clone();
    // Pretend 1 is the orphan, to see renumbering move a point that
    // has in- and out-edges.
    let order = graph.orphans_last(&[true, false, true, true, true, true]);
    assert_eq!(order, vec![0, 2, 3, 4, 5, 1]);
    assert_eq!(graph.reachable, 5);
    assert_eq!(graph.ids, vec![10, 30, 40, 50, 7, 20]);
    assert_eq!(graph.entry, 1);
    // Every edge survives, renumbered.
    for l in 0..2 {
        for (new, &old) in order.iter().enumerate() {
            let old_row = before.row_of(l, old);
            let new_row = graph.row_of(l, new as u32);
            assert_eq!(old_row.is_some(), new_row.is_some());
            if let (Some(o), Some(r)) = (old_row, new_row) {
                let mapped: Vec<u32> = before.levels[l]
                    .row(o)
                    .iter()
                    .map(|&q| order.iter().position(|&x| x == q).unwrap() as u32)
                    .collect();
                assert_eq!(graph.levels[l].row(r), &mapped[..]);
            }
        }
    }
}

/// Rewrites bytes of the file and the manifest's hash to match, so
/// only the structural checks can catch the damage.
fn patch(path: &Path, written: &mut Written, at: usize, bytes: &[u8]) {
    let mut data = std::fs::read(path).unwrap();
    data[at..at + bytes.len()].copy_from_slice(bytes);
    std::fs::write(path, &data).unwrap();
    written.blake3 = blake3::hash(&data[..written.hashed_bytes as usize])
        .to_hex()
        .to_string();
}

fn problem(path: &Path, written: &Written) -> String {
    match open(path, written) {
        Ok(_) => panic!("a damaged file was accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn damage_is_rejected_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (path, written, graph, _) = write_sample(dir.path());
    let pristine = std::fs::read(&path).unwrap();
    let reset = || std::fs::write(&path, &pristine).unwrap();
    let layout = Layout::new(6, 4, &[(6, 11), (2, 2)]).unwrap();
    let level0_neighbours = layout.levels[0] as usize + 4 * 7;
    let level1_neighbours = layout.levels[1] as usize + 4 * (2 + 3);

    let cases: Vec<(&str, usize, Vec<u8>, &str)> = vec![
        ("magic", 0, b"HARKHNSX".to_vec(), "magic"),
        ("version", 8, 2u32.to_le_bytes().to_vec(), "version 2"),
        (
            "neighbour out of range",
            level0_neighbours + 4,
            6u32.to_le_bytes().to_vec(),
            "neighbour",
        ),
        (
            "upper neighbour not on its level",
            level1_neighbours,
            1u32.to_le_bytes().to_vec(),
            "neighbour",
        ),
        (
            "offsets backwards",
            layout.levels[0] as usize + 4,
            9u32.to_le_bytes().to_vec(),
            "offsets",
        ),
        (
            "ids out of order",
            layout.ids as usize,
            25i64.to_le_bytes().to_vec(),
            "ascending",
        ),
        ("entry", 36, 5u32.to_le_bytes().to_vec(), "entry point"),
        ("dimension", 12, 8u32.to_le_bytes().to_vec(), "dimension"),
        ("points", 16, 7u64.to_le_bytes().to_vec(), "bytes"),
    ];
    for (what, at, bytes, reason) in cases {
        reset();
        let mut w = written.clone();
        patch(&path, &mut w, at, &bytes);
        let p = problem(&path, &w);
        assert!(p.contains(reason), "{what}: {p}");
    }

    // A flipped byte the manifest does not know about.
    reset();
    let mut data = pristine.clone();
    data[layout.ids as usize] ^= 1;
    std::fs::write(&path, &data).unwrap();
    assert!(problem(&path, &written).contains("checksum"));

    // Truncated: the size check, then (manifest updated) the header's.
    reset();
    std::fs::write(&path, &pristine[..pristine.len() - 4]).unwrap();
    assert!(problem(&path, &written).contains("manifest says"));
    let mut w = written.clone();
    w.bytes -= 4;
    assert!(problem(&path, &w).contains("header implies"));
    std::fs::write(&path, &pristine[..10]).unwrap();
    w.bytes = 10;
    assert!(problem(&path, &w).contains("too short"));

    reset();
    assert_eq!(open(&path, &written).unwrap().to_graph(), graph);
}

#[test]
fn damaged_vectors_give_wrong_results_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let (path, written, _, vectors) = write_sample(dir.path());
    let mut data = std::fs::read(&path).unwrap();
    let at = written.hashed_bytes as usize;
    for (i, chunk) in data[at..].chunks_exact_mut(4).enumerate() {
        let x = match i % 3 {
            0 => f32::NAN,
            1 => f32::INFINITY,
            _ => -0.0,
        };
        chunk.copy_from_slice(&x.to_le_bytes());
    }
    std::fs::write(&path, &data).unwrap();
    let mapped = open(&path, &written).unwrap();
    for v in &vectors {
        let hits = mapped.search(v, 3, 10);
        assert!(hits.iter().all(|h| !h.1.is_nan()));
    }
}
