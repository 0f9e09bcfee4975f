//! A deterministic in-memory backend for the tests and the demo: eight
//! sounds with fixed names, tags, lengths and waveforms. It is not a
//! search engine: "searching" matches query words against fixed word lists
//! (names for the full-text stage, a few descriptive words for the sound
//! stage), so every list it returns is known in advance: the only copies
//! are the distant thunder, said to be contained in the forest ambience at
//! 0:31, and the click has no fingerprint. Good for rendering
//! and state tests and for driving the real binary; says nothing about
//! ranking quality.

#![allow(dead_code)] // Each test binary uses a different part of it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hark_tui::backend::{CategoryEvidence, LabelledFile};
use hark_tui::{
    Backend, CategoryCandidate, CategorySuggestion, Copies, Duplicate, FileDetail, FileId, Hit,
    IndexSummary, Matched,
};

/// One made-up sound.
#[derive(Debug, Clone)]
pub struct FakeSound {
    pub id: i64,
    pub name: &'static str,
    /// Words of its name, lower case (the full-text stage matches these).
    pub words: &'static [&'static str],
    /// Words for what it sounds like (the sound stage matches these).
    pub sounds_like: &'static [&'static str],
    pub duration_s: f64,
    pub sample_rate: u32,
    pub channels: u16,
    /// A tone frequency for the generated audio.
    pub hz: f32,
    pub description: &'static str,
    pub ucs: Option<(&'static str, &'static str, &'static str, &'static str)>,
    /// Where the sound match is, for long files.
    pub offset_s: Option<f64>,
}

pub const SOUNDS: &[FakeSound] = &[
    FakeSound {
        id: 1,
        name: "DOORWood_Creak Open Slow_HARK.wav",
        words: &["door", "wood", "creak", "open", "slow"],
        sounds_like: &["squeak", "hinge", "old"],
        duration_s: 3.2,
        sample_rate: 48000,
        channels: 2,
        hz: 220.0,
        description: "Old wooden door creaks open slowly",
        ucs: Some(("DOORWood", "DOORS", "WOOD", "Creak Open Slow")),
        offset_s: None,
    },
    FakeSound {
        id: 2,
        name: "THUNDER_Distant Rumble_HARK.wav",
        words: &["thunder", "distant", "rumble"],
        sounds_like: &["storm", "weather", "boom", "low"],
        duration_s: 12.0,
        sample_rate: 48000,
        channels: 2,
        hz: 55.0,
        description: "Distant thunder rolling over hills",
        ucs: None,
        offset_s: None,
    },
    FakeSound {
        id: 3,
        name: "FOOTGravel_Wet Steps_HARK.wav",
        words: &["foot", "gravel", "wet", "steps"],
        sounds_like: &["walk", "crunch", "footsteps"],
        duration_s: 6.5,
        sample_rate: 44100,
        channels: 1,
        hz: 330.0,
        description: "Slow steps on wet gravel",
        ucs: Some(("FOOTGrvl", "FOOTSTEPS", "GRAVEL", "Wet Steps")),
        offset_s: None,
    },
    FakeSound {
        id: 4,
        name: "WATRDrip_Cave Drips_HARK.wav",
        words: &["water", "drip", "cave", "drips"],
        sounds_like: &["echo", "reverb", "low"],
        duration_s: 20.0,
        sample_rate: 48000,
        channels: 2,
        hz: 880.0,
        description: "Water drips in a large cave",
        ucs: Some(("WATRDrip", "WATER", "DRIP", "Cave Drips")),
        offset_s: None,
    },
    FakeSound {
        id: 5,
        name: "AMBForst_Birds Morning Long_HARK.wav",
        words: &["ambience", "forest", "birds", "morning", "long"],
        sounds_like: &["nature", "chirp", "storm"],
        duration_s: 60.0,
        sample_rate: 48000,
        channels: 1,
        hz: 1320.0,
        description: "Morning birds in a forest, one hour condensed",
        ucs: Some(("AMBForst", "AMBIENCE", "FOREST", "Birds Morning Long")),
        offset_s: Some(31.5),
    },
    FakeSound {
        id: 6,
        name: "GLASS_Break Bottle_HARK.wav",
        words: &["glass", "break", "bottle"],
        sounds_like: &["shatter", "crash"],
        duration_s: 1.8,
        sample_rate: 48000,
        channels: 1,
        hz: 2640.0,
        description: "A bottle shatters on concrete",
        ucs: None,
        offset_s: None,
    },
    FakeSound {
        id: 7,
        name: "WHOOSH_Fast Pass_HARK.wav",
        words: &["whoosh", "fast", "pass"],
        sounds_like: &["swish", "air"],
        duration_s: 0.9,
        sample_rate: 48000,
        channels: 2,
        hz: 440.0,
        description: "Fast whoosh passing left to right",
        ucs: None,
        offset_s: None,
    },
    FakeSound {
        id: 8,
        name: "UI_Click Soft_HARK.wav",
        words: &["ui", "click", "soft"],
        sounds_like: &["tick", "button"],
        duration_s: 0.12,
        sample_rate: 48000,
        channels: 1,
        hz: 1000.0,
        description: "A soft interface click",
        ucs: None,
        offset_s: None,
    },
];

