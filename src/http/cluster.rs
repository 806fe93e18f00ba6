//! The primary's side of the cluster channel: what a secondary asks for.
//!
//! - `GET  /cluster/v1/status`: the log position and cluster id (JSON);
//! - `GET  /cluster/v1/stream?log=<id>&after=<seq>`: every replicated change after that
//!   position, as [`Frame`]s, until the secondary hangs up; a position frame every
//!   [`HEARTBEAT`]; a resync frame when the position cannot be served (another log, left
//!   the tail) or stops being servable;
//! - `GET  /cluster/v1/merkle`: the bucket hashes and the position they stand at;
//! - `POST /cluster/v1/merkle/keys` `{"buckets": [i, ...]}`: those buckets' (key, hash);
//! - `POST /cluster/v1/values` `{"keys": [...]}`: their ciphertext, as one batch frame
//!   (a key that is gone comes back as a delete);
//! - `POST /cluster/v1/forward`: a write a secondary forwards ([`crate::core::forward`]):
//!   `{"answer": ..., "position": ...}`, or the error's status and messages;
//! - `POST /cluster/v1/ack` [`Ack`]: what a secondary has applied, at least once per
//!   heartbeat (the primary's status and lag figures come from these); answered with
//!   the primary's position;
//! - `POST /cluster/v1/superseded` [`Superseded`]: a secondary promoted since says a newer
//!   epoch of this cluster took over; this primary steps down (200), or refuses the notice
//!   for another cluster or an epoch not newer than its own (400);
//! - `GET  /cluster/v1/root-key`: the root key, for a secondary being activated (it opens
//!   the replicated keyring). Only to a verified secondary on the mutual-TLS listener.
//!
//! Only replicated keys ever leave: the stream filters every batch with the locality
//! rule, and the Merkle index and value reads refuse anything else. The server serves
//! [`listener_router`] on the cluster listener, behind mutual TLS: every request comes
//! from a secondary whose certificate the cluster CA issued, and is refused unless this
//! core is an unsealed primary and the secondary is not revoked (checked per request, so
//! a revocation also ends open streams at their next frame).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use vaultrs_storage::{Committed, LogId, Position, Subscription};

use crate::core::replication::StreamChange;
use crate::core::Core;
use crate::locality;
use crate::replication::control::{Ack, Superseded};
use crate::replication::wire::Frame;
use crate::replication::SecondaryIdentity;

/// How often an idle stream says where the primary stands.
pub const HEARTBEAT: Duration = Duration::from_secs(2);

/// Most buckets or keys one call may ask for.
const MAX_ITEMS: usize = 4096;

/// The cluster-channel routes of a primary.
pub fn router(core: Arc<Core>) -> axum::Router {
    axum::Router::new()
        .route("/cluster/v1/status", get(status))
        .route("/cluster/v1/stream", get(stream))
        .route("/cluster/v1/merkle", get(merkle))
        .route("/cluster/v1/merkle/keys", post(merkle_keys))
        .route("/cluster/v1/values", post(values))
        .route("/cluster/v1/forward", post(forward))
        .route("/cluster/v1/root-key", get(root_key))
        .route("/cluster/v1/ack", post(ack))
        .route("/cluster/v1/superseded", post(superseded))
        .with_state(core)
}

/// [`router`] as the cluster listener serves it: each request must come from a verified,
/// unrevoked secondary ([`crate::replication::acceptor::ClusterAcceptor`] puts it in the
/// extensions) while this core is an unsealed primary.
pub fn listener_router(core: Arc<Core>) -> axum::Router {
    router(core.clone()).layer(axum::middleware::from_fn_with_state(core, admit))
}

