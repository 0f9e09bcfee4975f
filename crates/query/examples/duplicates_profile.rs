//! Times the stages of `hark duplicates` on an index (a measuring aid for
//! docs/benchmarks.md): reading the files and fingerprints, decoding them,
//! finding pairs by keys and by shape, comparing them. Given the PLANTED
//! file `duplicates_catalog` writes, it also counts the planted copies
//! found in the group of their source, and the groups that join sounds
//! not planted as copies of one another (false groups). Last, it times
//! listing the copies of single files (what `d` in `hark tui` does), from
//! reading the catalog on:
//! `cargo run --release -p hark-query --example duplicates_profile -- DIR [PLANTED]`.

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use hark_fingerprint::{find_groups, Fingerprint, Sound, Thresholds};
use hark_store::Catalog;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let catalog = Catalog::open_readonly(Path::new(&args[1])).expect("open the catalog");
    let started = Instant::now();
    let files = hark_query::duplicates::read_files(&catalog, &[]).expect("read the files");
    eprintln!("read {} files in {:.2?}", files.len(), started.elapsed());
    let started = Instant::now();
    let prints: Vec<Option<Fingerprint>> = files
        .iter()
        .map(|f| f.fingerprint.as_deref().and_then(Fingerprint::from_bytes))
        .collect();
    eprintln!("decoded the fingerprints in {:.2?}", started.elapsed());
    let sounds: Vec<Sound<'_>> = files
        .iter()
        .zip(&prints)
        .map(|(f, p)| Sound {
            fingerprint: p.as_ref(),
            content: f.content_hash.as_deref(),
        })
        .collect();
    let started = Instant::now();
    let (groups, work) = find_groups(&sounds, &Thresholds::default(), None);
    eprintln!(
        "{} groups in {:.2?}: {} pairs by keys in {:.2?}, {} by shape in {:.2?}, \
         {} compared in {:.2?}, {} confirmed",
        groups.len(),
        started.elapsed(),
        work.keyed,
        work.keying,
        work.shaped,
        work.shaping,
        work.compared,
        work.comparing,
        work.confirmed,
    );
    // One file's copies: the shortest, the longest, and a few between.
    let mut by_length: Vec<(usize, hark_store::FileId)> = files
        .iter()
        .zip(&prints)
        .filter_map(|(f, p)| Some((p.as_ref()?.len(), f.id)))
        .collect();
    by_length.sort_unstable();
    for k in [0, 1, 2, 3, 4].map(|q| (by_length.len() - 1) * q / 4) {
        let (frames, id) = by_length[k];
        let started = Instant::now();
        let files = hark_query::duplicates::read_files(&catalog, &[]).expect("read the files");
        let copies = hark_query::duplicates::copies_of(files, id).expect("indexed");
        eprintln!(
            "copies of a file of {frames} frames: {} files in {:.2?}",
            copies.files.len(),
            started.elapsed()
        );
    }
    let Some(planted) = args.get(2) else { return };
    let index: HashMap<&Path, usize> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (f.path.as_path(), i))
        .collect();
    let text = std::fs::read_to_string(planted).expect("read the planted pairs");
    let pairs: Vec<(usize, usize)> = text
        .lines()
        .map(|line| {
            let (copy, source) = line.split_once('\t').expect("copy TAB source");
            (index[Path::new(copy)], index[Path::new(source)])
        })
        .collect();
    let mut group_of = vec![usize::MAX; files.len()];
    for (g, group) in groups.iter().enumerate() {
        for i in std::iter::once(group.keeper).chain(group.members.iter().map(|m| m.sound)) {
            group_of[i] = g;
        }
    }
    let found = pairs
        .iter()
        .filter(|&&(copy, source)| {
            group_of[copy] != usize::MAX && group_of[copy] == group_of[source]
        })
        .count();
    // A sound's family: its source's source's... first sound.
    let mut family: Vec<usize> = (0..files.len()).collect();
    let root = |family: &mut Vec<usize>, mut x: usize| {
        while family[x] != x {
            x = family[x];
        }
        x
    };
    for &(copy, source) in &pairs {
        let (a, b) = (root(&mut family, copy), root(&mut family, source));
        family[a.max(b)] = a.min(b);
    }
    let mixed = groups
        .iter()
        .filter(|g| {
            let first = root(&mut family, g.keeper);
            g.members
                .iter()
                .any(|m| root(&mut family, m.sound) != first)
        })
        .count();
    eprintln!(
        "planted copies found with their source: {found} of {}; false groups: {mixed}",
        pairs.len()
    );
}