/// The fake's error.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct FakeError(pub String);

/// A parsed query: words to find, words to exclude.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeQuery {
    pub words: Vec<String>,
    pub excluded: Vec<String>,
}

/// "Vectors": the words the sound stage matches.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeVectors(pub Vec<String>);

/// See the module docs.
pub struct FakeBackend {
    root: PathBuf,
    embed_delay: Duration,
    published: AtomicU64,
    seen: AtomicU64,
    publish_at: Mutex<Option<Instant>>,
    /// How many times the text tower ran.
    pub embeds: AtomicUsize,
    /// Every call, in order, as "method arg".
    pub calls: Mutex<Vec<String>>,
    /// CatIDs written by `accept_category`, by file id.
    pub accepted: Mutex<Vec<(i64, String)>>,
}

/// The category the fake suggests for each sound without one: CatID,
/// Category, SubCategory, confidence (the whoosh's is below the default
/// threshold of 0.5).
pub fn fake_suggestion(id: i64) -> Option<(&'static str, &'static str, &'static str, f32)> {
    match id {
        2 => Some(("THUN", "WEATHER", "THUNDER", 0.81)),
        6 => Some(("GLASBrk", "GLASS", "BREAK", 0.92)),
        7 => Some(("DSGNWhsh", "DESIGNED", "WHOOSH", 0.31)),
        8 => Some(("UIClick", "USER INTERFACE", "CLICK", 0.88)),
        _ => None,
    }
}

impl FakeBackend {
    /// Sounds under `root` (which need not exist unless they are played),
    /// with the text tower taking `embed_delay`.
    pub fn new(root: &Path, embed_delay: Duration) -> Self {
        FakeBackend {
            root: root.to_path_buf(),
            embed_delay,
            published: AtomicU64::new(0),
            seen: AtomicU64::new(0),
            publish_at: Mutex::new(None),
            embeds: AtomicUsize::new(0),
            calls: Mutex::new(Vec::new()),
            accepted: Mutex::new(Vec::new()),
        }
    }

    /// Pretends a cron run published a new index.
    pub fn publish(&self) {
        self.published.fetch_add(1, Ordering::SeqCst);
    }

    /// Pretends a cron run publishes a new index `after` from now.
    pub fn publish_after(&self, after: Duration) {
        *self.publish_at.lock().unwrap() = Some(Instant::now() + after);
    }

    pub fn path_of(&self, sound: &FakeSound) -> PathBuf {
        self.root.join(sound.name)
    }

    fn log(&self, call: String) {
        self.calls.lock().unwrap().push(call);
    }

    fn hit(&self, s: &FakeSound, score: f32, matched: Matched) -> Hit {
        Hit {
            id: FileId(s.id),
            path: self.path_of(s),
            score,
            duration_s: Some(s.duration_s),
            sample_rate: Some(s.sample_rate),
            channels: Some(u32::from(s.channels)),
            offset_s: if matches!(matched, Matched::Sound | Matched::Both) {
                s.offset_s
            } else {
                None
            },
            matched,
        }
    }

    fn find(&self, id: FileId) -> Result<&'static FakeSound, FakeError> {
        SOUNDS
            .iter()
            .find(|s| s.id == id.0)
            .ok_or_else(|| FakeError(format!("no file with id {}", id.0)))
    }

    fn ranked(&self, q: &FakeQuery, v: Option<&FakeVectors>) -> Vec<Hit> {
        let mut hits: Vec<Hit> = SOUNDS
            .iter()
            .filter(|s| !q.excluded.iter().any(|w| s.words.contains(&w.as_str())))
            .filter_map(|s| {
                let by_words = q
                    .words
                    .iter()
                    .filter(|w| s.words.contains(&w.as_str()))
                    .count();
                let by_sound = v.map_or(0, |v| {
                    v.0.iter()
                        .filter(|w| {
                            s.sounds_like.contains(&w.as_str()) || s.words.contains(&w.as_str())
                        })
                        .count()
                });
                let matched = match (by_words > 0, by_sound > 0) {
                    (true, true) => Matched::Both,
                    (true, false) => Matched::Words,
                    (false, true) => Matched::Sound,
                    (false, false) => return None,
                };
                let score = (by_words + by_sound) as f32 / (2 * q.words.len().max(1)) as f32;
                Some(self.hit(s, score, matched))
            })
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
        hits
    }
}

