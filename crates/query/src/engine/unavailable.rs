//! [`SoundUnavailable`]: why a text query is ranked by words alone, told
//! as data so the CLI can print it once and a UI can show it on its status
//! line (the library prints nothing).

use crate::error::Error;

/// Why the sound ranking of a text query cannot run, so that words,
/// phrases, exclusions and filters rank alone (see
/// [`Engine::search_or_words`](crate::Engine::search_or_words)). Its
/// `Display` is one line: the reason, then the fix in parentheses.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SoundUnavailable {
    /// No file of the index has a sound vector yet (indexed without a model).
    NoVectors,
    /// The model is not on this machine.
    NoModel {
        /// The model asked for: a hub id or a directory.
        model: String,
    },
    /// The model is there but cannot be read, loaded or run.
    ModelFailed {
        /// The first line of the error.
        cause: String,
    },
    /// The index's vectors were made by another model.
    OtherModel {
        /// The identity of the index's model.
        index: String,
        /// The identity of the model in use.
        current: String,
    },
}

impl SoundUnavailable {
    /// The reason `error` gives for not ranking by sound, if it is one
    /// (no vectors, no model, a model that fails, another model); any
    /// other error is handed back.
    pub(super) fn from_error(error: Error, model: &str) -> Result<SoundUnavailable, Error> {
        Ok(match error {
            Error::NoVectors { .. } => SoundUnavailable::NoVectors,
            Error::Model(hark_model::Error::ModelNotFound { .. }) => SoundUnavailable::NoModel {
                model: model.to_owned(),
            },
            e @ (Error::Model(_) | Error::ModelIdentity { .. }) => SoundUnavailable::ModelFailed {
                cause: first_line(&e),
            },
            Error::ModelMismatch { index, current } => {
                SoundUnavailable::OtherModel { index, current }
            }
            e => return Err(e),
        })
    }
}

/// The first line of an error and of its causes, joined by ": ".
fn first_line(error: &dyn std::error::Error) -> String {
    let mut text = String::new();
    let mut cause = Some(error);
    while let Some(e) = cause {
        let line = e.to_string();
        let line = line.lines().next().unwrap_or_default();
        if !text.contains(line) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(line);
        }
        cause = e.source();
    }
    text
}

impl std::fmt::Display for SoundUnavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("searching by words only: ")?;
        match self {
            SoundUnavailable::NoVectors => f.write_str(
                "no file in the index has a sound vector yet (run `hark index` with the model: \
                 `hark model fetch` gets it, or pass `--model DIR`)",
            ),
            SoundUnavailable::NoModel { model } => write!(
                f,
                "the model `{model}` is not on this machine (get it with `hark model fetch`, \
                 or pass `--model DIR`)"
            ),
            SoundUnavailable::ModelFailed { cause } => write!(
                f,
                "the model does not load: {cause} (get it afresh with `hark model fetch`, or \
                 pass `--model DIR`)"
            ),
            SoundUnavailable::OtherModel { index, current } => write!(
                f,
                "the index was built with the model `{index}`, but the model in use is \
                 `{current}` (pass the index's model with `--model DIR`, or run `hark index` to \
                 embed with this one)"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_come_from_model_errors_and_read_as_one_line() {
        let dir = std::path::PathBuf::from("/idx");
        let cases = [
            (Error::NoVectors { dir: dir.clone() }, "hark index"),
            (
                Error::Model(hark_model::Error::ModelNotFound {
                    message: "model not found\n  missing: config.json\nhint: fetch".into(),
                }),
                "`laion/clap-htsat-fused` is not on this machine",
            ),
            (
                Error::ModelIdentity {
                    dir: dir.clone(),
                    source: std::io::Error::other("disk on fire"),
                },
                "disk on fire",
            ),
            (
                Error::ModelMismatch {
                    index: "a@1".into(),
                    current: "b@2".into(),
                },
                "built with the model `a@1`, but the model in use is `b@2`",
            ),
        ];
        for (error, says) in cases {
            let why = SoundUnavailable::from_error(error, "laion/clap-htsat-fused").unwrap();
            let text = why.to_string();
            assert!(text.starts_with("searching by words only: "), "{text}");
            assert!(text.contains(says), "{text}");
            assert!(text.contains("--model DIR"), "{text}");
            assert!(!text.contains('\n'), "{text}");
        }
        let other = SoundUnavailable::from_error(Error::EmptyQuery, "m").unwrap_err();
        assert!(matches!(other, Error::EmptyQuery));
    }
}
