//! `hark tui [QUERY]`: the terminal UI (crate hark-tui) on the search
//! engine (crate hark-query), joined by an adapter of a line per method.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use hark_audio::{TagEdit, UcsCategory};
use hark_indexer::tag::{TagBatch, TagOptions};
use hark_query::duplicates::{Copy, CopyRelation};
use hark_query::{
    CategorySuggestion, Engine, FileDetail, FileId, Hit, IndexSummary, Matched, Query,
    QueryVectors, SimilarTarget, SoundUnavailable,
};
use hark_tui::backend as ui;

use crate::{model_cmd, Cli};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A query to start with (the same language as `hark search`)
    #[arg(value_name = "QUERY", num_args = 0.., trailing_var_arg = true, allow_hyphen_values = true)]
    query: Vec<String>,
    /// Play nothing (sounds play silently, the position still moves)
    #[arg(long)]
    silent: bool,
    /// The log file; default $XDG_STATE_HOME/hark/tui.log (~/.local/state/hark/tui.log)
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
}

pub const TUI_HELP: &str = "\
Type to search (as you type); Down or Enter moves to the list. Space plays or stops, \
a toggles audition-on-select, Left/Right seek, s finds similar sounds, d lists the \
hit's copies (duplicates, as `hark duplicates` finds them), +/- mark hits as \
wanted/unwanted and re-rank, Backspace goes back, y copies the path, e copies the marked \
files into a folder, o opens the folder, c writes the suggested UCS category into the file \
(as `hark tag --category`; `hark tag --undo` undoes it), ? shows every key, q quits.

A file with no UCS category shows the category `hark categorize` suggests for it in the detail \
pane, with its evidence (once the model has described the UCS categories: the first time, \
about a minute with the full model); below the confidence of 0.5 it shows the best guess, \
which c does not write.

Logs go to the log file, never to the screen. A cron run that updates the index is picked up \
without a restart.";

/// The engine as the UI's backend: both speak hark-types, so each method
/// hands on to the engine's (and accepting a category to hark-indexer's
/// `tag`, as `hark tag` writes one).
struct EngineBackend(Engine);

/// What the backend's methods fail with: a query's error or a tag write's.
#[derive(Debug)]
enum BackendError {
    Query(hark_query::Error),
    Tag(hark_indexer::tag::Error),
    UnknownCatId(String),
}

impl std::fmt::Display for BackendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BackendError::Query(e) => e.fmt(f),
            BackendError::Tag(e) => e.fmt(f),
            BackendError::UnknownCatId(id) => write!(f, "`{id}` is not a UCS CatID"),
        }
    }
}

impl std::error::Error for BackendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BackendError::Query(e) => e.source(),
            BackendError::Tag(e) => e.source(),
            BackendError::UnknownCatId(_) => None,
        }
    }
}

impl From<hark_query::Error> for BackendError {
    fn from(e: hark_query::Error) -> Self {
        BackendError::Query(e)
    }
}

impl From<hark_indexer::tag::Error> for BackendError {
    fn from(e: hark_indexer::tag::Error) -> Self {
        BackendError::Tag(e)
    }
}

/// A query's vectors, and why they are empty when the sound ranking
/// cannot run (the list is then ranked by words, and the status line
/// says why).
struct Vectors {
    vectors: QueryVectors,
    words_only: Option<SoundUnavailable>,
}

impl ui::Backend for EngineBackend {
    type Query = Query;
    type Vectors = Vectors;
    type Error = BackendError;

    fn parse(&self, query: &str) -> Result<Query, Self::Error> {
        // The UI refines lists that have no query (similar sounds, the
        // library): an empty query, which the command line refuses, is
        // valid here and stands for "no words, no filters".
        if query.trim().is_empty() {
            return Ok(Query {
                source: String::new(),
                terms: Vec::new(),
                excluded: Vec::new(),
                filters: Vec::new(),
            });
        }
        Ok(self.0.parse(query)?)
    }

    fn embed_query(&self, query: &Query) -> Result<Vectors, Self::Error> {
        let (vectors, words_only) = self.0.embed_query_or_words(query)?;
        Ok(Vectors {
            vectors,
            words_only,
        })
    }

    fn note(&self, vectors: &Vectors) -> Option<String> {
        vectors.words_only.as_ref().map(ToString::to_string)
    }

    fn run(
        &self,
        query: &Query,
        vectors: Option<&Vectors>,
        k: usize,
    ) -> Result<Vec<Hit>, Self::Error> {
        Ok(self.0.run(query, vectors.map(|v| &v.vectors), k)?)
    }

    fn similar(&self, file: FileId, k: usize) -> Result<Vec<Hit>, Self::Error> {
        Ok(self.0.similar(&SimilarTarget::File(file), k, None)?)
    }

    fn copies(&self, file: FileId) -> Result<ui::Copies, Self::Error> {
        let found = self.0.copies_of(file)?;
        Ok(ui::Copies {
            files: found.files.into_iter().map(duplicate).collect(),
            fingerprinted: found.fingerprinted,
        })
    }

