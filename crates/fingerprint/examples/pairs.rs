//! Prints the comparison of every pair of the files given (a measuring aid
//! for the thresholds): bit errors, envelope difference, relation.

use hark_fingerprint::{compare, Fingerprint, Fingerprinter, Thresholds};

fn main() {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    let prints: Vec<Fingerprint> = paths
        .iter()
        .map(|p| {
            let mut f = Fingerprinter::new();
            hark_audio::decode_stream(std::path::Path::new(p), &mut |c| f.push(c))
                .unwrap_or_else(|e| panic!("{p}: {e}"));
            f.finish()
        })
        .collect();
    let loose = Thresholds {
        max_bit_errors: 1.0,
        max_envelope_db: 1000.0,
        ..Thresholds::default()
    };
    for i in 0..paths.len() {
        for j in i + 1..paths.len() {
            let m = compare(&prints[i], &prints[j], &loose);
            let short = |p: &str| p.rsplit('/').next().unwrap_or(p).to_owned();
            match m {
                Some(m) => println!(
                    "{:.3} {:5.2}dB gain {:6.2} {:?} off {} | {} ~ {}",
                    m.bit_errors,
                    m.envelope_db,
                    m.gain_db,
                    m.relation,
                    m.offset,
                    short(&paths[i]),
                    short(&paths[j])
                ),
                None => println!("none | {} ~ {}", short(&paths[i]), short(&paths[j])),
            }
        }
    }
}
