//! hark-fingerprint computes an audio fingerprint from the mono 48 kHz
//! stream hark's indexer already decodes, and decides whether two sounds
//! are the same recording: in another container or codec, at another rate,
//! depth or gain, folded to mono, trimmed, or cut out of a longer take.
//!
//! Why not Chromaprint (or its Rust port): its frames are 371 ms apart at
//! 124 ms steps, so a 0.1 s kick has no frame at all, and one-shots are the
//! bulk of a sound library. This fingerprint uses 43 ms frames every
//! 10.7 ms, starting at the sound's onset (once a sample passes -70 dBFS,
//! the first within 30 dB of the loudest of the next 0.25 s, so a copy at
//! another gain starts at the same sample), which also lines up copies
//! whose leading silence was trimmed.
//! Each frame gives a 16-bit code, the signs of the change over time of the
//! level differences between 17 adjacent bands (Haitsma and Kalker's
//! scheme, on log energies so that gain cancels out), plus its loudness.
//! Two sounds match when, at their best alignment, few code bits differ
//! and their loudness envelopes agree once gain is removed: the second
//! test is what tells a kick from its louder velocity layer.

mod compare;
mod compute;
pub mod groups;

pub use compare::{compare, Match, Relation, Thresholds};
pub use compute::{Fingerprinter, FRAME, HOP, RATE};
pub use groups::{find_groups, Evidence, Group, Member, Sound};

/// A sound's fingerprint: one code and one loudness per frame, from its
/// onset to its last sounding frame.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fingerprint {
    /// Where the first frame starts, in samples at [`RATE`] from the start
    /// of the file (the leading silence skipped).
    pub onset: u64,
    /// One 16-bit code per frame.
    pub codes: Vec<u16>,
    /// Each frame's level in half decibels above -100 dB (0 = silence).
    pub loudness: Vec<u8>,
}

impl Fingerprint {
    /// Frames.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    /// Whether the sound never rose above the silence floor.
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// Seconds covered by the frames (from the onset).
    pub fn seconds(&self) -> f64 {
        self.codes.len() as f64 * HOP as f64 / RATE as f64
    }

    /// The stored form: a version byte, the onset (8 bytes, little
    /// endian), then per frame the code (2 bytes, little endian) and the
    /// loudness (1 byte).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(9 + 3 * self.codes.len());
        out.push(FORMAT_VERSION);
        out.extend(self.onset.to_le_bytes());
        for (code, loud) in self.codes.iter().zip(&self.loudness) {
            out.extend(code.to_le_bytes());
            out.push(*loud);
        }
        out
    }

    /// Reads [`Fingerprint::to_bytes`]; `None` for another version or a
    /// damaged value.
    pub fn from_bytes(bytes: &[u8]) -> Option<Fingerprint> {
        let (&version, rest) = bytes.split_first()?;
        if version != FORMAT_VERSION || rest.len() < 8 || (rest.len() - 8) % 3 != 0 {
            return None;
        }
        let onset = u64::from_le_bytes(rest[..8].try_into().ok()?);
        let frames = rest[8..].chunks_exact(3);
        let codes = frames
            .clone()
            .map(|f| u16::from_le_bytes([f[0], f[1]]))
            .collect();
        let loudness = frames.map(|f| f[2]).collect();
        Some(Fingerprint {
            onset,
            codes,
            loudness,
        })
    }
}

/// The version of [`Fingerprint::to_bytes`]'s layout and of the way it is
/// computed: a catalog holding another version computes them again.
pub const FORMAT_VERSION: u8 = 1;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_and_damage_is_refused() {
        let fp = Fingerprint {
            onset: 1234,
            codes: vec![1, 0xFFFF, 0x8001],
            loudness: vec![0, 200, 17],
        };
        let bytes = fp.to_bytes();
        assert_eq!(bytes.len(), 9 + 9);
        assert_eq!(Fingerprint::from_bytes(&bytes), Some(fp));
        assert_eq!(Fingerprint::from_bytes(&bytes[..bytes.len() - 1]), None);
        let mut other = bytes.clone();
        other[0] = FORMAT_VERSION + 1;
        assert_eq!(Fingerprint::from_bytes(&other), None);
    }
}
