//! A secondary's client of its primary's cluster channel ([`super::source`]).

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;
use vaultrs_storage::merkle::{Hash, BUCKETS};
use vaultrs_storage::{Change, LogId, Position};

use super::control::{Ack, AckAnswer, Superseded};
use super::wire::Frame;
use crate::error::{Error, Result};

/// The primary as its cluster channel answers it.
#[derive(Clone)]
pub struct PrimaryClient {
    base: String,
    http: reqwest::Client,
    /// This secondary's own API and cluster addresses, told to the primary with each
    /// stream (its status lists them).
    me: Option<(String, String)>,
}

/// `GET /cluster/v1/status`.
#[derive(Debug, Clone, Deserialize)]
pub struct PrimaryStatus {
    pub cluster_id: String,
    pub log_id: LogId,
    pub seq: u64,
    /// The primary's promotion epoch: a secondary never follows an older one.
    #[serde(default)]
    pub epoch: u64,
}

/// How long one acknowledgement may take: a partitioned primary must not hold the next.
const ACK_TIMEOUT: Duration = Duration::from_secs(2);

fn unreachable(e: impl std::fmt::Display) -> Error {
    Error::Unavailable(format!("the primary cannot be reached: {e}"))
}

impl PrimaryClient {
    /// A client of the cluster channel at `base` (`https://host:port`), over `http`
    /// (which carries the cluster TLS settings).
    pub fn new(base: impl Into<String>, http: reqwest::Client) -> Self {
        Self {
            base: base.into().trim_end_matches('/').to_owned(),
            http,
            me: None,
        }
    }

    /// Tells the primary these addresses of this secondary (API, cluster) with each stream.
    pub fn with_addresses(mut self, api_addr: &str, cluster_addr: &str) -> Self {
        self.me = Some((api_addr.to_owned(), cluster_addr.to_owned()));
        self
    }

    /// A client of the primary named by an activation `bundle`, over mutual TLS: it
    /// trusts only the bundle's cluster CA and presents the secondary's certificate.
    pub fn mtls(bundle: &super::bundle::ActivationBundle) -> Result<Self> {
        let tls = super::tls::client_config(&bundle.ca_cert_pem, &bundle.client_cert)
            .map_err(|e| Error::Internal(format!("the cluster TLS configuration: {e}")))?;
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| Error::Internal(format!("the cluster client: {e}")))?;
        Ok(Self::new(bundle.primary_cluster_addr.clone(), http))
    }

    /// The primary's cluster address this client dials.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}/cluster/v1/{path}", self.base)
    }

    /// POSTs `body` as JSON to the cluster route `path`; the answer whatever its status.
    async fn post(
        &self,
        path: &str,
        body: &impl serde::Serialize,
        timeout: Duration,
    ) -> Result<reqwest::Response> {
        self.http
            .post(self.url(path))
            .timeout(timeout)
            .json(body)
            .send()
            .await
            .map_err(unreachable)
    }

    async fn checked(resp: reqwest::Response) -> Result<reqwest::Response> {
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        Err(Error::Unavailable(format!(
            "the primary answered {status}: {}",
            text.chars().take(300).collect::<String>()
        )))
    }

    pub async fn status(&self) -> Result<PrimaryStatus> {
        let resp = self
            .http
            .get(self.url("status"))
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .map_err(unreachable)?;
        Self::checked(resp).await?.json().await.map_err(unreachable)
    }

    /// The primary's root key (served only over mutual TLS, to an activated secondary):
    /// it opens the replicated keyring.
    pub async fn root_key(&self) -> Result<zeroize::Zeroizing<Vec<u8>>> {
        let body = self.get_bytes("root-key", Duration::from_secs(10)).await?;
        Ok(zeroize::Zeroizing::new(body.to_vec()))
    }

    /// The body of `GET path`, within `timeout`.
    async fn get_bytes(&self, path: &str, timeout: Duration) -> Result<axum::body::Bytes> {
        let resp = self
            .http
            .get(self.url(path))
            .timeout(timeout)
            .send()
            .await
            .map_err(unreachable)?;
        Self::checked(resp)
            .await?
            .bytes()
            .await
            .map_err(unreachable)
    }

    /// The primary's bucket hashes and the position they stand at.
    pub async fn merkle(&self) -> Result<(Position, Vec<Hash>)> {
        let body = self.get_bytes("merkle", Duration::from_secs(30)).await?;
        if body.len() != 24 + BUCKETS * 32 {
            return Err(Error::Internal(
                "the primary sent a malformed Merkle index".into(),
            ));
        }
        let mut log = [0u8; 16];
        log.copy_from_slice(&body[..16]);
        let mut seq = [0u8; 8];
        seq.copy_from_slice(&body[16..24]);
        let buckets = body[24..]
            .chunks_exact(32)
            .map(|c| {
                let mut h = [0u8; 32];
                h.copy_from_slice(c);
                h
            })
            .collect();
        Ok((
            Position::new(LogId::from_bytes(log), u64::from_be_bytes(seq)),
            buckets,
        ))
    }

    /// The (key, hash) pairs of `buckets`, in the same order.
    pub async fn bucket_keys(&self, buckets: &[usize]) -> Result<Vec<Vec<(String, Hash)>>> {
        #[derive(Deserialize)]
        struct Answer {
            buckets: Vec<Vec<(String, String)>>,
        }
        let resp = self
            .post(
                "merkle/keys",
                &json!({ "buckets": buckets }),
                Duration::from_secs(60),
            )
            .await?;
        let answer: Answer = Self::checked(resp)
            .await?
            .json()
            .await
            .map_err(unreachable)?;
        if answer.buckets.len() != buckets.len() {
            return Err(Error::Internal("the primary answered other buckets".into()));
        }
        answer
            .buckets
            .into_iter()
            .map(|pairs| {
                pairs
                    .into_iter()
                    .map(|(k, h)| {
                        let mut hash = [0u8; 32];
                        hex::decode_to_slice(&h, &mut hash).map_err(|_| {
                            Error::Internal("the primary sent a malformed hash".into())
                        })?;
                        Ok((k, hash))
                    })
                    .collect()
            })
            .collect()
    }

    /// The primary's ciphertext of `keys` (`None`: the key is gone there).
    pub async fn values(&self, keys: &[String]) -> Result<Vec<Change>> {
        let resp = self
            .post("values", &json!({ "keys": keys }), Duration::from_secs(60))
            .await?;
        let body = Self::checked(resp)
            .await?
            .bytes()
            .await
            .map_err(unreachable)?;
        match Frame::decode(&body)? {
            Some((Frame::Batch(b), n)) if n == body.len() && b.changes.len() == keys.len() => {
                if b.changes.iter().zip(keys).any(|(c, k)| &c.key != k) {
                    return Err(Error::Internal("the primary answered other keys".into()));
                }
                Ok(b.changes.to_vec())
            }
            _ => Err(Error::Internal("the primary sent malformed values".into())),
        }
    }

    /// The stream of replicated changes after `after`.
    pub async fn stream(&self, after: Position) -> Result<FrameStream> {
        let mut query = vec![
            ("log", after.log_id.to_string()),
            ("after", after.seq.to_string()),
        ];
        if let Some((api, cluster)) = &self.me {
            query.push(("api_addr", api.clone()));
            query.push(("cluster_addr", cluster.clone()));
        }
        let resp = self
            .http
            .get(self.url("stream"))
            .query(&query)
            .send()
            .await
            .map_err(unreachable)?;
        Ok(FrameStream {
            resp: Self::checked(resp).await?,
            buf: Vec::new(),
        })
    }
}

