//! A raw-socket HTTP client, for paths reqwest would normalize, and raw requests.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::response::Resp;

/// Sends `request` as is over a fresh connection and reads one response.
pub async fn raw(addr: &str, request: &[u8]) -> Resp {
    raw_with(addr, request, false).await
}

/// [`raw`], then closes the sending half: the server sees the end of the stream where the
/// request leaves off (a body cut short, a body that never comes).
pub async fn raw_then_eof(addr: &str, request: &[u8]) -> Resp {
    raw_with(addr, request, true).await
}

async fn raw_with(addr: &str, request: &[u8], eof: bool) -> Resp {
    let what =
        String::from_utf8_lossy(request.split(|b| *b == b'\r').next().unwrap_or(b"")).into_owned();
    let host = addr.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(host).await.unwrap();
    s.write_all(request).await.unwrap();
    if eof {
        s.shutdown().await.unwrap();
    }
    let mut buf = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(resp) = parse_raw(&what, &buf) {
            return resp;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let mut chunk = [0u8; 65536];
        match tokio::time::timeout(left, s.read(&mut chunk)).await {
            Ok(Ok(0)) => break,
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
            Ok(Err(e)) => panic!(
                "{what}: reading the response failed: {e} (got {:?})",
                String::from_utf8_lossy(&buf)
            ),
            Err(_) => panic!(
                "{what}: no complete response within 10 s (got {:?})",
                String::from_utf8_lossy(&buf)
            ),
        }
    }
    parse_raw(&what, &buf).unwrap_or_else(|| {
        panic!(
            "{what}: incomplete response {:?}",
            String::from_utf8_lossy(&buf)
        )
    })
}

fn parse_raw(what: &str, buf: &[u8]) -> Option<Resp> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let status: u16 = status_line.split(' ').nth(1)?.parse().ok()?;
    if (100..200).contains(&status) {
        // An interim answer (`100 Continue`): the response follows it.
        return parse_raw(what, &buf[end + 4..]);
    }
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let rest = &buf[end + 4..];
    let get = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let body = if let Some(len) = get("content-length") {
        let len: usize = len.parse().ok()?;
        if rest.len() < len {
            return None;
        }
        rest[..len].to_vec()
    } else if get("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
        let mut out = Vec::new();
        let mut p = rest;
        loop {
            let nl = p.windows(2).position(|w| w == b"\r\n")?;
            let size = usize::from_str_radix(
                std::str::from_utf8(&p[..nl])
                    .ok()?
                    .split(';')
                    .next()?
                    .trim(),
                16,
            )
            .ok()?;
            p = &p[nl + 2..];
            if size == 0 {
                break;
            }
            if p.len() < size + 2 {
                return None;
            }
            out.extend_from_slice(&p[..size]);
            p = &p[size + 2..];
        }
        out
    } else {
        Vec::new()
    };
    Some(Resp {
        what: what.to_owned(),
        status,
        headers,
        body,
    })
}

/// A raw request line + headers (with the token) + body.
pub fn raw_request(
    method: &str,
    target: &str,
    token: Option<&str>,
    extra: &str,
    body: &[u8],
) -> Vec<u8> {
    let mut out = format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    if let Some(t) = token {
        out.push_str(&format!("X-Vault-Token: {t}\r\n"));
    }
    out.push_str(extra);
    if !body.is_empty()
        && !extra.to_ascii_lowercase().contains("content-length")
        && !extra.to_ascii_lowercase().contains("transfer-encoding")
    {
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}