    fn refine(
        &self,
        query: &Query,
        vectors: Option<&Vectors>,
        wanted: &[FileId],
        unwanted: &[FileId],
        k: usize,
    ) -> Result<Vec<Hit>, Self::Error> {
        Ok(self
            .0
            .refine(query, vectors.map(|v| &v.vectors), wanted, unwanted, k)?)
    }

    fn recent(&self, k: usize) -> Result<Vec<Hit>, Self::Error> {
        Ok(self.0.recent(k)?)
    }

    fn detail(&self, file: FileId) -> Result<FileDetail, Self::Error> {
        Ok(self.0.detail(file)?)
    }

    fn reload_if_changed(&self) -> Result<bool, Self::Error> {
        Ok(self.0.reload_if_changed()?)
    }

    fn summary(&self) -> Result<IndexSummary, Self::Error> {
        Ok(self.0.summary()?)
    }

    fn suggest_category(&self, file: FileId) -> Result<Option<CategorySuggestion>, Self::Error> {
        Ok(self.0.suggest_category(file)?)
    }

    fn accept_category(&self, file: FileId, cat_id: &str) -> Result<(), Self::Error> {
        let category =
            UcsCategory::of(cat_id).ok_or_else(|| BackendError::UnknownCatId(cat_id.into()))?;
        let path = self.0.detail(file)?.path;
        let edit = TagEdit {
            category: Some(category),
            ..TagEdit::default()
        };
        // The batch holds the index's writer lock: released before the reload.
        TagBatch::open(self.0.index_dir(), false)?.tag(&path, &edit, &TagOptions::default())?;
        self.0.reload_if_changed()?;
        Ok(())
    }
}

/// A copy as the UI lists it: its relation in `hark duplicates`' words
/// (and the member it was linked through, when not the keeper), and, for a
/// file that contains the keeper, playback from where it does.
fn duplicate(copy: Copy) -> ui::Duplicate {
    let mut relation = copy.relation.to_string();
    if let Some(via) = &copy.via {
        let name = via.file_name().unwrap_or(via.as_os_str());
        relation.push_str(&format!(" (of {})", name.to_string_lossy()));
    }
    let offset_s = match copy.relation {
        CopyRelation::ContainsAt(at) => Some(at),
        _ => None,
    };
    ui::Duplicate {
        hit: Hit {
            id: copy.id,
            path: copy.path,
            // Not ranked: the UI shows no score for copies.
            score: 0.0,
            duration_s: copy.duration_s,
            sample_rate: copy.sample_rate,
            channels: copy.channels,
            offset_s,
            matched: Matched::Filter,
        },
        relation,
    }
}

/// The log file: `--log`, else `$XDG_STATE_HOME/hark/tui.log`.
fn log_file(args: &Args) -> anyhow::Result<PathBuf> {
    if let Some(log) = &args.log {
        return Ok(log.clone());
    }
    let dir = dirs::state_dir()
        .or_else(dirs::data_local_dir)
        .context("no directory for the log file: pass --log FILE")?
        .join("hark");
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create `{}` for the log file", dir.display()))?;
    Ok(dir.join("tui.log"))
}

