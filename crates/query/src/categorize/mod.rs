//! Suggesting a UCS category for each file that has none, from two kinds
//! of evidence, combined and explained:
//!
//! - the user's own library: files already UCS-named or categorised in
//!   their tags are labelled examples ([`label_of`]); the
//!   [`NEIGHBOURS`] nearest labelled files by CLAP vector vote, each
//!   weighted by how close it is, and a labelled file holding the same
//!   audio (a copy: the same bytes, or the same recording by its
//!   fingerprint) all but decides (`vote`);
//! - zero-shot CLAP: each UCS CatID described in a few texts (its
//!   category and subcategory, the UCS explanation, its synonyms), put
//!   through the text tower, averaged and normalised, then matched against
//!   the file's vector (`zero_shot`; the vectors are cached per model in
//!   the index directory, [`ZERO_SHOT_CACHE_FILE`]).
//!
//! The engine side (which files, their neighbours, their fingerprints) is
//! [`crate::Categorizer`]; this module holds the parts that need no index:
//! the UCS list as numbered CatIDs, the labelling rule, the vote and the
//! zero-shot texts and their cache.
//!
//! # The combination
//!
//! Every CatID `c` gets a probability, the confidence:
//!
//! ```text
//! P(c) = (Σ_{neighbours i with CatID c} w_i + λ·Z(c)) / (Σ_i w_i + λ)
//! w_i  = exp(-(1 - s_i) / τ)          s_i: the cosine similarity of neighbour i
//! Z(c) = softmax_c(cos(file, text_c) · 100)
//! ```
//!
//! with τ = [`SIMILARITY_SCALE`] and λ = [`ZERO_SHOT_WEIGHT`]: a neighbour
//! with the same sound counts as much as the whole zero-shot match, one at
//! cosine 0.85 a third as much, one at 0.5 almost nothing; a library with no
//! labelled files gets the zero-shot match alone. When some of the labelled
//! neighbours are copies of the file, `P` becomes
//! `COPY_SHARE · (share of the copies with c) + (1 - COPY_SHARE) · P`.
//! The constants are reasoned, not fitted: `hark categorize --evaluate`
//! measures them on a real library.

mod labels;
mod vote;
mod zero_shot;

pub use labels::{label_of, Label};
pub(crate) use vote::{combine, zero_shot_probabilities, Vote};
pub use vote::{COPY_SHARE, SIMILARITY_SCALE, ZERO_SHOT_SCALE, ZERO_SHOT_WEIGHT};
pub(crate) use zero_shot::{embed_category_texts, load_cached, save_cache, CategoryTexts};
pub use zero_shot::{prompts, ZERO_SHOT_CACHE_FILE};

use std::collections::HashMap;
use std::sync::OnceLock;

use hark_audio::UcsEntry;

/// How many labelled neighbours vote.
pub const NEIGHBOURS: usize = 10;

/// The confidence below which `hark categorize` says "no suggestion"
/// unless told otherwise (`--min-confidence`), and the terminal UI shows
/// no suggestion to accept.
pub const DEFAULT_MIN_CONFIDENCE: f32 = 0.5;

/// A CatID as its position in the UCS list ([`ucs`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CatIdx(pub u16);

impl CatIdx {
    /// The CatID's entry in the UCS list.
    pub fn entry(self) -> &'static UcsEntry {
        &ucs()[self.0 as usize]
    }

    /// The CatID of `cat_id`, in the list's exact spelling.
    pub fn of(cat_id: &str) -> Option<CatIdx> {
        static INDEX: OnceLock<HashMap<&'static str, CatIdx>> = OnceLock::new();
        INDEX
            .get_or_init(|| {
                ucs()
                    .iter()
                    .enumerate()
                    .map(|(i, e)| (e.cat_id, CatIdx(i as u16)))
                    .collect()
            })
            .get(cat_id)
            .copied()
    }
}

/// The UCS list (hark-audio's, 752 CatIDs), numbered by [`CatIdx`].
pub fn ucs() -> &'static [UcsEntry] {
    static LIST: OnceLock<Vec<UcsEntry>> = OnceLock::new();
    LIST.get_or_init(|| hark_audio::ucs_list().collect())
}
