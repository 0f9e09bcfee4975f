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
//!   frames. When both sounds have a sharp peak (nothing that could take
//!   its place in a copy on another grid), only the shifts that line their
//!   peaks up, give or take a frame, are tried (and when a sound's peak is
//!   its first frame, as that of a copy trimmed past its peak is, every
//!   shift that cuts more of the other): on 100,000 synthetic sounds whose
//!   envelopes are all straight decays, a hundred million pairs pass the
//!   shape test, and this check is most of the pass's cost.
//! - **Excerpts**: while a library has at most about 200 sounds of 2 s or
//!   more, every pair of them (see [`EXCERPT_BUDGET`]).
//!
//! A group is a connected component of confirmed pairs. Its keeper is the
//! member the caller prefers (the sounds are given in order of
//! preference), and every other member is compared with the keeper again
//! to say how it relates to it; one that does not match the keeper
//! directly says through which member it was linked.

use std::collections::HashMap;
use std::ops::{Range, RangeInclusive};
use std::time::{Duration, Instant};

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
/// Shape: how far under its peak the frames that could take its place in
/// a copy must be for the peak to be sharp, in dB (twice the loudness
/// step).
const SHARP_DB: f32 = 1.0;
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
    /// Time spent finding pairs by keys.
    pub keying: Duration,
    /// Time spent finding pairs by shape.
    pub shaping: Duration,
    /// Time spent comparing pairs.
    pub comparing: Duration,
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

    let (pairs, mut work) = candidates(&prints, focus);
    let started = Instant::now();
    let confirmed: Vec<(usize, usize, Match)> = pairs
        .par_iter()
        .filter_map(|&(a, b)| {
            let m = compare(prints[a]?, prints[b]?, limits)?;
            Some((a, b, m))
        })
        .collect();
    work.comparing = started.elapsed();
    work.compared = pairs.len() as u64;
    work.confirmed = confirmed.len() as u64;
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
/// that include it), and how many came from keys and from shapes, in how
/// long.
fn candidates(
    prints: &[Option<&Fingerprint>],
    focus: Option<usize>,
) -> (Vec<(usize, usize)>, Work) {
    let started = Instant::now();
    let mut keyed = Vec::new();
    key_pairs(prints, focus, &mut keyed);
    let keying = started.elapsed();
    let started = Instant::now();
    let mut shaped = Vec::new();
    shape_pairs(prints, focus, &mut shaped);
    let work = Work {
        keyed: keyed.len() as u64,
        shaped: shaped.len() as u64,
        keying,
        shaping: started.elapsed(),
        ..Work::default()
    };
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
    (pairs, work)
}

