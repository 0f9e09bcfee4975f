//! Synthetic vectors for the ANN tests and benchmark: unit vectors around
//! random cluster centres, from a seeded generator so every run sees the
//! same data.

#![allow(dead_code)]

use std::path::Path;

use hark_store::{Catalog, FileId, FileRecord, RootId};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, StandardNormal};

pub const MODEL: &str = "laion/clap-htsat-fused@test";
pub const PIPELINE: &str = "hark-clap-1";
pub const DIM: usize = 512;

/// Unit vectors drawn around `clusters` random unit centres. A point is
/// its centre plus Gaussian noise of norm ~`spread` (drawn per point
/// between 0.6 and 1.0), normalised: points of a cluster have cosines
/// around 0.5 to the centre's other points, with a real nearest-neighbour
/// structure inside the cluster.
pub struct Clusters {
    centres: Vec<Vec<f32>>,
    rng: StdRng,
    dim: usize,
}

pub fn normalise(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    for x in v {
        *x /= norm;
    }
}

impl Clusters {
    pub fn new(seed: u64, clusters: usize, dim: usize) -> Clusters {
        let mut rng = StdRng::seed_from_u64(seed);
        let centres = (0..clusters)
            .map(|_| {
                let mut c: Vec<f32> = (0..dim).map(|_| rng.sample(StandardNormal)).collect();
                normalise(&mut c);
                c
            })
            .collect();
        Clusters { centres, rng, dim }
    }

    /// Draws further points from another stream (same centres): points
    /// held out from a set drawn before.
    pub fn reseed(&mut self, seed: u64) {
        self.rng = StdRng::seed_from_u64(seed ^ 0x9e37_79b9_7f4a_7c15);
    }

    pub fn sample(&mut self) -> Vec<f32> {
        let c = self.rng.random_range(0..self.centres.len());
        let spread: f32 = self.rng.random_range(0.6..1.0);
        let scale = spread / (self.dim as f32).sqrt();
        let mut v: Vec<f32> = self.centres[c]
            .iter()
            .map(|x| {
                let n: f32 = StandardNormal.sample(&mut self.rng);
                x + scale * n
            })
            .collect();
        normalise(&mut v);
        v
    }

    pub fn take(&mut self, n: usize) -> Vec<Vec<f32>> {
        (0..n).map(|_| self.sample()).collect()
    }
}

/// A catalog in a fresh directory, with one root.
pub fn catalog() -> (tempfile::TempDir, Catalog, RootId) {
    let dir = tempfile::tempdir().unwrap();
    let mut catalog = Catalog::open(dir.path()).unwrap();
    let root = catalog
        .transaction(|tx| tx.add_root(Path::new("/lib")))
        .unwrap();
    (dir, catalog, root)
}

/// Adds files `/lib/<first + i>.wav` with the given vectors, in one
/// transaction; returns their ids.
pub fn add_files(
    catalog: &mut Catalog,
    root: RootId,
    first: usize,
    vectors: &[Vec<f32>],
    model: &str,
) -> Vec<FileId> {
    catalog
        .transaction(|tx| {
            vectors
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let path = format!("/lib/{}.wav", first + i);
                    let mut r = FileRecord::new(root, &path, 1, 1);
                    r.content_hash = Some(path.clone().into_bytes());
                    let id = tx.upsert_file(&r)?;
                    tx.set_vector(id, model, PIPELINE, v)?;
                    Ok::<_, hark_store::Error>(id)
                })
                .collect()
        })
        .unwrap()
}

/// Exact top-k by cosine over (id, vector) pairs, in f64; ties to the
/// smaller id.
pub fn exact(set: &[(FileId, Vec<f32>)], q: &[f32], k: usize) -> Vec<(FileId, f64)> {
    let qn = q.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let mut scored: Vec<(FileId, f64)> = set
        .iter()
        .map(|(id, v)| {
            let d: f64 = v.iter().zip(q).map(|(a, b)| *a as f64 * *b as f64).sum();
            (*id, d / qn)
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    scored.truncate(k);
    scored
}
