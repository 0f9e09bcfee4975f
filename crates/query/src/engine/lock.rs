//! Locking the engine's mutexes through a poisoned lock.

use std::sync::{Mutex, MutexGuard};

/// Locks `m`, also after a panic elsewhere while it was held: what the
/// engine guards (a connection, a cached `Arc`) stays consistent then, so
/// it keeps going.
pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