async fn admit(State(core): State<Arc<Core>>, req: Request, next: Next) -> Response {
    let Some(who) = req.extensions().get::<SecondaryIdentity>().cloned() else {
        return unverified();
    };
    if !core.cluster_peer_allowed(&who) {
        return refused(
            StatusCode::FORBIDDEN,
            format!(
                "secondary {} is not served here (revoked, or this cluster is not an \
                 unsealed primary)",
                who.id
            ),
        );
    }
    // The first request with a certificate completes its activation (a failed one, never
    // seen here, leaves the id free for a new token).
    if let Err(e) = core.note_cluster_contact(&who).await {
        return super::error::response(&e);
    }
    next.run(req).await
}

/// At most 256 characters of a peer-given address (it is only shown in status).
fn truncated(s: &str) -> String {
    s.chars().take(256).collect()
}

fn refused(status: StatusCode, message: impl Into<String>) -> Response {
    super::error::refusal(status, vec![message.into()])
}

fn sealed() -> Response {
    refused(StatusCode::SERVICE_UNAVAILABLE, "the primary is sealed")
}

async fn status(State(core): State<Arc<Core>>) -> Response {
    let Some((_, cluster_id)) = core.cluster_identity() else {
        return sealed();
    };
    let position = core.storage().feed.position();
    Json(json!({
        "cluster_id": cluster_id,
        "log_id": position.log_id,
        "seq": position.seq,
        "epoch": core.replication_state().epoch,
    }))
    .into_response()
}

#[derive(Deserialize)]
struct StreamQuery {
    log: String,
    after: u64,
    /// The secondary's own addresses, for the primary's status.
    #[serde(default)]
    api_addr: String,
    #[serde(default)]
    cluster_addr: String,
}

/// What the stream task sends next.
struct Streamer {
    core: Arc<Core>,
    /// The secondary on the other end (on the cluster listener).
    who: Option<SecondaryIdentity>,
    /// Revocations and mode changes: the peer is checked again at once.
    peers: tokio::sync::watch::Receiver<u64>,
    subscription: Subscription,
    /// The last sequence sent (a batch or a heartbeat).
    sent: u64,
    done: bool,
}

impl Streamer {
    /// The next frame: a batch with replicated changes, a heartbeat, or a resync.
    async fn next(&mut self) -> Option<Frame> {
        if self.done {
            return None;
        }
        if let Some(who) = &self.who {
            if !self.core.cluster_peer_allowed(who) {
                // Revoked meanwhile, or no longer a primary: the stream ends here.
                self.done = true;
                return None;
            }
        }
        loop {
            let next = tokio::select! {
                next = tokio::time::timeout(HEARTBEAT, self.subscription.next()) => next,
                _ = self.peers.changed() => {
                    if let Some(who) = &self.who {
                        if !self.core.cluster_peer_allowed(who) {
                            self.done = true;
                            return None;
                        }
                    }
                    continue;
                }
            };
            let batch = match next {
                // Only what this stream has seen: batches published but not yet
                // delivered here must not be skipped by the secondary.
                Err(_) => return Some(Frame::Position(self.sent)),
                Ok(Ok(batch)) => batch,
                Ok(Err(vaultrs_storage::Error::Lagged)) => {
                    // Fell behind the live channel: resume from the tail if it still
                    // holds what comes next.
                    let at = Position::new(self.subscription.log_id(), self.sent);
                    match self.core.storage().feed.subscribe(at) {
                        Ok(s) => {
                            self.subscription = s;
                            continue;
                        }
                        Err(e) => return Some(self.resync(e.to_string())),
                    }
                }
                Ok(Err(e)) => return Some(self.resync(e.to_string())),
            };
            self.sent = batch.seq;
            let changes: Arc<[_]> = batch
                .changes
                .iter()
                .filter(|c| locality::is_replicated(&c.key))
                .cloned()
                .collect();
            if !changes.is_empty() {
                return Some(Frame::Batch(Committed {
                    seq: batch.seq,
                    changes,
                }));
            }
        }
    }

    fn resync(&mut self, reason: String) -> Frame {
        self.done = true;
        Frame::Resync(reason)
    }
}

