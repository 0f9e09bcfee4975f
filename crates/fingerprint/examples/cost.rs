//! The fingerprint's cost per file (docs/benchmarks.md): times the
//! Fingerprinter over 10 s of mono 48 kHz (the indexer's stream for the
//! files of `cargo bench -p hark-indexer --bench index -- throughput`),
//! pushed in chunks of 1152 samples as the decoder gives them.
//! `cargo run --release -p hark-fingerprint --example cost`

use hark_fingerprint::Fingerprinter;

fn main() {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let samples: Vec<f32> = (0..480_000)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let noise = (state >> 40) as f32 / (1u64 << 23) as f32 - 1.0;
            0.3 * noise * (1.0 + (i as f32 / 20_000.0).sin()) / 2.0
        })
        .collect();
    let mut times = Vec::new();
    for _ in 0..21 {
        let started = std::time::Instant::now();
        let mut f = Fingerprinter::new();
        for chunk in samples.chunks(1152) {
            f.push(chunk);
        }
        let fp = f.finish();
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        assert!(fp.len() > 900);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "10 s of audio: median {:.2} ms, min {:.2} ms, max {:.2} ms (21 runs)",
        times[10], times[0], times[20]
    );
}
