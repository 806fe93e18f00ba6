//! Storage snapshots over HTTP (`vaultrs::core::snapshot` decides and restores; this file
//! moves the bytes).
//!
//! - `GET sys/storage/snapshot` streams the archive as `application/octet-stream`, chunk by
//!   chunk as the file backend reads it (memory holds a chunk, never the archive).
//!   `GET sys/storage/raft/snapshot` streams the same archive in the gzipped-tar envelope
//!   Vault's raft clients check (`vaultrs_storage::envelope`), so `bao operator raft
//!   snapshot save` and hvac's `take_raft_snapshot` work unchanged.
//! - `POST sys/storage/snapshot-restore` (`?force=true`), `sys/storage/snapshot-force`, and
//!   Vault's `sys/storage/raft/snapshot` and `.../snapshot-force` restore from the body,
//!   either form. The body is streamed into the restore, never buffered: like Vault's raft
//!   restore it may exceed `max_request_size`, and garbage is refused at its first bytes.
//!   A body that fails (a client that goes away, a truncated or damaged archive) is a 400
//!   and changes nothing. Success is 204, as in Vault.
//!
//! Every snapshot request passes the pipeline first (token, ACL with `sudo`, audit).

use std::io::{self, Read, Write};

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::Response as HttpResponse;
use futures_util::TryStreamExt;
use serde_json::{Map, Value};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio_util::io::{StreamReader, SyncIoBridge};
use vaultrs_storage::envelope::{is_envelope, EnvelopeReader, EnvelopeWriter};
use vaultrs_storage::SnapshotStream;

use super::{empty_response, token_from, AppState};
use crate::core::snapshot::{endpoint, SnapshotOp};
use crate::error::Error;
use crate::logical::Operation;

/// The snapshot request `method` and `path` (relative to `/v1/`) make, if any.
pub(super) fn route(
    method: &Method,
    path: &str,
    query: &Map<String, Value>,
) -> Result<Option<(Operation, SnapshotOp)>, Error> {
    let Some(rel) = path.strip_prefix("sys/") else {
        return Ok(None);
    };
    let operation = match *method {
        Method::GET => Operation::Read,
        Method::POST | Method::PUT => Operation::Update,
        _ => return Ok(None),
    };
    let Some(op) = endpoint(rel, operation) else {
        return Ok(None);
    };
    if op == (SnapshotOp::Restore { force: false }) && force_flag(query)? {
        return Ok(Some((operation, SnapshotOp::Restore { force: true })));
    }
    Ok(Some((operation, op)))
}

/// `?force=true` (Go's boolean spellings).
fn force_flag(query: &Map<String, Value>) -> Result<bool, Error> {
    match query.get("force") {
        None => Ok(false),
        Some(Value::String(s)) => match s.as_str() {
            "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
            "0" | "f" | "F" | "false" | "FALSE" | "False" | "" => Ok(false),
            _ => Err(Error::invalid("force parameter must be a boolean")),
        },
        Some(_) => Err(Error::invalid("force parameter must be a boolean")),
    }
}

/// Authorizes, then streams a snapshot out or restores one from `body`.
pub(super) async fn serve(
    state: &AppState,
    parts: &axum::http::request::Parts,
    body: Body,
    path: &str,
    (operation, op): (Operation, SnapshotOp),
) -> Result<HttpResponse, Error> {
    let remote = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0);
    state
        .core
        .authorize_snapshot(operation, path, token_from(&parts.headers)?, remote)
        .await?;
    match op {
        SnapshotOp::Save => save(state, path.starts_with("sys/storage/raft/")).await,
        SnapshotOp::Restore { force } => restore(state, body, force).await,
    }
}

