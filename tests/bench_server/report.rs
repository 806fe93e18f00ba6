//! The server benchmark's report: the results table, startup and idle RSS, and the ratios
//! against the targets (printed, not asserted).

use crate::servers::Kind;
use crate::{median, TargetResult, CONNS, KEYS};

/// Reference figures from the brief (measured elsewhere), read CPU per request in µs.
const REF_RUSTYVAULT_READ_CPU_US: f64 = 47.0;
const REF_OPENBAO_READ_CPU_US: f64 = 170.0;

fn verdict(met: bool) -> &'static str {
    if met {
        "MET"
    } else {
        "MISSED"
    }
}

pub(crate) fn report(
    results: &[TargetResult],
    notes: &[String],
    secs: f64,
    threads: usize,
    cores: usize,
) {
    let get = |k: Kind| results.iter().find(|r| r.kind == k);
    println!();
    println!(
        "vaultrs server bench: {secs} s per timed phase, {CONNS} keep-alive connections, \
         {KEYS} keys, ~100-byte values, client on {threads} thread(s), {cores} cores"
    );
    for note in notes {
        println!("  {note}");
    }
    println!();
    println!(
        "{:<13} {:<9} {:>9} {:>10} {:>9} {:>9} {:>9} {:>12} {:>9} {:>12} {:>6}",
        "target",
        "phase",
        "requests",
        "req/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "srv CPU µs/r",
        "srv cores",
        "cli CPU µs/r",
        "errors"
    );
    for r in results {
        for (name, p) in &r.phases {
            println!(
                "{:<13} {:<9} {:>9} {:>10.0} {:>9.3} {:>9.3} {:>9.1} {:>12.1} {:>9.2} {:>12.1} {:>6}",
                r.kind.name(),
                name,
                p.requests,
                p.rps(),
                p.p50.as_secs_f64() * 1e3,
                p.p99.as_secs_f64() * 1e3,
                p.max.as_secs_f64() * 1e3,
                p.server_us_per_req(),
                p.server_cpu.as_secs_f64() / p.elapsed.as_secs_f64(),
                p.client_us_per_req(),
                p.errors
            );
            if let Some(e) = &p.first_error {
                println!("{:<13}   first error: {e}", "");
            }
        }
    }
    println!();
    println!(
        "{:<13} {:>18} {:>18} {:>16}",
        "target", "healthy ms (med)", "healthy ms (min)", "idle RSS MiB"
    );
    for r in results {
        if let Some(s) = &r.startup {
            let min = s.healthy_ms.iter().cloned().fold(f64::INFINITY, f64::min);
            let rss = median(s.rss_kib.iter().map(|k| *k as f64).collect()) / 1024.0;
            println!(
                "{:<13} {:>18.1} {:>18.1} {:>16.1}",
                r.kind.name(),
                median(s.healthy_ms.clone()),
                min,
                rss
            );
        }
    }

    println!();
    println!("ratios and targets (printed, not asserted):");
    let v = get(Kind::Vaultrs);
    let floor = get(Kind::Floor);
    let bao = get(Kind::Bao);
    let v_read = v.and_then(|r| r.phase("read"));
    let v_write = v.and_then(|r| r.phase("write"));
    let bao_read = bao.and_then(|r| r.phase("read"));
    let bao_write = bao.and_then(|r| r.phase("write"));
    if let Some(vr) = v_read {
        let cpu = vr.server_us_per_req();
        println!(
            "  reference read CPU/request (fixed, from the brief): RustyVault 0.2 ~{REF_RUSTYVAULT_READ_CPU_US} µs, \
             OpenBao ~{REF_OPENBAO_READ_CPU_US} µs"
        );
        if let Some(br) = bao_read {
            let peer = br.server_us_per_req();
            let ratio = cpu / peer;
            println!(
                "  read CPU/request vs OpenBao (measured): {cpu:.1} / {peer:.1} µs = {:.0}%   \
                 target ≤ 40%: {}",
                ratio * 100.0,
                verdict(ratio <= 0.40)
            );
        }
        let mut best = REF_RUSTYVAULT_READ_CPU_US.min(REF_OPENBAO_READ_CPU_US);
        let mut best_name = "RustyVault 0.2 (reference)";
        if let Some(br) = bao_read {
            if br.server_us_per_req() < best {
                best = br.server_us_per_req();
                best_name = "OpenBao (measured)";
            }
        }
        let ratio = cpu / best;
        println!(
            "  read CPU/request vs best peer, {best_name}: {cpu:.1} / {best:.1} µs = {:.0}%   \
             target ≤ 40%: {}",
            ratio * 100.0,
            verdict(ratio <= 0.40)
        );
        if let Some(fr) = floor.and_then(|f| f.phase("read")) {
            let ratio = vr.rps() / fr.rps();
            println!(
                "  read req/s vs floor: {:.0} / {:.0} = {:.0}%   target ≥ 50%: {}",
                vr.rps(),
                fr.rps(),
                ratio * 100.0,
                verdict(ratio >= 0.50)
            );
            println!(
                "    (floor CPU/request {:.1} µs: vaultrs spends {:.1} µs more per read)",
                fr.server_us_per_req(),
                cpu - fr.server_us_per_req()
            );
        }
    }
    if let (Some(vw), Some(bw)) = (v_write, bao_write) {
        let ratio = vw.rps() / bw.rps();
        println!(
            "  write req/s vs OpenBao: {:.0} / {:.0} = {:.0}%   target ≥ 100%: {}   \
             (vaultrs fsyncs every write; bao -dev is in memory)",
            vw.rps(),
            bw.rps(),
            ratio * 100.0,
            verdict(ratio >= 1.0)
        );
    } else if let Some(vw) = v_write {
        println!(
            "  write req/s: {:.0} (no OpenBao to compare with)",
            vw.rps()
        );
    }
    for r in results {
        let Some(s) = &r.startup else { continue };
        let healthy = median(s.healthy_ms.clone());
        let rss = median(s.rss_kib.iter().map(|k| *k as f64).collect()) / 1024.0;
        if r.kind == Kind::Vaultrs {
            println!(
                "  vaultrs healthy after exec: {healthy:.1} ms   target ≤ 10 ms: {}",
                verdict(healthy <= 10.0)
            );
            println!(
                "  vaultrs idle RSS: {rss:.1} MiB   target ≤ 10 MiB: {}",
                verdict(rss <= 10.0)
            );
        } else {
            println!(
                "  {} healthy after exec: {healthy:.1} ms; idle RSS {rss:.1} MiB (for comparison)",
                r.kind.name()
            );
        }
    }
}
