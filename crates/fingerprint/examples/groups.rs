//! Prints the groups of copies among the files given (a measuring aid):
//! `cargo run --release -p hark-fingerprint --example groups -- FILE...`.
//! Files are fingerprinted here, not read from an index; the first file of
//! a group (in the order given) is its keeper.

use hark_fingerprint::{find_groups, Evidence, Fingerprint, Fingerprinter, Sound, Thresholds};

fn main() {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    let started = std::time::Instant::now();
    let prints: Vec<Fingerprint> = paths
        .iter()
        .map(|p| {
            let mut f = Fingerprinter::new();
            match hark_audio::decode_stream(std::path::Path::new(p), &mut |c| f.push(c)) {
                Ok(_) => f.finish(),
                Err(e) => {
                    eprintln!("skipped {p}: {e}");
                    Fingerprint::default()
                }
            }
        })
        .collect();
    eprintln!(
        "fingerprinted {} files in {:.1?}",
        paths.len(),
        started.elapsed()
    );
    let sounds: Vec<Sound<'_>> = prints
        .iter()
        .map(|f| Sound {
            fingerprint: Some(f),
            content: None,
        })
        .collect();
    let started = std::time::Instant::now();
    let (groups, work) = find_groups(&sounds, &Thresholds::default(), None);
    eprintln!(
        "{} groups; {} pairs by keys, {} by shape, {} compared, {} confirmed, in {:.1?}",
        groups.len(),
        work.keyed,
        work.shaped,
        work.compared,
        work.confirmed,
        started.elapsed()
    );
    for g in groups {
        println!("{}", paths[g.keeper]);
        for m in g.members {
            let how = match m.evidence {
                Evidence::Exact => "exact".to_string(),
                Evidence::Audio(m) => format!(
                    "{:?} bits {:.3} env {:.2} dB gain {:.1} dB",
                    m.relation, m.bit_errors, m.envelope_db, m.gain_db
                ),
            };
            let via = if m.to == g.keeper {
                String::new()
            } else {
                format!(" via {}", paths[m.to])
            };
            println!("  {} {how}{via}", paths[m.sound]);
        }
    }
}