/// Pairs that share keys (see the module's docs): with a focus, see
/// [`key_pairs_of`]. The index is a sorted array of (key, sound), with a
/// table of where each run of the keys' top [`BUCKET_BITS`] bits starts:
/// no hashing, one allocation. Sounds ask it in parallel.
fn key_pairs(prints: &[Option<&Fingerprint>], focus: Option<usize>, out: &mut Vec<(u32, u32)>) {
    if let Some(f) = focus {
        return key_pairs_of(prints, f, out);
    }
    let mut entries: Vec<u64> = Vec::new();
    for (i, fp) in prints.iter().enumerate() {
        let Some(fp) = fp else { continue };
        entries.extend(indexed_keys(fp).map(|key| u64::from(key) << 32 | i as u64));
    }
    entries.par_sort_unstable();
    entries.dedup();
    let mut starts = vec![0u32; (1 << BUCKET_BITS) + 1];
    for &e in &entries {
        starts[((e >> 32) as u32 >> (32 - BUCKET_BITS)) as usize + 1] += 1;
    }
    for b in 1..starts.len() {
        starts[b] += starts[b - 1];
    }
    let pairs_of = |(asked, buckets, hits): &mut (Vec<u32>, Vec<(u32, u32)>, Vec<u32>),
                    i: usize|
     -> Vec<(u32, u32)> {
        let Some(fp) = prints[i] else {
            return Vec::new();
        };
        asked_keys(fp, asked);
        // Every key's bucket first, then a read of each bucket's ends, then
        // the searches: the reads of one step do not wait on each other, so
        // their fetches from memory (most of the cost: the index is tens of
        // megabytes) overlap, and the searches find the buckets in cache
        // (at 100,000 sounds, on one thread: 3.8 s instead of 6.5 s).
        buckets.clear();
        buckets.extend(asked.iter().map(|&key| {
            let b = (key >> (32 - BUCKET_BITS)) as usize;
            (starts[b], starts[b + 1])
        }));
        let mut read = 0;
        for &(from, to) in buckets.iter().filter(|(from, to)| from < to) {
            read ^= entries[from as usize] ^ entries[to as usize - 1];
        }
        std::hint::black_box(read);
        hits.clear();
        for (&key, &(from, to)) in asked.iter().zip(buckets.iter()) {
            let bucket = &entries[from as usize..to as usize];
            let first = bucket.partition_point(|&e| ((e >> 32) as u32) < key);
            let sounds = &bucket[first..];
            let n = sounds.partition_point(|&e| ((e >> 32) as u32) <= key);
            if n <= COMMON {
                hits.extend(
                    sounds[..n]
                        .iter()
                        .map(|&e| e as u32)
                        .filter(|&j| j as usize != i),
                );
            }
        }
        hits.sort_unstable();
        let needed = needed_keys(asked.len());
        hits.chunk_by(|a, b| a == b)
            .filter(|run| run.len() >= needed)
            .map(|run| (i as u32, run[0]))
            .collect()
    };
    out.par_extend(
        (0..prints.len())
            .into_par_iter()
            .map_init(Default::default, pairs_of)
            .flatten_iter(),
    );
}

/// [`key_pairs`] for one sound, `f`: the same pairs as the whole
/// library's that include it, found without building the index (at
/// 100,000 sounds, a pass over their keys instead of a sort of millions).
/// `f` asks its keys of every other sound; every other sound asks its keys
/// of `f`; and a key's commonness is counted over the keys every sound
/// indexes.
fn key_pairs_of(prints: &[Option<&Fingerprint>], f: usize, out: &mut Vec<(u32, u32)>) {
    let Some(me) = prints[f] else { return };
    let mut mine: Vec<u32> = Vec::new();
    asked_keys(me, &mut mine);
    let held: Vec<u32> = indexed_keys(me).collect();
    let all = KeySet::new(mine.iter().chain(&held).copied().collect());
    let is_held = {
        let mut is_held = vec![false; all.len()];
        for &key in &held {
            is_held[all.find(key).expect("a key of the set")] = true;
        }
        is_held
    };
    // How many sounds index each key of `f`'s, and which.
    let mut holders: Vec<Vec<u32>> = vec![Vec::new(); all.len()];
    let mut found: Vec<usize> = Vec::new();
    for (i, fp) in prints.iter().enumerate() {
        let Some(fp) = fp else { continue };
        found.clear();
        found.extend(indexed_keys(fp).filter_map(|key| all.find(key)));
        found.sort_unstable();
        found.dedup();
        for &k in &found {
            holders[k].push(i as u32);
        }
    }
    let common = |k: usize| holders[k].len() > COMMON;
    // What `f` finds.
    let mut hits: Vec<u32> = mine
        .iter()
        .map(|&key| all.find(key).expect("a key of the set"))
        .filter(|&k| !common(k))
        .flat_map(|k| holders[k].iter().copied().filter(|&j| j as usize != f))
        .collect();
    hits.sort_unstable();
    let needed = needed_keys(mine.len());
    for run in hits.chunk_by(|a, b| a == b) {
        if run.len() >= needed {
            out.push((f as u32, run[0]));
        }
    }
    // What finds `f`: the keys a sound asks that `f` indexes; its keys are
    // counted (sorted) only when it shares exactly one, which is enough
    // for a sound with few.
    let mut asked: Vec<u32> = Vec::new();
    for (i, fp) in prints.iter().enumerate() {
        let Some(fp) = fp.filter(|_| i != f) else {
            continue;
        };
        found.clear();
        found.extend(
            keys(fp)
                .take_while(|&(p, _)| p < QUERY)
                .filter_map(|(_, key)| all.find(key))
                .filter(|&k| is_held[k] && !common(k)),
        );
        found.sort_unstable();
        found.dedup();
        let enough = match found.len() {
            0 => false,
            1 => {
                asked_keys(fp, &mut asked);
                needed_keys(asked.len()) == 1
            }
            _ => true,
        };
        if enough {
            out.push((i as u32, f as u32));
        }
    }
}

