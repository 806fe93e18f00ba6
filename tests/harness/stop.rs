//! Stopping a server process at the end of a test or a benchmark (shared by the test
//! harness and `bench_support.rs`).

use std::process::Child;
use std::time::{Duration, Instant};

/// Stops a server as an operator would (SIGTERM), so a dev server removes its temporary
/// data directory; SIGKILL if it has not exited within a few seconds.
pub fn stop(child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(5);
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: signals a child this process started and has not reaped yet.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        while Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}