impl Drop for Streamer {
    fn drop(&mut self) {
        if let Some(who) = &self.who {
            self.core.note_secondary(who, StreamChange::Closed);
        }
    }
}

async fn stream(
    State(core): State<Arc<Core>>,
    who: Option<axum::Extension<SecondaryIdentity>>,
    Query(q): Query<StreamQuery>,
) -> Response {
    if core.cluster_identity().is_none() {
        return sealed();
    }
    let log_id: LogId = match q.log.parse() {
        Ok(id) => id,
        Err(e) => return refused(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let subscription = match core
        .storage()
        .feed
        .subscribe(Position::new(log_id, q.after))
    {
        Ok(s) => s,
        // The secondary learns from the body that it must run a Merkle diff.
        Err(e) => {
            let frame = Frame::Resync(e.to_string()).encode();
            return (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/octet-stream")],
                frame,
            )
                .into_response();
        }
    };
    let who = who.map(|axum::Extension(w)| w);
    if let Some(w) = &who {
        let addrs = (truncated(&q.api_addr), truncated(&q.cluster_addr));
        core.note_secondary(w, StreamChange::Opened(addrs));
    }
    let streamer = Streamer {
        peers: core.peers_changed(),
        core,
        who,
        subscription,
        sent: q.after,
        done: false,
    };
    let body = futures_util::stream::unfold(streamer, |mut s| async move {
        let frame = s.next().await?;
        Some((Ok::<_, std::convert::Infallible>(frame.encode()), s))
    });
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/octet-stream")],
        Body::from_stream(body),
    )
        .into_response()
}

async fn merkle(State(core): State<Arc<Core>>) -> Response {
    let Ok((position, buckets)) = core.merkle_buckets() else {
        return sealed();
    };
    let Some(position) = position else {
        return refused(
            StatusCode::SERVICE_UNAVAILABLE,
            "the Merkle index is not ready",
        );
    };
    let mut body = Vec::with_capacity(24 + buckets.len() * 32);
    body.extend_from_slice(position.log_id.as_bytes());
    body.extend_from_slice(&position.seq.to_be_bytes());
    for hash in &buckets {
        body.extend_from_slice(hash);
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/octet-stream")],
        body,
    )
        .into_response()
}

#[derive(Deserialize)]
struct BucketsBody {
    buckets: Vec<usize>,
}

async fn merkle_keys(
    State(core): State<Arc<Core>>,
    JsonBody(body): JsonBody<BucketsBody>,
) -> Response {
    if body.buckets.len() > MAX_ITEMS {
        return refused(StatusCode::BAD_REQUEST, "too many buckets in one call");
    }
    let mut out = Vec::with_capacity(body.buckets.len());
    for i in body.buckets {
        match core.merkle_bucket(i) {
            Ok(pairs) => out.push(
                pairs
                    .into_iter()
                    .map(|(k, h)| (k, hex::encode(h)))
                    .collect::<Vec<_>>(),
            ),
            Err(crate::Error::Sealed) => return sealed(),
            Err(e) => return refused(StatusCode::BAD_REQUEST, e.to_string()),
        }
    }
    Json(json!({ "buckets": out })).into_response()
}

#[derive(Deserialize)]
struct KeysBody {
    keys: Vec<String>,
}

async fn values(State(core): State<Arc<Core>>, JsonBody(body): JsonBody<KeysBody>) -> Response {
    if core.cluster_identity().is_none() {
        return sealed();
    }
    if body.keys.len() > MAX_ITEMS {
        return refused(StatusCode::BAD_REQUEST, "too many keys in one call");
    }
    if let Some(local) = body.keys.iter().find(|k| locality::is_local(k)) {
        return refused(
            StatusCode::BAD_REQUEST,
            format!("{local:?} is local to the primary's cluster"),
        );
    }
    let physical = core.storage().physical();
    let values = match physical.get_many(&body.keys).await {
        Ok(v) => v,
        Err(e) => return refused(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let changes: Arc<[_]> = body
        .keys
        .into_iter()
        .zip(values)
        .map(|(key, value)| vaultrs_storage::Change { key, value })
        .collect();
    let frame = Frame::Batch(Committed { seq: 0, changes });
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/octet-stream")],
        frame.encode(),
    )
        .into_response()
}

async fn forward(
    State(core): State<Arc<Core>>,
    JsonBody(request): JsonBody<crate::core::forward::Forwarded>,
) -> Response {
    match core.handle_forwarded(request).await {
        Ok((answer, position)) => {
            Json(json!({ "answer": answer, "position": position })).into_response()
        }
        Err(e) => super::error::response(&e),
    }
}

/// A control message's JSON body, or what is wrong with it (answered as a 400 in Vault's
/// envelope).
fn control_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| format!("malformed request body: {e}"))
}

