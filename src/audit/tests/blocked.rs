//! Devices that cannot write (FIFOs with no reader or a stalled one): write timeouts,
//! recovery, lines whose caller gave up, and the broker fanning out around a blocked device.

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;

/// Generous bound for "it returned" (no timing assertions beyond this).
const RETURNS_WITHIN: Duration = Duration::from_secs(10);

fn mkfifo(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    let status = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .expect("mkfifo");
    assert!(status.success());
    path
}

/// Frees a writer thread stuck in `open` of a FIFO nobody reads (test hygiene only).
fn release_fifo(path: &Path) {
    drop(fs::OpenOptions::new().read(true).write(true).open(path));
}

/// Runs `log`, failing the test if it does not return within [`RETURNS_WITHIN`] (it
/// hung on its device).
async fn log_timed(dev: &Device, entry: &Entry) -> Result<(), AuditError> {
    tokio::time::timeout(RETURNS_WITHIN, dev.log(entry))
        .await
        .expect("log hung")
}

/// Logs `entry` until the device refuses it at once as blocked (its writer has been stuck
/// longer than its write timeout), polling for at most [`RETURNS_WITHIN`].
async fn until_blocked(dev: &Device, entry: &Entry) {
    let deadline = Instant::now() + RETURNS_WITHIN;
    loop {
        match log_timed(dev, entry).await {
            Err(AuditError::Blocked) => return,
            Err(AuditError::Timeout(_)) => {}
            other => panic!("a stuck device answered {other:?}"),
        }
        assert!(
            Instant::now() < deadline,
            "the device never counted as blocked"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn fifo_without_reader_fails_instead_of_hanging() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = mkfifo(dir.path(), "fifo");
    let dev = file_device(&fifo, &[("write_timeout", "200ms")]);
    let first = log_timed(&dev, &entry_with_id("a")).await.unwrap_err();
    assert_eq!(first, AuditError::Timeout(Duration::from_millis(200)));
    assert!(!dev.healthy());
    // The thread is still stuck in open(): once that has lasted longer than the write
    // timeout, further calls fail at once.
    until_blocked(&dev, &entry_with_id("b")).await;
    let probe = tokio::time::timeout(RETURNS_WITHIN, dev.probe())
        .await
        .expect("probe hung")
        .unwrap_err();
    assert!(probe
        .to_string()
        .starts_with("audit backend failed test message"));
    drop(dev);
    release_fifo(&fifo);
}

#[tokio::test]
async fn fifo_with_stalled_reader_times_out_then_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = mkfifo(dir.path(), "fifo");
    // Lines larger than half the pipe buffer, in clear so hashing does not shrink them.
    let dev = file_device(&fifo, &[("write_timeout", "200ms"), ("log_raw", "true")]);
    let big = |id: &str| {
        let mut entry = entry_with_id(id);
        entry
            .request
            .data
            .insert("blob".into(), Value::String("x".repeat(48 * 1024)));
        entry
    };
    // A reader that opens the FIFO and then stops reading.
    let reader_path = fifo.clone();
    let reader = std::thread::spawn(move || fs::File::open(reader_path).unwrap());
    let deadline = Instant::now() + RETURNS_WITHIN;
    while log_timed(&dev, &entry_with_id("hello")).await.is_err() {
        assert!(Instant::now() < deadline, "reader never connected");
    }
    let mut reader = reader.join().unwrap();
    // Fill the pipe until a write cannot finish.
    let mut failed = None;
    for i in 0..50 {
        if let Err(e) = log_timed(&dev, &big(&format!("big{i}"))).await {
            failed = Some(e);
            break;
        }
    }
    assert_eq!(
        failed,
        Some(AuditError::Timeout(Duration::from_millis(200)))
    );
    assert!(!dev.healthy());
    until_blocked(&dev, &entry_with_id("refused")).await;
    // The reader drains the pipe again: logging works again.
    let drain = std::thread::spawn(move || {
        let mut all = Vec::new();
        reader.read_to_end(&mut all).unwrap();
        all
    });
    let deadline = Instant::now() + RETURNS_WITHIN;
    while log_timed(&dev, &entry_with_id("after")).await.is_err() {
        assert!(Instant::now() < deadline, "never recovered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(dev.healthy());
    drop(dev); // closes the write end: the reader sees EOF
    let all = String::from_utf8(drain.join().unwrap()).unwrap();
    // Refused lines were dropped, not flushed late.
    assert!(!all.contains("\"refused\""));
    assert!(all.contains("\"after\""));
}

#[tokio::test]
async fn broker_fans_out_and_tolerates_a_blocked_device() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = mkfifo(dir.path(), "blocked");
    let path = dir.path().join("audit.log");
    let blocked = Arc::new(file_device(&fifo, &[("write_timeout", "200ms")]));
    let good = Arc::new(file_device(&path, &[("write_timeout", "2s")]));

    let broker = Broker::new();
    assert!(broker.is_empty());
    broker.log(&entry_with_id("nobody")).await.unwrap();

    assert!(broker.add("blocked/", Arc::clone(&blocked)).is_none());
    assert!(broker.add("file/", Arc::clone(&good)).is_none());
    assert!(!broker.is_empty());
    assert_eq!(broker.paths(), ["blocked/", "file/"]);
    assert!(Arc::ptr_eq(&broker.get("file/").unwrap(), &good));
    assert!(broker.get("nope/").is_none());

    for id in ["one", "two"] {
        tokio::time::timeout(RETURNS_WITHIN, broker.log(&entry_with_id(id)))
            .await
            .expect("broker hung")
            .unwrap();
    }
    assert_eq!(ids(&path), ["one", "two"]);
    // The good device answered; the blocked one is found out in the background, once
    // its write timeout has passed.
    let deadline = std::time::Instant::now() + RETURNS_WITHIN;
    while broker.healthy() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!broker.healthy());
    assert_eq!(broker.unhealthy_paths(), ["blocked/"]);

    // Only the blocked device left: nothing succeeds.
    assert!(Arc::ptr_eq(&broker.remove("file/").unwrap(), &good));
    assert!(broker.remove("file/").is_none());
    let err = tokio::time::timeout(RETURNS_WITHIN, broker.log(&entry_with_id("three")))
        .await
        .expect("broker hung")
        .unwrap_err();
    assert_eq!(err, AuditError::NoneSucceeded("request"));
    assert_eq!(
        err.to_string(),
        "no audit backend succeeded in logging the request"
    );
    let response = Entry::response(Auth::default(), Request::default(), Response::default());
    assert_eq!(
        broker.log(&response).await,
        Err(AuditError::NoneSucceeded("response"))
    );
    assert!(matches!(crate::Error::from(err), crate::Error::Internal(_)));

    // Replacing a device returns the old one; removing the last empties the broker.
    let discard = Arc::new(
        Device::new(
            "blocked/",
            "file",
            &opts(&[("file_path", "discard")]),
            SALT,
            &rules(),
        )
        .unwrap(),
    );
    assert!(broker.add("blocked/", discard).is_some());
    broker.log(&entry_with_id("four")).await.unwrap();
    broker.reopen_all();
    broker.remove("blocked/");
    assert!(broker.is_empty());
    broker.log(&entry_with_id("five")).await.unwrap();
    drop(blocked);
    release_fifo(&fifo);
}

#[tokio::test]
async fn lines_whose_caller_gave_up_are_not_written_late() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = mkfifo(dir.path(), "fifo");
    let dev = file_device(&fifo, &[("write_timeout", "200ms")]);
    // `a` gets the thread stuck in open(); `b` is queued behind it (once the thread is
    // in that open, so not in `a`'s batch) before the device counts as blocked. Both
    // time out.
    let (entry_a, entry_b) = (entry_with_id("a"), entry_with_id("b"));
    let (a, b) = tokio::join!(log_timed(&dev, &entry_a), async {
        while !dev.writer_busy() {
            tokio::task::yield_now().await;
        }
        log_timed(&dev, &entry_b).await
    });
    assert_eq!(a, Err(AuditError::Timeout(Duration::from_millis(200))));
    assert_eq!(b, Err(AuditError::Timeout(Duration::from_millis(200))));
    // A reader appears: the open completes and `a`, already being written, goes out;
    // `b`, whose caller gave up while it was queued, is dropped (queued lines are still
    // read after the channel closes, so dropping the device now changes nothing).
    let reader_path = fifo.clone();
    let reader = std::thread::spawn(move || fs::read_to_string(reader_path).unwrap());
    drop(dev);
    let text = reader.join().unwrap();
    assert!(text.contains("\"a\""), "{text}");
    assert!(!text.contains("\"b\""), "{text}");
}