impl PrimaryClient {
    /// Acknowledges `ack` (what this secondary applied); the primary's own position.
    pub async fn ack(&self, ack: &Ack) -> Result<AckAnswer> {
        let resp = self.post("ack", ack, ACK_TIMEOUT).await?;
        Self::checked(resp).await?.json().await.map_err(unreachable)
    }

    /// Tells the primary this client was activated by that a promotion of a newer epoch
    /// superseded it. `Ok(true)`: it stepped down; `Ok(false)`: it will never step down
    /// for this notice (another cluster, or its epoch is not older), so stop telling it;
    /// an error: try again later (unreachable, sealed, or not serving this secondary).
    pub async fn superseded(&self, notice: &Superseded) -> Result<bool> {
        let resp = self
            .post("superseded", notice, Duration::from_secs(10))
            .await?;
        match resp.status().as_u16() {
            200..=299 => Ok(true),
            400 | 409 => Ok(false),
            _ => Err(Self::checked(resp).await.err().unwrap_or_else(|| {
                Error::Unavailable("the primary gave no answer to the notice".into())
            })),
        }
    }

    /// Runs `request` on the primary: its answer and the position holding its change, or
    /// the primary's refusal as it gave it.
    pub async fn forward(
        &self,
        request: &crate::core::forward::Forwarded,
    ) -> Result<(crate::core::forward::ForwardedAnswer, Position)> {
        #[derive(Deserialize)]
        struct Answer {
            answer: crate::core::forward::ForwardedAnswer,
            position: Position,
        }
        #[derive(Deserialize)]
        struct Refusal {
            #[serde(default)]
            errors: Vec<String>,
        }
        let resp = self
            .post("forward", request, Duration::from_secs(60))
            .await?;
        let status = resp.status();
        if status.is_success() {
            let a: Answer = resp.json().await.map_err(unreachable)?;
            return Ok((a.answer, a.position));
        }
        let refusal: Refusal = resp.json().await.unwrap_or(Refusal { errors: Vec::new() });
        Err(Error::Remote {
            status: status.as_u16(),
            messages: refusal.errors,
        })
    }
}

/// Frames as they arrive on a stream.
pub struct FrameStream {
    resp: reqwest::Response,
    buf: Vec<u8>,
}

/// How long a stream may stay silent (heartbeats come every couple of seconds).
const SILENCE: Duration = Duration::from_secs(10);

impl FrameStream {
    /// The next frame; an error when the stream broke or stayed silent too long.
    pub async fn next(&mut self) -> Result<Frame> {
        loop {
            if let Some((frame, used)) = Frame::decode(&self.buf)? {
                self.buf.drain(..used);
                return Ok(frame);
            }
            let chunk = tokio::time::timeout(SILENCE, self.resp.chunk())
                .await
                .map_err(|_| unreachable("the stream went silent"))?
                .map_err(unreachable)?
                .ok_or_else(|| unreachable("the stream ended"))?;
            self.buf.extend_from_slice(&chunk);
        }
    }
}