/// A request's JSON body as the cluster routes take it: a malformed one is answered with a
/// 400 in Vault's envelope (axum's `Json` answers in plain text, 422 for a wrong shape).
struct JsonBody<T>(T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequest<S> for JsonBody<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| refused(e.status(), e.body_text()))?;
        control_body(&bytes)
            .map(JsonBody)
            .map_err(|message| refused(StatusCode::BAD_REQUEST, message))
    }
}

/// A cluster route's answer to a connection without a verified secondary (the
/// [`ClusterAcceptor`] puts one in the extensions), whatever router serves it.
///
/// [`ClusterAcceptor`]: crate::replication::acceptor::ClusterAcceptor
fn unverified() -> Response {
    refused(
        StatusCode::FORBIDDEN,
        "no verified secondary on this connection",
    )
}

async fn ack(
    State(core): State<Arc<Core>>,
    who: Option<axum::Extension<SecondaryIdentity>>,
    JsonBody(ack): JsonBody<Ack>,
) -> Response {
    let Some(axum::Extension(who)) = who else {
        return unverified();
    };
    match core.note_ack(&who, &ack).await {
        Ok(answer) => Json(answer).into_response(),
        Err(e) => super::error::response(&e),
    }
}

async fn superseded(
    State(core): State<Arc<Core>>,
    who: Option<axum::Extension<SecondaryIdentity>>,
    JsonBody(notice): JsonBody<Superseded>,
) -> Response {
    let Some(axum::Extension(who)) = who else {
        return unverified();
    };
    match core.step_down(&notice, &who).await {
        Ok(()) => Json(json!({ "stepped_down": true })).into_response(),
        Err(e) => super::error::response(&e),
    }
}

async fn root_key(
    State(core): State<Arc<Core>>,
    who: Option<axum::Extension<SecondaryIdentity>>,
) -> Response {
    // Never without a verified secondary, whatever router this is served in.
    let Some(axum::Extension(who)) = who else {
        return unverified();
    };
    if !core.cluster_peer_allowed(&who) {
        return refused(StatusCode::FORBIDDEN, "this secondary is not served here");
    }
    match core.root_key_for_secondary() {
        Ok(key) => {
            tracing::info!(secondary = %who.id, "root key handed to an activated secondary");
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/octet-stream")],
                key.to_vec(),
            )
                .into_response()
        }
        Err(_) => sealed(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_control_messages_are_refused_with_what_is_wrong() {
        for body in [&b"garbage"[..], b"{}", br#"{"log_id":"zz","seq":1}"#] {
            let message = control_body::<Ack>(body).unwrap_err();
            assert!(message.starts_with("malformed request body"), "{message}");
        }
        assert!(control_body::<Superseded>(br#"{"cluster_id":"c1","epoch":-1}"#).is_err());
        let ok: Superseded = control_body(br#"{"cluster_id":"c1","epoch":2}"#).unwrap();
        assert_eq!(ok.epoch, 2);
        // The answer is a 400 in Vault's envelope.
        let resp = refused(StatusCode::BAD_REQUEST, "malformed request body: x");
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    }
}
