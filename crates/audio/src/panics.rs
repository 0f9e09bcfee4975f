//! Catching a panic in a third-party reader, so that one odd file costs
//! itself and not the run that reads it.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};

/// Runs `read`; a panic comes back as its message.
///
/// symphonia and lofty are meant to return errors on malformed input, but a
/// bug on one file must not take down an indexing run. The default panic
/// hook still prints the panic; a library has no business replacing the
/// process-wide hook to silence it. (With `panic = "abort"` in a profile
/// nothing can be caught; hark's profiles keep the default, unwind.)
pub(crate) fn catch<T>(read: impl FnOnce() -> T) -> Result<T, String> {
    panic::catch_unwind(AssertUnwindSafe(read)).map_err(|payload| message(payload.as_ref()))
}

fn message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_string()
    }
}
