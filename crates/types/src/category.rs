//! A UCS category suggested for a file that has none (`hark categorize`,
//! and the terminal UI's detail pane), with the evidence behind it.

use std::path::PathBuf;

use crate::FileId;

/// The UCS categories suggested for one file, most likely first, and why.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CategorySuggestion {
    /// The file's id.
    pub id: FileId,
    /// Its path.
    pub path: PathBuf,
    /// The likeliest CatIDs, most likely first (at most three); empty only
    /// when there was nothing to go on.
    pub candidates: Vec<CategoryCandidate>,
    /// What the confidences rest on.
    pub evidence: CategoryEvidence,
}

/// One suggested CatID.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CategoryCandidate {
    /// The UCS CatID (`DOORWood`).
    pub cat_id: String,
    /// Its Category (`DOORS`).
    pub category: String,
    /// Its SubCategory (`WOOD`).
    pub subcategory: String,
    /// How sure, in [0, 1]: the share of the evidence for this CatID.
    pub confidence: f32,
    /// How many of the nearest categorised files ([`CategoryEvidence::neighbours`]) have it.
    pub neighbours: usize,
    /// How many of the copies ([`CategoryEvidence::copies`]) have it.
    pub copies: usize,
    /// Its zero-shot probability: how well the file matches the CatID's
    /// description through CLAP's text tower, against every other CatID's.
    pub zero_shot: f32,
}

/// A categorised file consulted for a suggestion.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LabelledFile {
    /// Its path.
    pub path: PathBuf,
    /// Its CatID.
    pub cat_id: String,
    /// The cosine similarity of its sound to the file's.
    pub similarity: f32,
}

/// What a suggestion rests on.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CategoryEvidence {
    /// Categorised files that hold the same audio (the same bytes, or the
    /// same recording in another format, trimmed, or an excerpt of it): a
    /// copy's CatID all but decides.
    pub copies: Vec<LabelledFile>,
    /// The nearest categorised files by sound, nearest first, that voted.
    pub neighbours: Vec<LabelledFile>,
    /// The share of the confidence that came from the user's files (copies
    /// and neighbours), in [0, 1]; the rest is the zero-shot match.
    pub library_weight: f32,
    /// The zero-shot match's own favourite and its probability.
    pub zero_shot_best: Option<(String, f32)>,
}

impl CategorySuggestion {
    /// The likeliest candidate.
    pub fn best(&self) -> Option<&CategoryCandidate> {
        self.candidates.first()
    }

    /// The likeliest candidate if its confidence reaches `min_confidence`:
    /// the suggestion, or `None` for "no suggestion".
    pub fn suggested(&self, min_confidence: f32) -> Option<&CategoryCandidate> {
        self.best().filter(|c| c.confidence >= min_confidence)
    }

    /// The evidence for `candidate` in words, one line:
    /// "8 of your 10 nearest categorised files are DOORWood (nearest
    /// `creak.wav`, 0.93); zero-shot 42%". File names are as stored: show
    /// them through [`crate::terminal::escape`] on a terminal.
    pub fn explain(&self, candidate: &CategoryCandidate) -> String {
        let ev = &self.evidence;
        let id = &candidate.cat_id;
        let name = |f: &LabelledFile| {
            f.path
                .file_name()
                .map_or_else(|| f.path.to_string_lossy(), |n| n.to_string_lossy())
                .into_owned()
        };
        let mut parts = Vec::new();
        if let Some(copy) = ev.copies.iter().find(|c| &c.cat_id == id) {
            let more = candidate.copies - 1;
            parts.push(match more {
                0 => format!("same audio as `{}` ({id})", name(copy)),
                n => format!("same audio as `{}` and {n} more ({id})", name(copy)),
            });
        }
        let others = ev.copies.len() - candidate.copies;
        if others > 0 {
            parts.push(format!(
                "{others} cop{} labelled otherwise",
                if others == 1 { "y" } else { "ies" }
            ));
        }
        match ev.neighbours.first() {
            None => parts.push("no categorised files to learn from".into()),
            Some(nearest) => {
                let n = ev.neighbours.len();
                let agree = candidate.neighbours;
                let files = if n == 1 { "file" } else { "files" };
                let verb = if agree == 1 { "is" } else { "are" };
                let head = if n == 1 {
                    format!(
                        "your nearest categorised file {}",
                        if agree == 1 { "is" } else { "is not" }
                    )
                } else if agree == 0 {
                    format!("none of your {n} nearest categorised {files} is")
                } else {
                    format!("{agree} of your {n} nearest categorised {files} {verb}")
                };
                parts.push(format!(
                    "{head} {id} (nearest `{}` {}, {:.2})",
                    name(nearest),
                    nearest.cat_id,
                    nearest.similarity
                ));
            }
        }
        let mut zero_shot = format!("zero-shot {}", percent(candidate.zero_shot));
        if let Some((best, p)) = &ev.zero_shot_best {
            if best != id {
                zero_shot.push_str(&format!(" (its favourite: {best} {})", percent(*p)));
            }
        }
        parts.push(zero_shot);
        parts.join("; ")
    }
}

