//! A global allocator that counts, for allocations per stanza and bytes
//! held per session.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

pub struct Counting;

/// Allocations (and reallocations) made.
pub static ALLOCS: AtomicU64 = AtomicU64::new(0);
/// Bytes requested by them.
pub static BYTES: AtomicU64 = AtomicU64::new(0);
/// Bytes allocated and not yet freed.
pub static LIVE_BYTES: AtomicI64 = AtomicI64::new(0);
/// Allocations not yet freed.
pub static LIVE_ALLOCS: AtomicI64 = AtomicI64::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counters are plain atomics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(layout.size() as u64, Relaxed);
        LIVE_BYTES.fetch_add(layout.size() as i64, Relaxed);
        LIVE_ALLOCS.fetch_add(1, Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as i64, Relaxed);
        LIVE_ALLOCS.fetch_sub(1, Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(new_size as u64, Relaxed);
        LIVE_BYTES.fetch_add(new_size as i64 - layout.size() as i64, Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// (allocations, bytes allocated) while `f` runs.
pub fn count<T>(f: impl FnOnce() -> T) -> (T, u64, u64) {
    let (a, b) = (ALLOCS.load(Relaxed), BYTES.load(Relaxed));
    let r = f();
    (r, ALLOCS.load(Relaxed) - a, BYTES.load(Relaxed) - b)
}

/// (bytes, allocations) still held after `f` ran, of what it allocated.
#[allow(dead_code)]
pub fn held<T>(f: impl FnOnce() -> T) -> (T, i64, i64) {
    let (b, a) = (LIVE_BYTES.load(Relaxed), LIVE_ALLOCS.load(Relaxed));
    let r = f();
    (
        r,
        LIVE_BYTES.load(Relaxed) - b,
        LIVE_ALLOCS.load(Relaxed) - a,
    )
}