/// A synthetic waveform: a tone under an envelope that rises and decays,
/// with a burst every second, so each file's picture differs.
pub fn synth(sound: &FakeSound) -> Vec<f32> {
    let n = (sound.duration_s * f64::from(sound.sample_rate)) as usize;
    (0..n)
        .map(|i| {
            let t = i as f32 / sound.sample_rate as f32;
            let x = i as f32 / n as f32;
            let envelope = (x * 8.0).min(1.0) * (1.0 - x).powf(0.7);
            let burst = if (t % 1.0) < 0.08 { 1.0 } else { 0.45 };
            0.8 * envelope * burst * (std::f32::consts::TAU * sound.hz * t).sin()
        })
        .collect()
}

/// 512 (min, max) peaks of `samples` on a ±127 scale.
pub fn peaks_of(samples: &[f32]) -> Vec<(i8, i8)> {
    const BUCKETS: usize = 512;
    (0..BUCKETS)
        .map(|b| {
            let start = b * samples.len() / BUCKETS;
            let end = ((b + 1) * samples.len() / BUCKETS)
                .max(start + 1)
                .min(samples.len());
            let (lo, hi) = samples[start.min(samples.len())..end]
                .iter()
                .fold((0.0f32, 0.0f32), |(lo, hi), &s| (lo.min(s), hi.max(s)));
            ((lo * 127.0).floor() as i8, (hi * 127.0).ceil() as i8)
        })
        .collect()
}

