//! How the process's allocator treats freed memory: kept for reuse instead of handed back to
//! the system after every large message.
//!
//! A relay that logs both legs frees each frame's payload on the writing thread, a moment
//! after the connection's thread has already allocated the next message's buffers. With
//! glibc's defaults (memory above 128 KiB at the top of the heap is given back on free, and
//! the mmap threshold moves with the sizes seen) every 64 KiB message was served from fresh
//! pages: `perf stat` counted 294,252 page faults in 3 s on the connection's thread of `wsi
//! relay --jsonl` at 1 × 64 KiB (about 21 a message), none without logging. With the two
//! thresholds below the same run took 81 (109 in a second run) and the relay carried 1.4–1.5×
//! the messages.
//!
//! What it costs: up to [`TRIM_THRESHOLD`] of freed memory may stay in the process after a
//! burst of large messages (it is reused by the next ones), and allocations up to
//! [`MMAP_THRESHOLD`] come from the heap instead of their own mappings. Only glibc has these
//! knobs; elsewhere this does nothing. Written by hand because it is two calls of `mallopt`,
//! which no allocator crate wraps for the system allocator.

/// Allocations at least this large get a mapping of their own (glibc's default is 128 KiB,
/// raised on its own as larger blocks are freed).
pub const MMAP_THRESHOLD: usize = 8 << 20;

/// Free memory at the top of the heap beyond this is given back to the system (glibc's
/// default: 128 KiB, or twice the moving mmap threshold).
pub const TRIM_THRESHOLD: usize = 16 << 20;

/// Sets the two thresholds for this process; call it once, first thing in `main`.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only sets allocator parameters; it is called before any other thread
    // exists, and both values are in the range glibc accepts (it returns 0 otherwise and
    // keeps its defaults, which is harmless).
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD as libc::c_int);
        libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD as libc::c_int);
    }
}