pub fn run(cli: &Cli, args: &Args) -> anyhow::Result<ExitCode> {
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        anyhow::bail!(
            "`hark tui` needs a terminal\nhint: for scripts, use `hark search QUERY` (with --json or --paths)"
        );
    }
    let index_dir = cli.index_dir()?;
    crate::shared::refresh_replica(cli, &index_dir)?;
    // A session reads pages a first query may not: damage is reported now,
    // on the terminal, rather than as a failure inside the UI.
    if let Err(e) = hark_store::Catalog::open_readonly(&index_dir).and_then(|c| c.check()) {
        if e.is_damaged() {
            return Err(e.into());
        }
    }
    let engine = Engine::open(&index_dir, model_cmd::spec(cli))?;
    let mut options = hark_tui::runtime::TuiOptions::new(log_file(args)?);
    options.settings.min_confidence = hark_query::categorize::DEFAULT_MIN_CONFIDENCE;
    if args.silent {
        options.audio = hark_tui::runtime::AudioOutput::Silent;
    }
    let query = (!args.query.is_empty()).then(|| args.query.join(" "));
    // The replica follows the shared catalog while the UI runs; the
    // engine sees the changes as it sees a cron run's.
    let _sync = match crate::shared::address(cli)? {
        Some(address) => Some(crate::shared::keep_synced(address, index_dir.clone())?),
        None => None,
    };
    hark_tui::runtime::run(EngineBackend(engine), query, options)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ui::Backend;

    #[test]
    fn without_the_model_the_backend_finds_by_words_and_notes_why_once_per_query() {
        let dir = tempfile::tempdir().unwrap();
        let lib = dir.path().join("lib");
        std::fs::create_dir_all(&lib).unwrap();
        for (name, freq) in [("Kick Deep.wav", 60.0), ("Snare Tight.wav", 400.0)] {
            let spec = hound::WavSpec {
                channels: 1,
                sample_rate: 22_050,
                bits_per_sample: 16,
                sample_format: hound::SampleFormat::Int,
            };
            let mut w = hound::WavWriter::create(lib.join(name), spec).unwrap();
            for n in 0..5_000 {
                let x = (std::f32::consts::TAU * freq * n as f32 / 22_050.0).sin();
                w.write_sample((x * 10_000.0) as i16).unwrap();
            }
            w.finalize().unwrap();
        }
        let index = dir.path().join("index");
        let options = hark_indexer::Options {
            add_roots: vec![lib],
            ..hark_indexer::Options::default()
        };
        hark_indexer::run(&index, &options, None, &mut |_: hark_indexer::Event<'_>| {}).unwrap();
        let spec = hark_model::hub::ModelSpec::Dir(dir.path().join("no-model-here"));
        let backend = EngineBackend(Engine::open(&index, spec).unwrap());

        let query = backend.parse("kick").unwrap();
        let vectors = backend.embed_query(&query).unwrap();
        let note = backend.note(&vectors).expect("a note on the vectors");
        assert!(note.starts_with("searching by words only"), "{note}");
        let hits = backend.run(&query, Some(&vectors), 10).unwrap();
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert!(hits[0].path.ends_with("Kick Deep.wav"), "{hits:?}");
        assert_eq!(hits[0].matched, hark_query::Matched::Words);
    }

    /// A sweep as a 16-bit mono 48 kHz WAV (texture for the fingerprint).
    fn sweep(path: &std::path::Path, from: f32, to: f32) {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 48_000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(path, spec).unwrap();
        let mut phase = 0.0f32;
        for n in 0..72_000 {
            let hz = from + (to - from) * n as f32 / 72_000.0;
            phase += std::f32::consts::TAU * hz / 48_000.0;
            w.write_sample((phase.sin() * 12_000.0) as i16).unwrap();
        }
        w.finalize().unwrap();
    }

    #[test]
    fn the_backend_suggests_a_category_and_accepting_writes_it_undoably() {
        let dir = tempfile::tempdir().unwrap();
        let lib = dir.path().join("lib");
        std::fs::create_dir_all(&lib).unwrap();
        sweep(&lib.join("DOORWood_Creak_JD_Lib.wav"), 200.0, 2000.0);
        std::fs::copy(
            lib.join("DOORWood_Creak_JD_Lib.wav"),
            lib.join("take 3.wav"),
        )
        .unwrap();
        let lib = std::fs::canonicalize(lib).unwrap();
        let model_dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/clap-tiny");
        let location =
            hark_model::hub::locate(&hark_model::hub::ModelSpec::Dir(model_dir.clone())).unwrap();
        let clap = hark_model::Clap::load(&location).unwrap();
        let identity = location.identity().unwrap();
        let index = dir.path().join("index");
        let options = hark_indexer::Options {
            add_roots: vec![lib.clone()],
            ..hark_indexer::Options::default()
        };
        let model = hark_indexer::Model {
            clap: &clap,
            identity: &identity,
            name: "tiny",
        };
        hark_indexer::run(
            &index,
            &options,
            Some(model),
            &mut |_: hark_indexer::Event<'_>| {},
        )
        .unwrap();
        let backend = EngineBackend(
            Engine::open(&index, hark_model::hub::ModelSpec::Dir(model_dir)).unwrap(),
        );

        let id_of = |name: &str| {
            hark_store::Catalog::open_readonly(&index)
                .unwrap()
                .file_by_path(&lib.join(name))
                .unwrap()
                .unwrap()
                .id
        };
        let (named, copy) = (id_of("DOORWood_Creak_JD_Lib.wav"), id_of("take 3.wav"));
        assert_eq!(
            backend.suggest_category(named).unwrap(),
            None,
            "it has a category"
        );
        let s = backend
            .suggest_category(copy)
            .unwrap()
            .expect("a suggestion");
        let best = s
            .suggested(hark_query::categorize::DEFAULT_MIN_CONFIDENCE)
            .expect("above the threshold");
        assert_eq!(best.cat_id, "DOORWood");
        assert_eq!(s.evidence.copies.len(), 1);

        let before = std::fs::read(lib.join("take 3.wav")).unwrap();
        backend.accept_category(copy, "DOORWood").unwrap();
        // Written, the catalog row followed (same id), the engine reloaded.
        let detail = backend.detail(copy).unwrap();
        assert!(
            detail
                .tags
                .iter()
                .any(|(k, v)| k == "ixml.USER.CATID" && v == "DOORWood"),
            "{:?}",
            detail.tags
        );
        assert_eq!(
            detail.ucs_cat_id.as_deref(),
            Some("DOORWood"),
            "the pane shows the category its tags now hold"
        );
        assert_eq!(
            backend.suggest_category(copy).unwrap(),
            None,
            "it has one now"
        );
        // `hark tag --undo` undoes it.
        let undone = hark_indexer::tag::undo_last(&index).unwrap();
        assert!(undone.files.iter().all(|f| f.result.is_ok()));
        assert_eq!(std::fs::read(lib.join("take 3.wav")).unwrap(), before);

        // A refused write is the tag module's error, for the status line.
        let e = backend.accept_category(copy, "NOTACATID").unwrap_err();
        assert!(e.to_string().contains("not a UCS CatID"), "{e}");
    }
}