/// Writes every sound as a 16-bit WAV under `root`, with its channel count
/// and rate (for the demo and the playback tests).
pub fn write_sounds(root: &Path) -> std::io::Result<()> {
    for s in SOUNDS {
        let spec = hound::WavSpec {
            channels: s.channels,
            sample_rate: s.sample_rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w =
            hound::WavWriter::create(root.join(s.name), spec).map_err(std::io::Error::other)?;
        for x in synth(s) {
            for _ in 0..s.channels {
                w.write_sample((x * 32767.0) as i16)
                    .map_err(std::io::Error::other)?;
            }
        }
        w.finalize().map_err(std::io::Error::other)?;
    }
    Ok(())
}

impl Backend for FakeBackend {
    type Query = FakeQuery;
    type Vectors = FakeVectors;
    type Error = FakeError;

    fn parse(&self, query: &str) -> Result<FakeQuery, FakeError> {
        self.log(format!("parse {query}"));
        let mut q = FakeQuery {
            words: Vec::new(),
            excluded: Vec::new(),
        };
        for token in query.split_whitespace() {
            let token = token.to_lowercase();
            if let Some((field, _)) = token.split_once(':') {
                return Err(FakeError(format!("unknown filter `{field}:`")));
            }
            match token.strip_prefix('-') {
                Some(word) if !word.is_empty() => q.excluded.push(word.to_string()),
                _ => q.words.push(token),
            }
        }
        Ok(q)
    }

    fn embed_query(&self, q: &FakeQuery) -> Result<FakeVectors, FakeError> {
        self.log(format!("embed {}", q.words.join(" ")));
        std::thread::sleep(self.embed_delay);
        self.embeds.fetch_add(1, Ordering::SeqCst);
        Ok(FakeVectors(q.words.clone()))
    }

    fn run(&self, q: &FakeQuery, v: Option<&FakeVectors>, k: usize) -> Result<Vec<Hit>, FakeError> {
        self.log(format!("run {} vectors={}", q.words.join(" "), v.is_some()));
        let mut hits = self.ranked(q, v);
        hits.truncate(k);
        Ok(hits)
    }

    fn similar(&self, id: FileId, k: usize) -> Result<Vec<Hit>, FakeError> {
        self.log(format!("similar {}", id.0));
        self.find(id)?;
        let mut hits: Vec<Hit> = SOUNDS
            .iter()
            .filter(|s| s.id != id.0)
            .map(|s| self.hit(s, 1.0 / (1.0 + (s.id - id.0).abs() as f32), Matched::Sound))
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
        hits.truncate(k);
        Ok(hits)
    }

    fn copies(&self, id: FileId) -> Result<Copies, FakeError> {
        self.log(format!("copies {}", id.0));
        self.find(id)?;
        let copy = |id: i64, relation: &str| Duplicate {
            hit: self.hit(
                self.find(FileId(id)).expect("a fake sound"),
                0.0,
                Matched::Filter,
            ),
            relation: relation.into(),
        };
        Ok(match id.0 {
            2 | 5 => Copies {
                files: vec![copy(5, "keep"), copy(2, "contained at 0:31")],
                fingerprinted: true,
            },
            8 => Copies::default(),
            _ => Copies {
                files: Vec::new(),
                fingerprinted: true,
            },
        })
    }

    fn refine(
        &self,
        q: &FakeQuery,
        v: Option<&FakeVectors>,
        wanted: &[FileId],
        unwanted: &[FileId],
        k: usize,
    ) -> Result<Vec<Hit>, FakeError> {
        self.log(format!(
            "refine {} +{:?} -{:?}",
            q.words.join(" "),
            wanted.iter().map(|f| f.0).collect::<Vec<_>>(),
            unwanted.iter().map(|f| f.0).collect::<Vec<_>>()
        ));
        let mut hits = if q.words.is_empty() {
            SOUNDS
                .iter()
                .map(|s| self.hit(s, 0.5, Matched::Sound))
                .collect()
        } else {
            self.ranked(q, v)
        };
        for h in &mut hits {
            if wanted.contains(&h.id) {
                h.score += 1.0;
            }
            if unwanted.contains(&h.id) {
                h.score -= 1.0;
            }
        }
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
        hits.truncate(k);
        Ok(hits)
    }

    fn recent(&self, k: usize) -> Result<Vec<Hit>, FakeError> {
        self.log("recent".into());
        Ok(SOUNDS
            .iter()
            .rev()
            .take(k)
            .map(|s| self.hit(s, 0.0, Matched::Filter))
            .collect())
    }

    fn detail(&self, id: FileId) -> Result<FileDetail, FakeError> {
        self.log(format!("detail {}", id.0));
        let s = self.find(id)?;
        Ok(FileDetail {
            id,
            path: self.path_of(s),
            format: Some("wav".into()),
            codec: Some("pcm_s16le".into()),
            duration_s: Some(s.duration_s),
            sample_rate: Some(s.sample_rate),
            channels: Some(u32::from(s.channels)),
            bits_per_sample: Some(16),
            tags: [
                ("riff.ISFT".to_string(), "hark demo".to_string()),
                ("bext.Description".into(), s.description.into()),
            ]
            .into_iter()
            .chain(
                self.accepted_of(id.0)
                    .map(|cat_id| ("ixml.USER.CATID".to_string(), cat_id)),
            )
            .collect(),
            ucs_cat_id: s.ucs.map(|u| u.0.into()),
            ucs_category: s.ucs.map(|u| u.1.into()),
            ucs_subcategory: s.ucs.map(|u| u.2.into()),
            ucs_fx_name: s.ucs.map(|u| u.3.into()),
            peaks: peaks_of(&synth(s)),
            ..FileDetail::default()
        })
    }

    fn reload_if_changed(&self) -> Result<bool, FakeError> {
        let mut at = self.publish_at.lock().unwrap();
        if at.is_some_and(|t| t <= Instant::now()) {
            *at = None;
            self.publish();
        }
        let published = self.published.load(Ordering::SeqCst);
        Ok(self.seen.swap(published, Ordering::SeqCst) != published)
    }

    fn summary(&self) -> Result<IndexSummary, FakeError> {
        Ok(IndexSummary {
            files: SOUNDS.len() as u64 + 1,
            embedded: SOUNDS.len() as u64,
            failed: 1,
            model: Some("fake/clap@0000000".into()),
            ..IndexSummary::default()
        })
    }

    fn suggest_category(&self, id: FileId) -> Result<Option<CategorySuggestion>, FakeError> {
        self.log(format!("suggest {}", id.0));
        let s = self.find(id)?;
        if s.ucs.is_some() || self.accepted_of(id.0).is_some() {
            return Ok(None);
        }
        let Some((cat_id, category, subcategory, confidence)) = fake_suggestion(id.0) else {
            return Err(FakeError("no model to suggest with".into()));
        };
        let door = &SOUNDS[0];
        Ok(Some(CategorySuggestion {
            id,
            path: self.path_of(s),
            candidates: vec![CategoryCandidate {
                cat_id: cat_id.into(),
                category: category.into(),
                subcategory: subcategory.into(),
                confidence,
                neighbours: 0,
                copies: 0,
                zero_shot: confidence,
            }],
            evidence: CategoryEvidence {
                copies: Vec::new(),
                neighbours: vec![LabelledFile {
                    path: self.path_of(door),
                    cat_id: "DOORWood".into(),
                    similarity: 0.42,
                }],
                library_weight: 0.05,
                zero_shot_best: Some((cat_id.into(), confidence)),
            },
        }))
    }

    fn accept_category(&self, id: FileId, cat_id: &str) -> Result<(), FakeError> {
        self.log(format!("accept {} {cat_id}", id.0));
        self.find(id)?;
        self.accepted
            .lock()
            .unwrap()
            .push((id.0, cat_id.to_string()));
        Ok(())
    }
}

impl FakeBackend {
    /// The CatID accepted for a file, if any.
    fn accepted_of(&self, id: i64) -> Option<String> {
        self.accepted
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|(i, _)| *i == id)
            .map(|(_, c)| c.clone())
    }
}
