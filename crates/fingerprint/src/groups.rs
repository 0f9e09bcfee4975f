//! Groups of copies in a whole library: which pairs of sounds to
//! [`compare`] (candidate generation), and the groups the confirmed pairs
//! make, each reported against its keeper.
//!
//! Comparing every pair is out of the question at 100,000 files, so pairs
//! come from three cheap sources, and only they are compared:
//!
//! - **Content**: files with the same content hash are one group at once.
//! - **Keys**: a key is two consecutive codes (32 bits). Every sound's keys
//!   in its first [`HEAD`] frames, and every [`STEP`]th key after them, go
//!   into an inverted index; each sound looks up its keys of its first
//!   [`QUERY`] frames there. Copies on the same frame grid (another codec,
//!   rate, depth, gain, channel layout, or leading silence cut) share most
//!   keys; an excerpt or a copy trimmed into the sound lies on another grid
//!   and shares a few in every hundred, which over seconds is enough.
//!   Keys with few bits set (silence, noise floor) say nothing and are
//!   left out, and so are keys shared by more than [`COMMON`] sounds.
//! - **Shape**: a one-shot trimmed a few milliseconds into its attack is on
//!   another grid too and too short to share keys. Its loudness envelope
//!   after its peak and its length barely change, so sounds under
//!   [`SHAPE_MAX_FRAMES`] are also put in cells of a grid over (length,
//!   level 3 and 8 frames after the peak); every sound is paired with the
//!   sounds of its own and the neighbouring cells whose levels 1, 2, 3, 5
//!   and 8 frames after the peak are within [`SHAPE_DB`] of its own, whose
//!   length is within [`LENGTH_RATIO`], and whose codes over the first
//!   frames differ in at most half their bits at some shift of up to six
//!   frames.
//!
//! - **Excerpts**: while a library has at most about 200 sounds of 2 s or
//!   more, every pair of them (see [`EXCERPT_BUDGET`]).
//!
//! A group is a connected component of confirmed pairs. Its keeper is the
//! member the caller prefers (the sounds are given in order of
//! preference), and every other member is compared with the keeper again
//! to say how it relates to it; one that does not match the keeper
//! directly says through which member it was linked.

use std::collections::HashMap;

use rayon::prelude::*;

use crate::{compare, Fingerprint, Match, Thresholds};

/// Frames whose keys all go into the index.
pub const HEAD: usize = 32;
/// After the head, every this many frames a key goes into the index.
pub const STEP: usize = 8;
/// Frames whose keys a sound looks up (4.3 s): an excerpt's start is
/// found among the sampled keys of the file it was cut from.
pub const QUERY: usize = 400;
/// A key shared by more sounds than this is too common to say anything.
pub const COMMON: usize = 1_000;
/// Fewest bits set in a key that is indexed.
const KEY_BITS: u32 = 6;
/// Shape: the largest difference of the levels after the peak, in dB.
pub const SHAPE_DB: f32 = 4.0;
/// Shape: the largest ratio of lengths, counted as frames plus
/// `LENGTH_PAD` (short sounds lose a larger share to a trim).
pub const LENGTH_RATIO: f32 = 1.15;
const LENGTH_PAD: f32 = 16.0;
/// Sounds at least this many frames long are paired by keys alone: their
/// peak can be anywhere.
pub const SHAPE_MAX_FRAMES: usize = 400;

/// One sound of the library, as [`find_groups`] sees it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sound<'a> {
    /// Its fingerprint, if it has one.
    pub fingerprint: Option<&'a Fingerprint>,
    /// Its content hash, if known: equal hashes are the same bytes.
    pub content: Option<&'a [u8]>,
}

/// How a member of a group relates to another member.
#[derive(Debug, Clone, PartialEq)]
pub enum Evidence {
    /// The same bytes.
    Exact,
    /// The same sound, as [`compare`] found (the member first).
    Audio(Match),
}

/// A member of a [`Group`] other than its keeper.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// The member: an index into the sounds given.
    pub sound: usize,
    /// How it relates to `to`.
    pub evidence: Evidence,
    /// The keeper when it matches the keeper directly, else the member it
    /// was linked through.
    pub to: usize,
}