/// A few keys, for looking up many: sorted, with a bitmap of their hashes
/// that turns most other keys away with one bit.
struct KeySet {
    keys: Vec<u32>,
    bits: Vec<u64>,
}

impl KeySet {
    const BITS: u32 = 16;

    fn new(mut keys: Vec<u32>) -> KeySet {
        keys.sort_unstable();
        keys.dedup();
        let mut bits = vec![0u64; (1 << Self::BITS) / 64];
        for &key in &keys {
            let slot = Self::slot(key);
            bits[slot / 64] |= 1 << (slot % 64);
        }
        KeySet { keys, bits }
    }

    fn slot(key: u32) -> usize {
        (key.wrapping_mul(0x9E37_79B1) >> (32 - Self::BITS)) as usize
    }

    fn len(&self) -> usize {
        self.keys.len()
    }

    /// Where `key` is among the keys, if it is.
    fn find(&self, key: u32) -> Option<usize> {
        let slot = Self::slot(key);
        if self.bits[slot / 64] & (1 << (slot % 64)) == 0 {
            return None;
        }
        self.keys.binary_search(&key).ok()
    }
}

/// The keys a sound puts in the index: those of its first [`HEAD`]
/// frames, then every [`STEP`]th.
fn indexed_keys(fp: &Fingerprint) -> impl Iterator<Item = u32> + '_ {
    keys(fp)
        .filter(|&(p, _)| p < HEAD || p % STEP == 0)
        .map(|(_, key)| key)
}

/// The keys a sound asks the index about, once each, in `asked`: those of
/// its first [`QUERY`] frames.
fn asked_keys(fp: &Fingerprint, asked: &mut Vec<u32>) {
    asked.clear();
    asked.extend(keys(fp).take_while(|&(p, _)| p < QUERY).map(|(_, k)| k));
    asked.sort_unstable();
    asked.dedup();
}

