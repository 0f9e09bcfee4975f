//! Where the model lives: a local directory in the Hugging Face layout, or a
//! hub repository in the usual Hugging Face cache (`HF_HOME`, else
//! `~/.cache/huggingface/hub`).
//!
//! Only [`fetch`] touches the network (`hark model fetch`, and `hark index`
//! when the default model is absent, unless told not to). Everything else
//! reads the cache, so a search never starts a 600 MB download, and an
//! offline machine gets its answer at once.

use std::path::{Path, PathBuf};

use hf_hub::{Cache, Repo, RepoType};

use crate::error::{Error, Result};

/// The model hark is built for.
pub const DEFAULT_MODEL: &str = "laion/clap-htsat-fused";

/// The hub revision hark asks for: the commit transformers pins for this
/// model as its zero-shot audio classification default (transformers 5.24,
/// `pipelines/__init__.py`), so hark and the reference run the same weights.
/// The index also records the full commit the cache resolved it to (see
/// [`ModelLocation::revision`]); `--model laion/clap-htsat-fused@main`
/// follows the branch instead.
pub const DEFAULT_REVISION: &str = "cca9e28";

/// Files a model directory must hold (weights: [`WEIGHT_FILES`], either one).
pub const REQUIRED_FILES: &[&str] = &["config.json", "preprocessor_config.json", "tokenizer.json"];

/// Accepted weight files, in order of preference.
pub const WEIGHT_FILES: &[&str] = &["model.safetensors", "pytorch_model.bin"];

/// A resolved model: a directory holding the files, and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelLocation {
    /// Directory with `config.json` and the rest.
    pub dir: PathBuf,
    /// The hub id, or the directory as given.
    pub id: String,
    /// The hub commit the cache resolved, when the model came from the hub.
    pub revision: Option<String>,
}

impl ModelLocation {
    /// A stable name for the weights, stored with every vector so an index
    /// knows which model made it: `owner/name@commit` for a hub model; for a
    /// directory, `dir:` and a BLAKE3 fingerprint of its config and weight
    /// file (size, first and last MiB), so the same files anywhere on disk
    /// give the same identity and edited weights a new one. Reads at most
    /// 2 MiB.
    pub fn identity(&self) -> std::io::Result<String> {
        if let Some(rev) = &self.revision {
            return Ok(format!("{}@{}", self.id, rev));
        }
        let mut h = blake3::Hasher::new();
        h.update(&std::fs::read(self.dir.join("config.json"))?);
        let weights = WEIGHT_FILES
            .iter()
            .map(|f| self.dir.join(f))
            .find(|p| p.is_file())
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no weight file"))?;
        let mut file = std::fs::File::open(&weights)?;
        let len = file.metadata()?.len();
        h.update(&len.to_le_bytes());
        const MIB: u64 = 1 << 20;
        let mut buf = vec![0u8; MIB.min(len) as usize];
        use std::io::{Read, Seek, SeekFrom};
        file.read_exact(&mut buf)?;
        h.update(&buf);
        file.seek(SeekFrom::Start(len - buf.len() as u64))?;
        file.read_exact(&mut buf)?;
        h.update(&buf);
        Ok(format!("dir:{}", &h.finalize().to_hex()[..16]))
    }
}

/// How to ask for a model: a directory, or a hub id with an optional `@revision`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSpec {
    /// A local directory in the Hugging Face layout.
    Dir(PathBuf),
    /// A hub repository.
    Hub {
        /// `owner/name`.
        id: String,
        /// Branch, tag or commit.
        revision: String,
    },
}

impl ModelSpec {
    /// Reads a `--model` / `HARK_MODEL` value: an existing directory, or else
    /// a hub id (`owner/name[@revision]`). `None` means the default model.
    pub fn parse(value: Option<&str>) -> Self {
        match value {
            None => ModelSpec::Hub {
                id: DEFAULT_MODEL.into(),
                revision: DEFAULT_REVISION.into(),
            },
            Some(v)
                if Path::new(v).is_dir()
                    || v.starts_with('.')
                    || v.starts_with('/')
                    || v.starts_with('~') =>
            {
                ModelSpec::Dir(PathBuf::from(v))
            }
            Some(v) => match v.split_once('@') {
                Some((id, rev)) => ModelSpec::Hub {
                    id: id.into(),
                    revision: rev.into(),
                },
                None => ModelSpec::Hub {
                    id: v.into(),
                    revision: DEFAULT_REVISION.into(),
                },
            },
        }
    }

