use super::*;

fn counter(snap: &Snapshot, name: &str, labels: &[(&str, &str)]) -> Option<u64> {
    let family = snap.families.get(name)?;
    family.samples.iter().find_map(|s| {
        let same = s.labels.len() == labels.len()
            && s.labels
                .iter()
                .zip(labels)
                .all(|((k, v), (k2, v2))| k == k2 && v == v2);
        match (&s.value, same) {
            (Value::Counter(n), true) => Some(*n),
            _ => None,
        }
    })
}

#[test]
fn answers_are_counted_by_status_and_by_mount() {
    let m = Metrics::new(true);
    let route = Arc::new(RouteStats::new("secret/"));
    let on_mount = |op| Observed {
        route: Some(route.clone()),
        dispatched: op,
        login: false,
    };
    m.record(
        &on_mount(Some(Operation::Read)),
        200,
        Duration::from_millis(2),
    );
    m.record(
        &on_mount(Some(Operation::Read)),
        200,
        Duration::from_millis(4),
    );
    // Refused before it reached the engine: counted by status, not timed as a read.
    m.record(&on_mount(None), 403, Duration::from_millis(1));
    m.record(&Observed::default(), 404, Duration::from_millis(1));
    m.record(
        &Observed {
            login: true,
            ..Observed::default()
        },
        418,
        Duration::from_millis(30),
    );
    let mut snap = m.snapshot();
    route.collect(&mut snap);
    let status = "vault.core.response_status_code";
    assert_eq!(
        counter(&snap, status, &[("code", "200"), ("type", "2xx")]),
        Some(2)
    );
    assert_eq!(
        counter(&snap, status, &[("code", "403"), ("type", "4xx")]),
        Some(1)
    );
    assert_eq!(
        counter(&snap, status, &[("code", "418"), ("type", "4xx")]),
        Some(1)
    );
    let by_mount = "vault.route.response_status_code";
    let on = |code| [("mount_point", "secret/"), ("code", code), ("type", "2xx")];
    assert_eq!(counter(&snap, by_mount, &on("200")), Some(2));
    assert_eq!(counter(&snap, by_mount, &on("404")), None);
    let read = &snap.families["vault.route.read.secret-"].samples[0];
    assert_eq!(read.labels, vec![("mount_point", "secret/".to_owned())]);
    match &read.value {
        Value::Histogram(h) => assert_eq!((h.count, h.sum), (2, 6_000_000)),
        other => panic!("{other:?}"),
    }
    assert!(!snap.families.contains_key("vault.route.update.secret-"));
    let timer = |name: &str| match &snap.families[name].samples[0].value {
        Value::Histogram(h) => h.count,
        other => panic!("{other:?}"),
    };
    assert_eq!(timer("vault.core.handle_request"), 4);
    assert_eq!(timer("vault.core.handle_login_request"), 1);
}

#[test]
fn sources_add_their_figures_at_every_snapshot() {
    let m = Metrics::new(false);
    let calls = Arc::new(AtomicU64::new(0));
    let seen = calls.clone();
    m.register(Arc::new(move |out: &mut Snapshot| {
        let n = seen.fetch_add(1, Ordering::SeqCst) + 1;
        out.gauge("vault.replication.lag", "Lag.", Vec::new(), n as f64);
    }));
    for want in [1.0, 2.0] {
        let snap = m.snapshot();
        assert_eq!(
            snap.families["vault.replication.lag"].samples[0].value,
            Value::Gauge(want)
        );
    }
    assert_eq!(
        counter(&m.snapshot(), "vault.audit.log_request_failure", &[]),
        Some(0)
    );
}

#[test]
fn formats() {
    assert_eq!(Format::parse("").unwrap(), Format::Json);
    assert_eq!(Format::parse("prometheus").unwrap(), Format::Prometheus);
    assert_eq!(
        Format::parse("xml").unwrap_err().to_string(),
        "metric response format \"xml\" unknown"
    );
}