/// `42%`, `0.3%`, `<0.1%`.
fn percent(p: f32) -> String {
    let p = 100.0 * p;
    if p >= 9.95 {
        format!("{p:.0}%")
    } else if p >= 0.05 {
        format!("{p:.1}%")
    } else {
        "<0.1%".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labelled(name: &str, cat_id: &str, similarity: f32) -> LabelledFile {
        LabelledFile {
            path: PathBuf::from("/lib").join(name),
            cat_id: cat_id.into(),
            similarity,
        }
    }

    fn candidate(
        cat_id: &str,
        confidence: f32,
        neighbours: usize,
        copies: usize,
    ) -> CategoryCandidate {
        CategoryCandidate {
            cat_id: cat_id.into(),
            confidence,
            neighbours,
            copies,
            zero_shot: 0.42,
            ..Default::default()
        }
    }

    #[test]
    fn the_evidence_reads_as_one_line() {
        let mut s = CategorySuggestion {
            candidates: vec![
                candidate("DOORWood", 0.8, 2, 0),
                candidate("DOORMetl", 0.1, 1, 0),
            ],
            evidence: CategoryEvidence {
                neighbours: vec![
                    labelled("creak.wav", "DOORWood", 0.93),
                    labelled("slam.wav", "DOORMetl", 0.9),
                    labelled("knock.wav", "DOORWood", 0.8),
                ],
                zero_shot_best: Some(("DOORWood".into(), 0.42)),
                ..Default::default()
            },
            ..Default::default()
        };
        assert_eq!(
            s.explain(&s.candidates[0]),
            "2 of your 3 nearest categorised files are DOORWood (nearest `creak.wav` DOORWood, 0.93); zero-shot 42%"
        );
        assert_eq!(
            s.explain(&s.candidates[1]),
            "1 of your 3 nearest categorised files is DOORMetl (nearest `creak.wav` DOORWood, 0.93); \
             zero-shot 42% (its favourite: DOORWood 42%)"
        );
        assert_eq!(
            s.suggested(0.8).map(|c| c.cat_id.as_str()),
            Some("DOORWood")
        );
        assert_eq!(s.suggested(0.81), None);

        s.evidence.copies = vec![labelled("DOORWood_Creak_JD_Lib.wav", "DOORWood", 0.999)];
        s.candidates[0].copies = 1;
        assert!(s
            .explain(&s.candidates[0])
            .starts_with("same audio as `DOORWood_Creak_JD_Lib.wav` (DOORWood); 2 of your 3"));
        assert!(s
            .explain(&s.candidates[1])
            .starts_with("1 copy labelled otherwise; 1 of your 3"));

        let alone = CategorySuggestion {
            candidates: vec![candidate("RAIN", 0.004, 0, 0)],
            ..Default::default()
        };
        assert_eq!(
            alone.explain(&alone.candidates[0]),
            "no categorised files to learn from; zero-shot 42%"
        );
        assert_eq!(percent(0.004), "0.4%");
        assert_eq!(percent(0.0001), "<0.1%");
    }
}