/// Keys a pair must share, for a sound that asks `asked` keys: two, or one
/// for a sound with few keys.
fn needed_keys(asked: usize) -> usize {
    if asked < 8 {
        1
    } else {
        2
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

/// Pairs of short sounds of about the same length and envelope shape, and
/// whose starts agree.
///
/// The sounds are sorted by cell, so that a cell is a run of them; each
/// sound is paired with the sounds after it in its own and the
/// neighbouring cells, in parallel. On 100,000 synthetic sounds whose
/// envelopes are all straight decays, a hundred million pairs pass the
/// shape test and reach [`heads_agree`]: the cheap code check has to be
/// cheap indeed (see [`Head`]).
fn shape_pairs(prints: &[Option<&Fingerprint>], focus: Option<usize>, out: &mut Vec<(u32, u32)>) {
    let mut list: Vec<(u32, Shape)> = prints
        .iter()
        .enumerate()
        .filter_map(|(i, fp)| Some((i as u32, Shape::of((*fp)?)?)))
        .collect();
    if let Some(f) = focus {
        // One sound against every other: the heads of those near in shape.
        let Some(&(_, shape)) = list.iter().find(|&&(i, _)| i as usize == f) else {
            return;
        };
        let head = Head::of(prints[f].expect("shapes are of fingerprints"));
        for &(i, other) in list.iter().filter(|&&(i, _)| i as usize != f) {
            if shape.near(&other) {
                let other_head = Head::of(prints[i as usize].expect("shapes are of fingerprints"));
                if worth_comparing((f as u32, &shape, &head), (i, &other, &other_head)) {
                    out.push((f as u32, i));
                }
            }
        }
        return;
    }
    list.sort_by_key(|(_, shape)| shape.cell());
    // The heads apart from the shapes: the shape test runs over many more
    // sounds than reach the heads, and reads less memory for it.
    let shaped = Shaped {
        heads: list
            .iter()
            .map(|&(i, _)| Head::of(prints[i as usize].expect("shapes are of fingerprints")))
            .collect(),
        list,
    };
    let mut cells: HashMap<[i32; 3], (usize, usize)> = HashMap::new();
    for (k, (_, shape)) in shaped.list.iter().enumerate() {
        cells.entry(shape.cell()).or_insert((k, k)).1 = k + 1;
    }
    let pairs_of = |k: usize| -> Vec<(u32, u32)> {
        let mut found = Vec::new();
        for next in neighbours(shaped.list[k].1.cell()) {
            if let Some(&(from, to)) = cells.get(&next) {
                // Each pair once: with the sounds after this one.
                shaped.pairs_with(k, from.max(k + 1)..to, &mut found);
            }
        }
        found
    };
    out.par_extend(
        (0..shaped.list.len())
            .into_par_iter()
            .flat_map_iter(pairs_of),
    );
}

/// The short sounds, as [`shape_pairs`] sees them: each sound's index and
/// shape, and its head at the same place in `heads`.
struct Shaped {
    list: Vec<(u32, Shape)>,
    heads: Vec<Head>,
}

impl Shaped {
    /// Adds to `out` the pairs of the `k`th sound and those of `others`
    /// (but itself) [`worth_comparing`].
    fn pairs_with(&self, k: usize, others: Range<usize>, out: &mut Vec<(u32, u32)>) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("popcnt") {
            // SAFETY: the CPU has the instruction, as just checked.
            return unsafe { self.pairs_with_popcnt(k, others, out) };
        }
        self.pairs_with_in(k, others, out)
    }

    /// [`Shaped::pairs_with`] with the CPU's popcount instruction: x86-64's
    /// baseline lacks it, and counting bits without it costs four times as
    /// much (tens of millions of pairs reach [`heads_agree`]).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt")]
    fn pairs_with_popcnt(&self, k: usize, others: Range<usize>, out: &mut Vec<(u32, u32)>) {
        self.pairs_with_in(k, others, out)
    }

    #[inline(always)]
    fn pairs_with_in(&self, k: usize, others: Range<usize>, out: &mut Vec<(u32, u32)>) {
        let (me, shape) = &self.list[k];
        // Loops, not iterator adapters with closures: a closure would not
        // be compiled with the caller's instructions.
        for j in others {
            let (other, other_shape) = &self.list[j];
            if j != k
                && worth_comparing(
                    (*me, shape, &self.heads[k]),
                    (*other, other_shape, &self.heads[j]),
                )
            {
                out.push((*me, *other));
            }
        }
    }
}

/// Whether two short sounds (index, shape, head) are worth comparing: near
/// in shape, and their starts agree (the shorter one's start checked
/// against the other, so that the answer does not depend on the order
/// asked in).
#[inline(always)]
fn worth_comparing(a: (u32, &Shape, &Head), b: (u32, &Shape, &Head)) -> bool {
    if !a.1.near(b.1) {
        return false;
    }
    let (a, b) = if (a.2.len, a.0) <= (b.2.len, b.0) {
        (a, b)
    } else {
        (b, a)
    };
    heads_agree(a.2, b.2, Shape::shifts(a.1, b.1))
}

/// Frames of the start [`heads_agree`] compares, and the shifts it tries.
const HEAD_CHECK: usize = 16;
const HEAD_SHIFT: usize = 6;
/// The most bits that may differ at the start (a little over
/// [`Thresholds::max_bit_errors`]: the start of a trimmed copy differs most).
const HEAD_BIT_ERRORS: f32 = 0.5;
/// Frames [`Head::around`] holds: the start and the shifts either side.
const AROUND: usize = HEAD_CHECK + 2 * HEAD_SHIFT;

/// The codes [`heads_agree`] reads, laid out for it: four codes to a
/// 64-bit word, so that a shift is four loads, and the frames past either
/// end masked out rather than tested for.
struct Head {
    /// Frames.
    len: u32,
    /// The codes of the first [`HEAD_CHECK`] frames (0 past the end), four
    /// to a word.
    first: [u64; 4],
    /// `0xFFFF` for each of those frames that exists.
    first_mask: [u64; 4],
    /// The codes of frames `-HEAD_SHIFT..HEAD_CHECK + HEAD_SHIFT` (0 where
    /// there is none), and `0xFFFF` for those that exist.
    around: [u16; AROUND],
    around_mask: [u16; AROUND],
}

impl Head {
    fn of(fp: &Fingerprint) -> Head {
        let code = |i: usize| fp.codes.get(i).copied();
        let mut around = [0; AROUND];
        let mut around_mask = [0; AROUND];
        for (k, (c, m)) in around.iter_mut().zip(&mut around_mask).enumerate() {
            if let Some(x) = k.checked_sub(HEAD_SHIFT).and_then(code) {
                (*c, *m) = (x, 0xFFFF);
            }
        }
        let mut first = [0; HEAD_CHECK];
        let mut first_mask = [0; HEAD_CHECK];
        for (i, (c, m)) in first.iter_mut().zip(&mut first_mask).enumerate() {
            if let Some(x) = code(i) {
                (*c, *m) = (x, 0xFFFF);
            }
        }
        Head {
            len: fp.len() as u32,
            first: words(&first, 0),
            first_mask: words(&first_mask, 0),
            around,
            around_mask,
        }
    }
}

/// The 16 codes from `codes[at]`, four to a word.
#[inline(always)]
fn words<const N: usize>(codes: &[u16; N], at: usize) -> [u64; 4] {
    std::array::from_fn(|w| {
        let c = &codes[at + 4 * w..at + 4 * w + 4];
        u64::from(c[0]) | u64::from(c[1]) << 16 | u64::from(c[2]) << 32 | u64::from(c[3]) << 48
    })
}

/// Whether the starts of `a` and `b` could be the same sound: the codes of
/// `a`'s first [`HEAD_CHECK`] frames and `b`'s, at the best of the
/// `shifts` (frames of `b` before `a`'s first, at most [`HEAD_SHIFT`]
/// either way), differ in at most [`HEAD_BIT_ERRORS`] of the bits set in
/// either (frames that one of them lacks do not count). A small share of
/// the cost of [`compare`], it keeps most shape pairs from reaching it.
#[inline(always)]
fn heads_agree(a: &Head, b: &Head, shifts: RangeInclusive<i64>) -> bool {
    let from = (shifts.start() + HEAD_SHIFT as i64).max(0);
    let to = (shifts.end() + HEAD_SHIFT as i64).min(2 * HEAD_SHIFT as i64);
    for k in from..=to {
        let y = words(&b.around, k as usize);
        let y_mask = words(&b.around_mask, k as usize);
        let (mut differing, mut set) = (0, 0);
        for w in 0..4 {
            let mask = a.first_mask[w] & y_mask[w];
            differing += ((a.first[w] ^ y[w]) & mask).count_ones();
            set += ((a.first[w] | y[w]) & mask).count_ones();
        }
        if set > 0 && differing as f32 <= HEAD_BIT_ERRORS * set as f32 {
            return true;
        }
    }
    false
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
    /// The loudest frame (the first of equals).
    peak: u32,
    /// Whether every frame two or more before the peak, and every frame
    /// after the fall that starts at it, is at least [`SHARP_DB`] under
    /// it: then the peak of a copy on another frame grid is the same
    /// moment, give or take a frame.
    sharp: bool,
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
        // The loudest frame that could take the peak's place in a copy on
        // another grid: one two or more frames before it, or after it
        // beyond the fall that starts at it (within that fall, the first
        // of the loudest frames stays the peak, give or take a frame).
        let falling = fp.loudness[peak..]
            .windows(2)
            .take_while(|w| w[1] <= w[0])
            .count();
        let rival = fp
            .loudness
            .iter()
            .enumerate()
            .filter(|&(j, _)| j + 2 <= peak || j > peak + falling)
            .map(|(_, &l)| l)
            .max()
            .unwrap_or(0);
        Some(Shape {
            peak: peak as u32,
            sharp: f32::from(top) - f32::from(rival) >= 2.0 * SHARP_DB,
            length: (fp.len() as f32 + LENGTH_PAD).ln(),
            fall,
        })
    }

    /// The shifts [`heads_agree`]`(a, b, ..)` need try: those that line up
    /// the peaks of two sharp sounds, give or take a frame; any shift
    /// after (before) that when `a`'s (`b`'s) peak is its first frame, as
    /// a copy trimmed past its peak has; every shift otherwise.
    fn shifts(a: &Shape, b: &Shape) -> RangeInclusive<i64> {
        let any = -(HEAD_SHIFT as i64)..=HEAD_SHIFT as i64;
        if !(a.sharp && b.sharp) {
            return any;
        }
        let peaks = i64::from(b.peak) - i64::from(a.peak);
        let lowest = if b.peak == 0 { *any.start() } else { peaks - 1 };
        let highest = if a.peak == 0 { *any.end() } else { peaks + 1 };
        lowest..=highest
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::tests::{decaying, Numbers};

    /// The frame-by-frame count [`heads_agree`] stands for (over the
    /// shifts of at most [`HEAD_SHIFT`]).
    fn heads_agree_by_frames(
        a: &Fingerprint,
        b: &Fingerprint,
        shifts: RangeInclusive<i64>,
    ) -> bool {
        let most = HEAD_SHIFT as i64;
        shifts.filter(|d| d.abs() <= most).any(|d| {
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

    #[test]
    fn heads_agree_as_the_frame_by_frame_count_does() {
        let mut n = Numbers(11);
        let mut agreed = 0;
        for round in 0..4000 {
            let frames = 1 + (n.next() % 30) as usize;
            let a = decaying(&mut n, frames, 1.0);
            // Half of the pairs: `a` shifted and a little damaged, so that
            // both answers come up.
            let b = if round % 2 == 0 {
                let shift = (n.next() % 9) as usize;
                let mut b = decaying(&mut n, shift, 1.0);
                b.codes.extend(
                    a.codes
                        .iter()
                        .map(|&c| c ^ (n.next() as u16 & n.next() as u16 & n.next() as u16)),
                );
                b.loudness.extend(&a.loudness);
                b
            } else {
                let frames = 1 + (n.next() % 30) as usize;
                decaying(&mut n, frames, 1.0)
            };
            let lowest = -6 + (n.next() % 8) as i64;
            let shifts = lowest..=lowest + (n.next() % 8) as i64;
            let expected = heads_agree_by_frames(&a, &b, shifts.clone());
            assert_eq!(
                heads_agree(&Head::of(&a), &Head::of(&b), shifts.clone()),
                expected,
                "round {round}, shifts {shifts:?}"
            );
            agreed += usize::from(expected);
        }
        assert!((500..3500).contains(&agreed), "{agreed} of 4000 agreed");
    }

    /// Sounds like the 100k benchmark's, a fifth of them copies of earlier
    /// ones (a few bits flipped, another gain, frames cut at either end).
    fn library(n: &mut Numbers, sounds: usize) -> Vec<Fingerprint> {
        let mut made: Vec<Fingerprint> = Vec::new();
        for i in 0..sounds {
            let fp = if i > 5 && i % 5 == 0 {
                let of = &made[(n.next() % made.len() as u64) as usize];
                let start = (n.next() % 4) as usize;
                let end = of.len() - (n.next() % 3) as usize;
                Fingerprint {
                    onset: 0,
                    codes: of.codes[start..end]
                        .iter()
                        .map(|c| {
                            c ^ if n.next().is_multiple_of(10) {
                                1 << (n.next() % 16)
                            } else {
                                0
                            }
                        })
                        .collect(),
                    loudness: of.loudness[start..end].iter().map(|l| l - 9).collect(),
                }
            } else {
                let frames = 10 + (n.next() % 600) as usize;
                let db_per_frame = 0.05 + (n.next() % 200) as f64 / 100.0;
                decaying(n, frames, db_per_frame)
            };
            made.push(fp);
        }
        made
    }

    #[test]
    fn one_sound_finds_the_pairs_of_the_whole_library_that_include_it() {
        let sounds = library(&mut Numbers(5), 400);
        let prints: Vec<Option<&Fingerprint>> = sounds.iter().map(Some).collect();
        let normal = |pairs: Vec<(u32, u32)>| -> Vec<(u32, u32)> {
            let mut pairs: Vec<(u32, u32)> = pairs
                .into_iter()
                .map(|(a, b)| (a.min(b), a.max(b)))
                .collect();
            pairs.sort_unstable();
            pairs.dedup();
            pairs
        };
        for (pass, find) in [
            (
                "keys",
                key_pairs as fn(&[Option<&Fingerprint>], Option<usize>, &mut Vec<(u32, u32)>),
            ),
            ("shape", shape_pairs),
        ] {
            let mut all = Vec::new();
            find(&prints, None, &mut all);
            let all = normal(all);
            assert!(all.len() > 50, "{pass}: {} pairs", all.len());
            for f in 0..prints.len() as u32 {
                let mut mine = Vec::new();
                find(&prints, Some(f as usize), &mut mine);
                let expected: Vec<(u32, u32)> = all
                    .iter()
                    .copied()
                    .filter(|&(a, b)| a == f || b == f)
                    .collect();
                assert_eq!(normal(mine), expected, "{pass}, sound {f}");
            }
        }
    }

    #[test]
    fn copies_trimmed_into_their_start_are_paired_by_shape() {
        let mut n = Numbers(9);
        let original = decaying(&mut n, 120, 0.8);
        // Cut before the peak (frame 2) and past it: on another frame grid
        // a copy shares no key, only its shape and its start.
        for cut in [1, 2, 3, 5] {
            let copy = Fingerprint {
                onset: 0,
                codes: original.codes[cut..].iter().map(|c| c ^ 0x0100).collect(),
                loudness: original.loudness[cut..].iter().map(|l| l - 4).collect(),
            };
            let others: Vec<Fingerprint> = (0..50).map(|_| decaying(&mut n, 120, 0.8)).collect();
            let mut prints: Vec<Option<&Fingerprint>> = others.iter().map(Some).collect();
            prints.extend([Some(&original), Some(&copy)]);
            let mut pairs = Vec::new();
            shape_pairs(&prints, None, &mut pairs);
            assert!(
                pairs.iter().any(|&(a, b)| a.min(b) == 50 && a.max(b) == 51),
                "cut {cut}: {pairs:?}"
            );
            let (groups, _) = find_groups(
                &prints
                    .iter()
                    .map(|&fp| Sound {
                        fingerprint: fp,
                        content: None,
                    })
                    .collect::<Vec<_>>(),
                &Thresholds::default(),
                None,
            );
            assert_eq!(groups.len(), 1, "cut {cut}: {groups:?}");
            assert_eq!((groups[0].keeper, groups[0].members[0].sound), (50, 51));
        }
    }
}
