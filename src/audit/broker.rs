//! The enabled devices and the fan-out of every entry to them (Vault's `AuditBroker`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use super::device::Device;
use super::entry::Entry;
use super::AuditError;

type Devices = Arc<Vec<(String, Arc<Device>)>>;

/// A snapshot of the enabled devices (see [`Broker::devices`]).
#[derive(Clone, Default)]
pub struct DeviceSet(Devices);

/// The audit devices by mount path.
///
/// Readers take a snapshot (`Arc` clone under a short read lock, never held across an
/// await); [`Broker::is_empty`] is one atomic load.
#[derive(Default)]
pub struct Broker {
    /// Sorted by path.
    devices: RwLock<Devices>,
    count: AtomicUsize,
}

impl Broker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether no device is enabled (then nothing is logged and nothing fails).
    pub fn is_empty(&self) -> bool {
        self.count.load(Ordering::Acquire) == 0
    }

    /// Adds `device` at `path`, replacing (and returning) any device already there.
    pub fn add(&self, path: &str, device: Arc<Device>) -> Option<Arc<Device>> {
        self.update(
            |list| match list.binary_search_by(|(p, _)| p.as_str().cmp(path)) {
                Ok(i) => Some(std::mem::replace(&mut list[i].1, device)),
                Err(i) => {
                    list.insert(i, (path.to_owned(), device));
                    None
                }
            },
        )
    }

    /// Removes the device at `path`; [`Device::retire`] it before the removal is
    /// reported, so it writes nothing after that.
    pub fn remove(&self, path: &str) -> Option<Arc<Device>> {
        self.update(|list| {
            let i = list.iter().position(|(p, _)| p == path)?;
            Some(list.remove(i).1)
        })
    }

    pub fn get(&self, path: &str) -> Option<Arc<Device>> {
        self.snapshot()
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, d)| Arc::clone(d))
    }

    /// The mount paths of the devices, sorted.
    pub fn paths(&self) -> Vec<String> {
        self.snapshot().iter().map(|(p, _)| p.clone()).collect()
    }

    /// SIGHUP: every device closes its file and reopens it for the next entry.
    pub fn reopen_all(&self) {
        for (_, device) in self.snapshot().iter() {
            device.reopen();
        }
    }

    /// Whether every device's last write succeeded (true with no devices).
    pub fn healthy(&self) -> bool {
        self.snapshot().iter().all(|(_, d)| d.healthy())
    }

    /// The paths of the devices whose last write failed.
    pub fn unhealthy_paths(&self) -> Vec<String> {
        self.snapshot()
            .iter()
            .filter(|(_, d)| !d.healthy())
            .map(|(p, _)| p.clone())
            .collect()
    }

    /// Logs `entry` to every device at once and waits for all of them (each at most its
    /// `write_timeout`; a stuck device fails at once). Succeeds when there is no device
    /// or at least one device wrote the entry; otherwise
    /// [`AuditError::NoneSucceeded`], which the core turns into a 500.
    pub async fn log(&self, entry: &Entry) -> Result<(), AuditError> {
        if self.is_empty() {
            return Ok(());
        }
        Self::log_to(&self.devices(), entry).await
    }

    /// The devices enabled now. A request's response entry goes to the devices that
    /// recorded its request entry, unless one was retired in between (one added in
    /// between has no request entry to pair it with). A disabled device is retired once
    /// it recorded the answer to the request that disabled it, before that answer leaves:
    /// it writes nothing after.
    pub fn devices(&self) -> DeviceSet {
        DeviceSet(self.snapshot())
    }

    /// [`Broker::log`] to a fixed set of devices. Devices disabled since the set was
    /// taken are skipped; when none is left, there is nothing to log to.
    pub async fn log_to(devices: &DeviceSet, entry: &Entry) -> Result<(), AuditError> {
        let devices = &devices.0;
        if devices.is_empty() {
            return Ok(());
        }
        let kind = entry.kind.as_str();
        let mut succeeded = false;
        let mut enabled = 0;
        // Hand the entry to every device first, then collect the results: each wait
        // ends at its own deadline, so the devices write concurrently.
        let mut pending = Vec::with_capacity(devices.len());
        for (path, device) in devices.iter() {
            let submitted = device.submit(entry);
            if !matches!(submitted, Err(AuditError::Retired)) {
                enabled += 1;
            }
            match submitted {
                Ok(Some(p)) => pending.push((path.clone(), p)),
                Ok(None) => succeeded = true,
                Err(AuditError::Retired) => {}
                Err(e) => warn_failed(path, kind, &e),
            }
        }
        if enabled == 0 {
            return Ok(());
        }
        if pending.len() == 1 && !succeeded {
            let (path, p) = pending.remove(0);
            return match p.wait().await {
                Ok(()) => Ok(()),
                Err(e) => {
                    warn_failed(&path, kind, &e);
                    Err(AuditError::NoneSucceeded(kind))
                }
            };
        }
        // Several devices: the first success answers, so a slow or blocked device does
        // not hold the request up (RELIABILITY F26). The other waits go on in the
        // background: a slower healthy device still gets its line (a writer drops lines
        // whose waiter is gone), and a failing one is still reported.
        let (tx, mut results) = tokio::sync::mpsc::channel(pending.len().max(1));
        for (path, p) in pending {
            let tx = tx.clone();
            tokio::spawn(async move {
                let result = p.wait().await;
                if let Err(e) = &result {
                    warn_failed(&path, kind, e);
                }
                let _ = tx.send(result.is_ok()).await;
            });
        }
        drop(tx);
        if succeeded {
            return Ok(());
        }
        while let Some(ok) = results.recv().await {
            if ok {
                return Ok(());
            }
        }
        Err(AuditError::NoneSucceeded(kind))
    }

    fn snapshot(&self) -> Devices {
        Arc::clone(&self.devices.read().unwrap_or_else(PoisonError::into_inner))
    }

    fn update<T>(&self, change: impl FnOnce(&mut Vec<(String, Arc<Device>)>) -> T) -> T {
        let mut guard = self.devices.write().unwrap_or_else(PoisonError::into_inner);
        let mut list = Vec::clone(&guard);
        let out = change(&mut list);
        self.count.store(list.len(), Ordering::Release);
        *guard = Arc::new(list);
        out
    }
}

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broker")
            .field("paths", &self.paths())
            .finish()
    }
}

fn warn_failed(path: &str, kind: &str, err: &AuditError) {
    tracing::warn!(device = %path, entry = kind, error = %err, "audit device failed to log");
}