    fn describe(&self) -> String {
        match self {
            ModelSpec::Dir(d) => format!("`{}`", d.display()),
            ModelSpec::Hub { id, revision } => format!("`{id}` (revision `{revision}`)"),
        }
    }
}

fn expected_files() -> String {
    format!(
        "{}, and {} or {}",
        REQUIRED_FILES.join(", "),
        WEIGHT_FILES[0],
        WEIGHT_FILES[1]
    )
}

fn missing_in_dir(dir: &Path) -> Vec<String> {
    let mut missing: Vec<String> = REQUIRED_FILES
        .iter()
        .filter(|f| !dir.join(f).is_file())
        .map(|f| f.to_string())
        .collect();
    if !WEIGHT_FILES.iter().any(|f| dir.join(f).is_file()) {
        missing.push(format!("{} (or {})", WEIGHT_FILES[0], WEIGHT_FILES[1]));
    }
    missing
}

fn not_found(spec: &ModelSpec, where_: &str, missing: &[String]) -> Error {
    let supply = match spec {
        ModelSpec::Hub { id, .. } => format!(
            "run `hark model fetch` to download `{id}` into the Hugging Face cache,\n  \
             or pass `--model DIR` (or set HARK_MODEL=DIR) for a directory holding the files"
        ),
        ModelSpec::Dir(_) => {
            "put the files there, or pass `--model` a hub id such as `laion/clap-htsat-fused`"
                .into()
        }
    };
    Error::ModelNotFound {
        message: format!(
            "model {} not found in {where_}\n  missing: {}\n  a model directory holds: {}\nhint: {supply}",
            spec.describe(),
            missing.join(", "),
            expected_files()
        ),
    }
}

/// The cache hark reads and downloads into.
pub fn cache() -> Cache {
    Cache::from_env()
}

/// Finds the model without touching the network.
pub fn locate(spec: &ModelSpec) -> Result<ModelLocation> {
    match spec {
        ModelSpec::Dir(dir) => {
            let missing = missing_in_dir(dir);
            if !dir.is_dir() || !missing.is_empty() {
                return Err(not_found(spec, &format!("`{}`", dir.display()), &missing));
            }
            Ok(ModelLocation {
                dir: dir.clone(),
                id: dir.display().to_string(),
                revision: None,
            })
        }
        ModelSpec::Hub { id, revision } => {
            let cache = cache();
            let repo = cache.repo(Repo::with_revision(
                id.clone(),
                RepoType::Model,
                revision.clone(),
            ));
            let config = repo.get("config.json");
            let snapshot = config
                .as_ref()
                .and_then(|p| p.parent().map(Path::to_path_buf));
            let missing = match &snapshot {
                Some(dir) => missing_in_dir(dir),
                None => {
                    let mut all: Vec<String> =
                        REQUIRED_FILES.iter().map(|s| s.to_string()).collect();
                    all.push(WEIGHT_FILES[0].into());
                    all
                }
            };
            match snapshot {
                Some(dir) if missing.is_empty() => {
                    let commit = dir.file_name().map(|c| c.to_string_lossy().into_owned());
                    Ok(ModelLocation {
                        dir,
                        id: id.clone(),
                        revision: commit,
                    })
                }
                _ => Err(not_found(
                    spec,
                    &format!("the Hugging Face cache `{}`", cache.path().display()),
                    &missing,
                )),
            }
        }
    }
}

/// Downloads the model's files into the cache (progress bars on stderr when
/// `progress`), then locates it. A directory spec is only checked.
pub fn fetch(spec: &ModelSpec, progress: bool) -> Result<ModelLocation> {
    let ModelSpec::Hub { id, revision } = spec else {
        return locate(spec);
    };
    let api = hf_hub::api::sync::ApiBuilder::from_env()
        .with_progress(progress)
        .build()
        .map_err(|e| Error::Download {
            repo: id.clone(),
            file: "-".into(),
            source: Box::new(e),
        })?;
    let repo = api.repo(Repo::with_revision(
        id.clone(),
        RepoType::Model,
        revision.clone(),
    ));
    let download = |file: &str| {
        repo.get(file).map(|_| ()).map_err(|e| Error::Download {
            repo: id.clone(),
            file: file.to_string(),
            source: Box::new(e),
        })
    };
    for file in REQUIRED_FILES {
        download(file)?;
    }
    // Older revisions of a repository may hold only the pickle checkpoint.
    if let Err(e) = download(WEIGHT_FILES[0]) {
        download(WEIGHT_FILES[1]).map_err(|_| e)?;
    }
    locate(spec)
}