async fn save(state: &AppState, raft: bool) -> Result<HttpResponse, Error> {
    let stream = state.core.storage().file.snapshot_stream().await?;
    let envelope = raft.then(EnvelopeWriter::new);
    let chunks = futures_util::stream::unfold(Some((stream, envelope)), |next| async move {
        let (mut stream, mut envelope) = next?;
        match next_bytes(&mut stream, &mut envelope).await {
            Ok(Some(bytes)) => Some((Ok(Bytes::from(bytes)), Some((stream, envelope)))),
            Ok(None) => None,
            Err(e) => {
                // The client sees the stream cut short, which its archive check reports.
                tracing::error!(error = %e, "storage snapshot failed while streaming");
                Some((Err(io::Error::other("snapshot failed")), None))
            }
        }
    });
    let mut resp = HttpResponse::new(Body::from_stream(chunks));
    let content_type = if raft {
        "application/gzip"
    } else {
        "application/octet-stream"
    };
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// The next bytes to send: an archive chunk, wrapped when `envelope` is set (its end
/// comes with the archive's last chunk).
async fn next_bytes(
    stream: &mut SnapshotStream,
    envelope: &mut Option<EnvelopeWriter>,
) -> Result<Option<Vec<u8>>, Error> {
    let Some(chunk) = stream.next_chunk().await? else {
        return Ok(None);
    };
    let Some(writer) = envelope.as_mut() else {
        return Ok(Some(chunk));
    };
    let wrap = |e: io::Error| Error::Internal(format!("wrapping a snapshot: {e}"));
    let mut bytes = writer.part(&chunk).map_err(wrap)?;
    if let Some(info) = stream.info() {
        if let Some(writer) = envelope.take() {
            bytes.extend(writer.finish(&info.sha256).map_err(wrap)?);
        }
    }
    Ok(Some(bytes))
}

/// The request body as a reader; a body that fails reads as one that ended early.
fn body_reader(body: Body) -> impl AsyncRead + Unpin + Send + 'static {
    StreamReader::new(
        body.into_data_stream()
            .map_err(|e| io::Error::new(io::ErrorKind::UnexpectedEof, e)),
    )
}

async fn restore(state: &AppState, body: Body, force: bool) -> Result<HttpResponse, Error> {
    let mut body = body_reader(body);
    let mut prefix = [0u8; 2];
    body.read_exact(&mut prefix)
        .await
        .map_err(|_| Error::invalid("invalid snapshot: the request body is empty"))?;
    let source = AsyncReadExt::chain(std::io::Cursor::new(prefix), body);
    let core = &state.core;
    if !is_envelope(&prefix) {
        core.restore_snapshot(source, force).await?;
        return Ok(empty_response(StatusCode::NO_CONTENT));
    }
    // The envelope is unwrapped by blocking `std::io` readers on the blocking pool, into
    // a small pipe the restore reads from.
    let (archive, unwrapped) = tokio::io::duplex(64 << 10);
    let (src, dst) = (SyncIoBridge::new(source), SyncIoBridge::new(unwrapped));
    let unwrap = tokio::task::spawn_blocking(move || unwrap_envelope(src, dst));
    let restored = core.restore_snapshot(archive, force).await;
    let unwrap = unwrap.await.unwrap_or(Ok(()));
    match (restored, unwrap) {
        (Ok(_), _) => Ok(empty_response(StatusCode::NO_CONTENT)),
        // The envelope's own fault explains the restore's "ended early" best.
        (Err(_), Err(e)) => Err(Error::invalid(format!("invalid snapshot: {e}"))),
        (Err(e), Ok(())) => Err(e),
    }
}

/// Copies the archive out of the envelope in `src` into `dst`. Only the envelope's errors
/// are returned: a `dst` that closed means the restore stopped reading (and says why).
fn unwrap_envelope(src: impl Read, mut dst: impl Write) -> io::Result<()> {
    let mut src = EnvelopeReader::new(src);
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = src.read(&mut buf)?;
        if n == 0 || dst.write_all(&buf[..n]).is_err() {
            return Ok(());
        }
    }
}
