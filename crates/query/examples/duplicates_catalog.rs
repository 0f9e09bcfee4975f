//! Builds a catalog of N synthetic files with fingerprints, for timing
//! `hark duplicates` at scale (docs/benchmarks.md):
//! `cargo run --release -p hark-query --example duplicates_catalog -- DIR 100000 [PLANTED]`.
//!
//! Lengths are log-uniform from 0.1 s to 30 s (most files one-shots); each
//! sound has its own codes and an attack-and-decay envelope with its own
//! rate, and one file in twenty is a copy of an earlier one (a tenth of its
//! code bits flipped, another gain, a frame or two cut at the end), so
//! that groups exist. With PLANTED, each copy's path and its source's are
//! written there, a tab between them, one pair a line (the `duplicates_profile`
//! example counts how many of them were found).

use std::path::Path;

use hark_fingerprint::Fingerprint;
use hark_store::{Catalog, FileRecord};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = Path::new(&args[1]);
    let n: usize = args[2].parse().expect("a file count");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut catalog = Catalog::open(dir).expect("open the catalog");
    let mut made: Vec<Fingerprint> = Vec::new();
    let mut copies = 0;
    let mut planted = String::new();
    let path = |i: usize| format!("/lib/{:03}/sound {i}.wav", i % 500);
    catalog
        .transaction(|tx| {
            let root = tx.add_root(Path::new("/lib"))?;
            for i in 0..n {
                let fp = if i > 20 && i % 20 == 0 {
                    copies += 1;
                    let source = (rng.next() % made.len() as u64) as usize;
                    planted.push_str(&format!("{}\t{}\n", path(i), path(source)));
                    let of = &made[source];
                    let cut = (rng.next() % 3) as usize;
                    let gain = (rng.next() % 20) as u8;
                    Fingerprint {
                        onset: of.onset,
                        codes: of.codes[..of.len().saturating_sub(cut).max(1)]
                            .iter()
                            .map(|c| {
                                c ^ if rng.next().is_multiple_of(10) {
                                    1 << (rng.next() % 16)
                                } else {
                                    0
                                }
                            })
                            .collect(),
                        loudness: of.loudness[..of.len().saturating_sub(cut).max(1)]
                            .iter()
                            .map(|l| l.saturating_sub(gain))
                            .collect(),
                    }
                } else {
                    let seconds = 0.1 * 300f64.powf(rng.unit());
                    let frames = (seconds * 48_000.0 / 512.0).ceil() as usize;
                    let decay_db_per_frame = 0.05 + 2.0 * rng.unit();
                    let top = 150.0 + 40.0 * rng.unit();
                    Fingerprint {
                        onset: rng.next() % 4800,
                        codes: (0..frames).map(|_| rng.next() as u16).collect(),
                        loudness: (0..frames)
                            .map(|f| {
                                let attack = if f < 2 { 10.0 * (2 - f) as f64 } else { 0.0 };
                                (top - attack - 2.0 * decay_db_per_frame * f as f64).max(62.0) as u8
                            })
                            .collect(),
                    }
                };
                let mut r = FileRecord::new(root, path(i), 1000, i as i64);
                r.content_hash = Some((i as u64).to_le_bytes().to_vec());
                r.codec = Some(if i % 3 == 0 { "mp3" } else { "pcm_s24le" }.into());
                r.sample_rate = Some(48_000);
                r.channels = Some(2);
                r.duration_s = Some(fp.seconds());
                let id = tx.upsert_file(&r)?;
                tx.set_fingerprint(id, &fp.to_bytes())?;
                made.push(fp);
            }
            Ok::<_, hark_store::Error>(())
        })
        .expect("write the catalog");
    if let Some(file) = args.get(3) {
        std::fs::write(file, planted).expect("write the planted pairs");
    }
    let frames: usize = made.iter().map(Fingerprint::len).sum();
    println!(
        "{n} files ({copies} copies), {frames} frames, {:.1} s of sound on average",
        frames as f64 * 512.0 / 48_000.0 / n as f64
    );
}
