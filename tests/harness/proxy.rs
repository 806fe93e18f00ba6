//! A TCP proxy between two processes, for network faults: it forwards each connection to
//! one target, and can be switched at any time between passing, refusing, black-holing
//! and delaying traffic. It counts the bytes it forwards.
//!
//! It runs on a runtime of its own, so it keeps forwarding while a test blocks its own
//! thread (waiting for a process, reading a log).
//!
//! What each [`Fault`] does, to connections already open and to new ones:
//!
//! | fault | open connections | new connections |
//! |---|---|---|
//! | [`Fault::Pass`] | forwarded as they come | connected to the target |
//! | [`Fault::Refuse`] | closed at once, both sides | accepted and closed at once |
//! | [`Fault::BlackHole`] | held: nothing more is read or forwarded either way (senders' buffers fill, as across a partition); they resume where they were when it ends, unless a side gave up meanwhile | accepted and held, not connected to the target until it ends |
//! | [`Fault::Delay`] | each chunk read is written that long after it arrived | connected to the target |
//!
//! [`Proxy::cut`] closes every open connection once, whatever the fault.
//!
//! A delayed direction stays in order: a chunk waits for the one before it, so the delay
//! also caps that direction at one read buffer (64 KiB) per delay.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the proxy does to traffic (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    Pass,
    Refuse,
    BlackHole,
    Delay(Duration),
}

/// The fault, and how many times every open connection was closed (by [`Proxy::cut`] or
/// [`Fault::Refuse`]): a connection opened before the last cut closes, even if it only
/// wakes up after the fault changed again.
#[derive(Clone, Copy, Debug)]
struct Link {
    fault: Fault,
    cuts: u64,
}

struct Shared {
    target: SocketAddr,
    link: watch::Sender<Link>,
    /// Bytes written to the target, and to clients.
    to_target: AtomicU64,
    to_client: AtomicU64,
    accepted: AtomicU64,
}

/// A running proxy; dropping it stops it and closes every connection.
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Proxy {
    /// A proxy on a free loopback port to `target` (`host:port`, or a URL such as
    /// `https://127.0.0.1:8201`), passing traffic.
    pub fn start(target: &str) -> Self {
        let bare = target.split("://").last().unwrap().trim_end_matches('/');
        let target: SocketAddr = bare
            .parse()
            .unwrap_or_else(|e| panic!("proxy target {target:?}: {e}"));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            target,
            link: watch::channel(Link {
                fault: Fault::Pass,
                cuts: 0,
            })
            .0,
            to_target: AtomicU64::new(0),
            to_client: AtomicU64::new(0),
            accepted: AtomicU64::new(0),
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("test-proxy")
            .enable_all()
            .build()
            .unwrap();
        let accepting = shared.clone();
        runtime.spawn(async move {
            let listener = TcpListener::from_std(listener).unwrap();
            while let Ok((socket, _)) = listener.accept().await {
                accepting.accepted.fetch_add(1, Ordering::Relaxed);
                let _ = socket.set_nodelay(true);
                let conn = Conn::new(&accepting);
                tokio::spawn(serve(socket, accepting.clone(), conn));
            }
        });
        Self {
            addr,
            shared,
            runtime: Some(runtime),
        }
    }

    /// `https://127.0.0.1:PORT`: the proxy as a cluster address.
    pub fn https(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// Switches every connection, open and new, to `fault`.
    pub fn set(&self, fault: Fault) {
        self.shared.link.send_modify(|link| {
            link.fault = fault;
            if fault == Fault::Refuse {
                link.cuts += 1;
            }
        });
    }

    /// Closes every open connection (both sides); new ones are served as the fault says.
    pub fn cut(&self) {
        self.shared.link.send_modify(|link| link.cuts += 1);
    }

    /// Bytes forwarded to the target so far.
    pub fn bytes_to_target(&self) -> u64 {
        self.shared.to_target.load(Ordering::Relaxed)
    }

    /// Bytes forwarded from the target to clients so far.
    pub fn bytes_to_client(&self) -> u64 {
        self.shared.to_client.load(Ordering::Relaxed)
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> u64 {
        self.shared.accepted.load(Ordering::Relaxed)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// One connection's view of the link.
struct Conn {
    link: watch::Receiver<Link>,
    /// The cuts before it opened.
    cuts: u64,
}

impl Conn {
    fn new(shared: &Shared) -> Self {
        let link = shared.link.subscribe();
        let cuts = link.borrow().cuts;
        Self { link, cuts }
    }

    fn closed(&self, link: &Link) -> bool {
        link.cuts != self.cuts || link.fault == Fault::Refuse
    }

    /// Waits while the link is black-holed; false once this connection is to close.
    async fn wait_open(&mut self) -> bool {
        loop {
            let link = *self.link.borrow_and_update();
            if self.closed(&link) {
                return false;
            }
            if link.fault != Fault::BlackHole {
                return true;
            }
            if self.link.changed().await.is_err() {
                return false;
            }
        }
    }

    /// Resolves once this connection is to close.
    async fn closing(&self) {
        let mut link = self.link.clone();
        let cuts = self.cuts;
        let _ = link
            .wait_for(|l| l.cuts != cuts || l.fault == Fault::Refuse)
            .await;
    }

    /// The delay chunks take now.
    fn delay(&self) -> Option<Duration> {
        match self.link.borrow().fault {
            Fault::Delay(d) => Some(d),
            _ => None,
        }
    }

    fn clone_view(&self) -> Self {
        Self {
            link: self.link.clone(),
            cuts: self.cuts,
        }
    }
}

async fn serve(client: TcpStream, shared: Arc<Shared>, mut conn: Conn) {
    if !conn.wait_open().await {
        return;
    }
    let upstream = tokio::select! {
        connected = TcpStream::connect(shared.target) => match connected {
            Ok(s) => s,
            Err(_) => return,
        },
        _ = conn.closing() => return,
    };
    let _ = upstream.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (target_read, target_write) = upstream.into_split();
    tokio::join!(
        pump(
            client_read,
            target_write,
            &shared.to_target,
            conn.clone_view()
        ),
        pump(target_read, client_write, &shared.to_client, conn),
    );
}

/// Copies one direction until its end, as the link allows; shuts the writing side down
/// when the reading side ends, and drops both when the connection is closed.
async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, count: &AtomicU64, mut conn: Conn) {
    let mut buf = vec![0u8; 64 << 10];
    loop {
        if !conn.wait_open().await {
            return;
        }
        let n = tokio::select! {
            read = from.read(&mut buf) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            },
            changed = conn.link.changed() => {
                if changed.is_err() {
                    return;
                }
                continue;
            }
        };
        // Read: it goes on once the link lets it through.
        let arrived = tokio::time::Instant::now();
        if !conn.wait_open().await {
            return;
        }
        if let Some(d) = conn.delay() {
            tokio::select! {
                _ = tokio::time::sleep_until(arrived + d) => {}
                _ = conn.closing() => return,
            }
        }
        tokio::select! {
            written = to.write_all(&buf[..n]) => {
                if written.is_err() {
                    return;
                }
            }
            _ = conn.closing() => return,
        }
        count.fetch_add(n as u64, Ordering::Relaxed);
    }
    let _ = to.shutdown().await;
}
