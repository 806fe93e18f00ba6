//! A spy on `syncfs`: this test binary defines the symbol, so the backend's
//! `libc::syncfs` call links here. It forwards to the system call and, when the descriptor is
//! a watched tree, records an image of that tree: what the flush made durable.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::support::{snapshot_walk, Snapshot};

struct Watch {
    tree: PathBuf,
    images: Arc<Mutex<Vec<Snapshot>>>,
}

static WATCHES: Mutex<Vec<Watch>> = Mutex::new(Vec::new());

#[no_mangle]
pub extern "C" fn syncfs(fd: libc::c_int) -> libc::c_int {
    // SAFETY: the raw system call on the caller's descriptor; errno is kept for the caller.
    unsafe {
        let rc = libc::syscall(libc::SYS_syncfs, libc::c_long::from(fd)) as libc::c_int;
        let errno = *libc::__errno_location();
        let _ = std::panic::catch_unwind(|| record(fd));
        *libc::__errno_location() = errno;
        rc
    }
}

fn record(fd: libc::c_int) {
    let Ok(path) = fs::read_link(format!("/proc/self/fd/{fd}")) else {
        return;
    };
    let watches = WATCHES.lock().unwrap_or_else(|p| p.into_inner());
    for watch in watches.iter().filter(|w| w.tree == path) {
        // The applier may be writing the tree meanwhile: take what is there.
        if let Ok(image) = snapshot_walk(&watch.tree, true) {
            watch
                .images
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(image);
        }
    }
}

/// Records the images of `tree` at each `syncfs` until dropped.
pub struct Spy {
    tree: PathBuf,
    images: Arc<Mutex<Vec<Snapshot>>>,
}

impl Spy {
    pub fn watch(tree: &Path) -> Spy {
        fs::create_dir_all(tree).unwrap();
        let tree = fs::canonicalize(tree).unwrap();
        let images = Arc::new(Mutex::new(Vec::new()));
        WATCHES.lock().unwrap().push(Watch {
            tree: tree.clone(),
            images: images.clone(),
        });
        Spy { tree, images }
    }

    pub fn images(&self) -> Vec<Snapshot> {
        self.images.lock().unwrap().clone()
    }

    pub fn images_handle(&self) -> Arc<Mutex<Vec<Snapshot>>> {
        self.images.clone()
    }
}

impl Drop for Spy {
    fn drop(&mut self) {
        let mut watches = WATCHES.lock().unwrap_or_else(|p| p.into_inner());
        watches.retain(|w| !(w.tree == self.tree && Arc::ptr_eq(&w.images, &self.images)));
    }
}