/// Sounds holding the same audio.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// The keeper: the member that comes first in the sounds given.
    pub keeper: usize,
    /// The others, in the order of the sounds given.
    pub members: Vec<Member>,
}

/// What [`find_groups`] did, for the benchmark.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Work {
    /// Pairs found by keys (before removing those found twice).
    pub keyed: u64,
    /// Pairs found by shape.
    pub shaped: u64,
    /// Pairs compared.
    pub compared: u64,
    /// Pairs confirmed.
    pub confirmed: u64,
}

/// Finds the groups of copies among `sounds`, given in order of keeper
/// preference (the first of a group is its keeper). With `focus`, only the
/// pairs that include that sound are looked at: its group is then the
/// sound and what matches it directly.
pub fn find_groups(
    sounds: &[Sound<'_>],
    limits: &Thresholds,
    focus: Option<usize>,
) -> (Vec<Group>, Work) {
    let mut sets = DisjointSets::new(sounds.len());
    let mut direct: HashMap<(usize, usize), Evidence> = HashMap::new();

    // The same bytes: one group at once, and only one of them compared
    // (the focus, if it is one of them).
    let mut by_content: HashMap<&[u8], Vec<usize>> = HashMap::new();
    for (i, sound) in sounds.iter().enumerate() {
        if let Some(content) = sound.content {
            by_content.entry(content).or_default().push(i);
        }
    }
    let mut represented = vec![true; sounds.len()];
    for same in by_content.values().filter(|same| same.len() > 1) {
        let first = match focus {
            None => same[0],
            Some(f) if same.contains(&f) => f,
            Some(_) => continue,
        };
        for &i in same.iter().filter(|&&i| i != first) {
            sets.union(first, i);
            direct.insert((i, first), Evidence::Exact);
            represented[i] = false;
        }
    }
    let prints: Vec<Option<&Fingerprint>> = sounds
        .iter()
        .zip(&represented)
        .map(|(s, &r)| s.fingerprint.filter(|f| r && !f.is_empty()))
        .collect();

    let (pairs, keyed, shaped) = candidates(&prints, focus);
    let confirmed: Vec<(usize, usize, Match)> = pairs
        .par_iter()
        .filter_map(|&(a, b)| {
            let m = compare(prints[a]?, prints[b]?, limits)?;
            Some((a, b, m))
        })
        .collect();
    let work = Work {
        keyed,
        shaped,
        compared: pairs.len() as u64,
        confirmed: confirmed.len() as u64,
    };
    for (a, b, m) in confirmed {
        sets.union(a, b);
        direct.insert((a, b), Evidence::Audio(m));
    }

    let mut components: HashMap<usize, Vec<usize>> = HashMap::new();
    for i in 0..sounds.len() {
        components.entry(sets.find(i)).or_default().push(i);
    }
    let mut groups: Vec<Group> = components
        .into_values()
        .filter(|c| c.len() > 1)
        .map(|c| group(sounds, &prints, &direct, c, limits))
        .collect();
    groups.sort_by_key(|g| g.keeper);
    (groups, work)
}

/// The group of `component` (sorted): its keeper and how each member
/// relates to it.
fn group(
    sounds: &[Sound<'_>],
    prints: &[Option<&Fingerprint>],
    direct: &HashMap<(usize, usize), Evidence>,
    component: Vec<usize>,
    limits: &Thresholds,
) -> Group {
    let keeper = component[0];
    let linked = |a: usize, b: usize| -> Option<Evidence> {
        if let Some(e) = direct.get(&(a, b)) {
            return Some(e.clone());
        }
        match direct.get(&(b, a))? {
            Evidence::Exact => Some(Evidence::Exact),
            Evidence::Audio(m) => Some(Evidence::Audio(crate::compare::reversed(m))),
        }
    };
    let with_keeper = |i: usize| -> Option<Evidence> {
        if let (Some(x), Some(y)) = (sounds[i].content, sounds[keeper].content) {
            if x == y {
                return Some(Evidence::Exact);
            }
        }
        let audio = |i: usize| prints[i].or(sounds[i].fingerprint.filter(|f| !f.is_empty()));
        compare(audio(i)?, audio(keeper)?, limits).map(Evidence::Audio)
    };
    // Breadth-first from the keeper over confirmed pairs, for members that
    // do not match it directly.
    let mut through: HashMap<usize, usize> = HashMap::from([(keeper, keeper)]);
    let mut queue = std::collections::VecDeque::from([keeper]);
    while let Some(x) = queue.pop_front() {
        for &y in &component {
            if !through.contains_key(&y) && linked(y, x).is_some() {
                through.insert(y, x);
                queue.push_back(y);
            }
        }
    }
    let members = component[1..]
        .iter()
        .map(|&i| match with_keeper(i) {
            Some(evidence) => Member {
                sound: i,
                evidence,
                to: keeper,
            },
            None => {
                let to = through[&i];
                Member {
                    sound: i,
                    evidence: linked(i, to).expect("linked by the search"),
                    to,
                }
            }
        })
        .collect();
    Group { keeper, members }
}

/// The pairs `(a, b)`, `a < b`, worth comparing (with `focus`, only those
/// that include it), and how many came from keys and from shapes.
fn candidates(
    prints: &[Option<&Fingerprint>],
    focus: Option<usize>,
) -> (Vec<(usize, usize)>, u64, u64) {
    let mut keyed = Vec::new();
    key_pairs(prints, focus, &mut keyed);
    let mut shaped = Vec::new();
    shape_pairs(prints, focus, &mut shaped);
    let counts = (keyed.len() as u64, shaped.len() as u64);
    let mut excerpts = Vec::new();
    excerpt_pairs(prints, focus, &mut excerpts);
    let mut pairs: Vec<(usize, usize)> = keyed
        .into_iter()
        .chain(shaped)
        .chain(excerpts)
        .filter(|&(a, b)| a != b && focus.is_none_or(|f| f as u32 == a || f as u32 == b))
        .map(|(a, b)| (a.min(b) as usize, a.max(b) as usize))
        .collect();
    pairs.sort_unstable();
    pairs.dedup();
    (pairs, counts.0, counts.1)
}

/// Pairs that share keys (see the module's docs). The index is a sorted
/// array of (key, sound), with a table of where each run of the keys'
/// top [`BUCKET_BITS`] bits starts: no hashing, one allocation.
fn key_pairs(prints: &[Option<&Fingerprint>], focus: Option<usize>, out: &mut Vec<(u32, u32)>) {
    let mut entries: Vec<u64> = Vec::new();
    for (i, fp) in prints.iter().enumerate() {
        let Some(fp) = fp else { continue };
        entries.extend(
            keys(fp)
                .filter(|&(p, _)| p < HEAD || p % STEP == 0)
                .map(|(_, key)| u64::from(key) << 32 | i as u64),
        );
    }
    entries.sort_unstable();
    entries.dedup();
    let mut starts = vec![0u32; (1 << BUCKET_BITS) + 1];
    for &e in &entries {
        starts[((e >> 32) as u32 >> (32 - BUCKET_BITS)) as usize + 1] += 1;
    }
    for b in 1..starts.len() {
        starts[b] += starts[b - 1];
    }
    let list = |key: u32| -> &[u64] {
        let b = (key >> (32 - BUCKET_BITS)) as usize;
        let bucket = &entries[starts[b] as usize..starts[b + 1] as usize];
        let from = bucket.partition_point(|&e| ((e >> 32) as u32) < key);
        let to = bucket.partition_point(|&e| ((e >> 32) as u32) <= key);
        &bucket[from..to]
    };
    let mut asked: Vec<u32> = Vec::new();
    let mut hits: Vec<u32> = Vec::new();
    for (i, fp) in prints.iter().enumerate() {
        let Some(fp) = fp else { continue };
        asked.clear();
        asked.extend(keys(fp).take_while(|&(p, _)| p < QUERY).map(|(_, k)| k));
        asked.sort_unstable();
        asked.dedup();
        hits.clear();
        for &key in &asked {
            let sounds = list(key);
            if sounds.len() > COMMON {
                continue;
            }
            // With a focus, only its own keys, or keys it holds.
            if focus.is_none_or(|f| f == i || sounds.iter().any(|&e| e as u32 as usize == f)) {
                hits.extend(
                    sounds
                        .iter()
                        .map(|&e| e as u32)
                        .filter(|&j| j as usize != i),
                );
            }
        }
        hits.sort_unstable();
        // Two keys in common, or one for a sound with few keys.
        let needed = if asked.len() < 8 { 1 } else { 2 };
        for run in hits.chunk_by(|a, b| a == b) {
            if run.len() >= needed {
                out.push((i as u32, run[0]));
            }
        }
    }
}

/// The key index's buckets: keys by their top 20 bits.
const BUCKET_BITS: u32 = 20;

/// Frames of the shortest excerpt looked for by `excerpt_pairs` (2 s).
const EXCERPT_FRAMES: usize = 188;
/// The most pairs `excerpt_pairs` adds.
pub const EXCERPT_BUDGET: usize = 20_000;

/// Every pair of sounds of 2 s or more, while there are at most
/// [`EXCERPT_BUDGET`] of them (about 200 such sounds; with a focus, its
/// pairs always): an excerpt cut from noise-like material (rain, room
/// tone) lies on another frame grid than its source and shares too few
/// keys to be found by them (a 3 s excerpt of a noisy ambience: 10 of 280
/// codes equal at the right offset, no 32-bit key). Beyond the budget,
/// excerpts are found by keys alone.
fn excerpt_pairs(prints: &[Option<&Fingerprint>], focus: Option<usize>, out: &mut Vec<(u32, u32)>) {
    let long: Vec<u32> = (0..prints.len())
        .filter(|&i| prints[i].is_some_and(|f| f.len() >= EXCERPT_FRAMES))
        .map(|i| i as u32)
        .collect();
    if let Some(f) = focus {
        if long.contains(&(f as u32)) {
            out.extend(long.iter().map(|&j| (f as u32, j)));
        }
        return;
    }
    if long.len() * long.len().saturating_sub(1) / 2 > EXCERPT_BUDGET {
        return;
    }
    for (k, &a) in long.iter().enumerate() {
        out.extend(long[k + 1..].iter().map(|&b| (a, b)));
    }
}

/// Pairs of short sounds of about the same length and envelope shape.
fn shape_pairs(prints: &[Option<&Fingerprint>], focus: Option<usize>, out: &mut Vec<(u32, u32)>) {
    let mut cells: HashMap<[i32; 3], Vec<(u32, Shape)>> = HashMap::new();
    for (i, fp) in prints.iter().enumerate() {
        if let Some(shape) = fp.and_then(Shape::of) {
            cells
                .entry(shape.cell())
                .or_default()
                .push((i as u32, shape));
        }
    }
    let near = |a: &(u32, Shape), b: &(u32, Shape), out: &mut Vec<(u32, u32)>| {
        let print = |i: u32| prints[i as usize].expect("shapes are of fingerprints");
        if a.1.near(&b.1) && heads_agree(print(a.0), print(b.0)) {
            out.push((a.0, b.0));
        }
    };
    if let Some(f) = focus {
        let Some(shape) = prints[f].and_then(Shape::of) else {
            return;
        };
        let me = (f as u32, shape);
        for next in neighbours(shape.cell()) {
            for other in cells.get(&next).into_iter().flatten() {
                near(&me, other, out);
            }
        }
        return;
    }
    for (cell, list) in &cells {
        for next in neighbours(*cell) {
            // Each pair of cells once: from the smaller one.
            if next < *cell {
                continue;
            }
            let Some(other) = cells.get(&next) else {
                continue;
            };
            for (k, a) in list.iter().enumerate() {
                let others = if next == *cell {
                    &other[k + 1..]
                } else {
                    other
                };
                for b in others {
                    near(a, b, out);
                }
            }
        }
    }
}

/// Frames of the start [`heads_agree`] compares, and the shifts it tries.
const HEAD_CHECK: usize = 16;
const HEAD_SHIFT: i64 = 6;
/// The most bits that may differ at the start (a little over
/// [`Thresholds::max_bit_errors`]: the start of a trimmed copy differs most).
const HEAD_BIT_ERRORS: f32 = 0.5;

/// Whether the starts of `a` and `b` could be the same sound: their codes
/// over the first [`HEAD_CHECK`] frames, at the best of a few shifts, differ
/// in at most [`HEAD_BIT_ERRORS`] of their bits. A tenth of the cost of
/// [`compare`], it keeps most shape pairs from reaching it.
fn heads_agree(a: &Fingerprint, b: &Fingerprint) -> bool {
    (-HEAD_SHIFT..=HEAD_SHIFT).any(|d| {
        let (mut differing, mut set) = (0, 0);
        for i in 0..HEAD_CHECK.min(a.len()) {
            let Some(&y) = usize::try_from(i as i64 + d)
                .ok()
                .and_then(|j| b.codes.get(j))
            else {
                continue;
            };
            let x = a.codes[i];
            differing += (x ^ y).count_ones();
            set += (x | y).count_ones();
        }
        set > 0 && differing as f32 <= HEAD_BIT_ERRORS * set as f32
    })
}

/// A cell and the 26 around it.
fn neighbours(cell: [i32; 3]) -> impl Iterator<Item = [i32; 3]> {
    (0..27).map(move |n| {
        [
            cell[0] + n % 3 - 1,
            cell[1] + n / 3 % 3 - 1,
            cell[2] + n / 9 - 1,
        ]
    })
}

/// The informative keys of `fp` with their frame positions.
fn keys(fp: &Fingerprint) -> impl Iterator<Item = (usize, u32)> + '_ {
    fp.codes.windows(2).enumerate().filter_map(|(p, w)| {
        let key = u32::from(w[0]) << 16 | u32::from(w[1]);
        (key.count_ones() >= KEY_BITS)
            .then_some(key)
            .map(|k| (p, k))
    })
}

/// A short sound's length and the fall of its envelope after the peak.
#[derive(Debug, Clone, Copy)]
struct Shape {
    /// ln(frames + LENGTH_PAD).
    length: f32,
    /// Levels 1, 2, 3, 5 and 8 frames after the peak, in dB under it (at
    /// most 60).
    fall: [f32; 5],
}

impl Shape {
    fn of(fp: &Fingerprint) -> Option<Shape> {
        if fp.len() >= SHAPE_MAX_FRAMES {
            return None;
        }
        let (peak, &top) = fp
            .loudness
            .iter()
            .enumerate()
            .rev()
            .max_by_key(|(_, &l)| l)?;
        let fall = [1, 2, 3, 5, 8].map(|k| {
            fp.loudness
                .get(peak + k)
                .map_or(60.0, |&l| ((top as f32 - l as f32) / 2.0).min(60.0))
        });
        Some(Shape {
            length: (fp.len() as f32 + LENGTH_PAD).ln(),
            fall,
        })
    }

    /// The grid cell: one length ratio and one [`SHAPE_DB`] wide.
    fn cell(&self) -> [i32; 3] {
        [
            (self.length / LENGTH_RATIO.ln()).floor() as i32,
            (self.fall[2] / SHAPE_DB).floor() as i32,
            (self.fall[4] / SHAPE_DB).floor() as i32,
        ]
    }

    fn near(&self, other: &Shape) -> bool {
        (self.length - other.length).abs() <= LENGTH_RATIO.ln()
            && self
                .fall
                .iter()
                .zip(&other.fall)
                .all(|(x, y)| (x - y).abs() <= SHAPE_DB)
    }
}

/// Union-find over sound indexes.
struct DisjointSets(Vec<usize>);

impl DisjointSets {
    fn new(n: usize) -> Self {
        DisjointSets((0..n).collect())
    }

    fn find(&mut self, mut x: usize) -> usize {
        while self.0[x] != x {
            self.0[x] = self.0[self.0[x]];
            x = self.0[x];
        }
        x
    }

    /// Joins the sets of `a` and `b` under the smaller root, so that a
    /// set's root is its first member.
    fn union(&mut self, a: usize, b: usize) {
        let (x, y) = (self.find(a), self.find(b));
        if x != y {
            self.0[x.max(y)] = x.min(y);
        }
    }
}
