//! Why a container shim gives no reader for a file it recognised.

use std::io;

use symphonia::core::errors::Error as SymphoniaError;

/// Why a shim gives no reader for a file it recognised.
pub(crate) enum Refusal {
    /// A format hark does not decode: its name ("GSM 6.10 in Wave64").
    Unsupported(String),
    /// The header declares 0 Hz.
    ZeroRate,
    /// The header is broken, or the file unreadable.
    Rejected(SymphoniaError),
}

impl Refusal {
    pub(super) fn malformed(what: &'static str) -> Refusal {
        Refusal::Rejected(SymphoniaError::DecodeError(what))
    }

    pub(super) fn io(cause: io::Error) -> Refusal {
        Refusal::Rejected(SymphoniaError::IoError(cause))
    }
}
