//! Table tests of the whole CLI (argv and stdin in; stdout, stderr and exit code out) that
//! need no real server: a tiny in-test HTTP server answers canned Vault responses and
//! records every request, so JSON output, error text, exit codes and the wipe guard's
//! "nothing was sent" are checked exactly. The same tables against a real `vaultrs server
//! -dev` live in the root package's `tests/cli.rs`.
//!
//! One file per concern; the fake server and the helpers they share are here.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

use crate::execute;
use crate::ui::{Env, Ui};

mod inputs;
mod remount;
mod tables;
mod tree;
mod wipe_guard;

/// One recorded request.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A canned answer: method and request target (path and query) to status and body.
type Route = (&'static str, &'static str, u16, &'static str);

/// A canned answer with a body of any bytes.
type RawRoute = (&'static str, &'static str, u16, Vec<u8>);

/// A fake Vault: answers `routes`, 404 `{"errors":[]}` otherwise, and records requests.
struct FakeVault {
    addr: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl FakeVault {
    fn start(routes: Vec<Route>) -> FakeVault {
        Self::start_raw(
            routes
                .into_iter()
                .map(|(m, t, s, b)| (m, t, s, b.as_bytes().to_vec()))
                .collect(),
        )
    }

    fn start_raw(routes: Vec<RawRoute>) -> FakeVault {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let rec = seen.clone();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let routes = routes.clone();
                let rec = rec.clone();
                thread::spawn(move || serve(stream, &routes, &rec));
            }
        });
        FakeVault { addr, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn serve(stream: TcpStream, routes: &[RawRoute], rec: &Mutex<Vec<Seen>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    let mut len = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.trim_end().split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap_or(0);
            }
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let mut body = vec![0u8; len];
    let _ = reader.read_exact(&mut body);
    rec.lock().unwrap().push(Seen {
        method: method.clone(),
        target: target.clone(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let (status, resp) = routes
        .iter()
        .find(|(m, t, _, _)| *m == method && *t == target)
        .map(|(_, _, s, b)| (*s, b.as_slice()))
        .unwrap_or((404, br#"{"errors":[]}"#.as_slice()));
    let reason = match status {
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        _ => "Other",
    };
    let mut w = stream;
    let _ = write!(
        w,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        resp.len()
    );
    let _ = w.write_all(resp);
    let _ = w.flush();
}

/// Runs the CLI with `args`, `stdin` and `env`, returning (stdout, stderr, exit code).
fn run_with(
    args: &[&str],
    stdin: &str,
    env: Env,
    tweak: impl FnOnce(&mut Ui),
) -> (String, String, u8) {
    let (mut ui, out, err) = Ui::captured(env, stdin.as_bytes());
    tweak(&mut ui);
    let code = execute(args, &mut ui);
    (out.contents(), err.contents(), code)
}

fn env_for(fake: &FakeVault) -> Env {
    Env::from_pairs([("VAULT_ADDR", fake.addr.as_str()), ("VAULT_TOKEN", "root")])
}

const SECRET_V1: &str = r#"{"request_id":"11111111-2222-3333-4444-555555555555","lease_id":"","renewable":false,"lease_duration":2764800,"data":{"password":"s3cr3t","user":"<admin>"},"wrap_info":null,"warnings":null,"auth":null}"#;

const TOKEN_CREATE: &str = r#"{"request_id":"r1","lease_id":"","renewable":false,"lease_duration":0,"data":null,"wrap_info":null,"warnings":null,"auth":{"client_token":"hvs.child","accessor":"acc1","policies":["default","dev"],"token_policies":["default","dev"],"metadata":{"team":"a"},"lease_duration":3600,"renewable":true,"entity_id":"","token_type":"service","orphan":false,"mfa_requirement":null,"num_uses":0}}"#;
