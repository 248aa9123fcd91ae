//! Table tests of the watch's decisions over real captured event streams
//! (`testdata/episodes/*.tsv`, see `failover/episode/tests.rs`), on a virtual clock: the
//! shell's loop in miniature, with the `+switch-master` checks answered by the test.

use std::time::{Duration, Instant, SystemTime};

use super::*;
use crate::failover::episode::captures::{self, CONSECUTIVE, RETURNING};
use crate::failover::hazard::{Limits, SentinelAnswer, SentinelSeen};
use crate::sentinel::event::parse;
use crate::sentinel::report::Rejected;

/// How the test answers the core's `+switch-master` checks.
#[derive(Clone, Copy, PartialEq)]
enum Checks {
    /// Confirmed as soon as asked.
    Confirm,
    /// Confirmed only when the stream is over (everything after the switch is held).
    Late,
    /// Found stale as soon as asked.
    Stale,
}

/// A core following master `m` (or every master, `masters` empty) of one group of three
/// Sentinels (127.0.0.1:17510–17512), and its outputs so far, summed up.
struct Drive {
    core: Core,
    t0: Instant,
    checks: Checks,
    /// Checks asked for and not answered yet.
    asked: Vec<Verify>,
    lines: Vec<String>,
    /// Every hazard out, as it went.
    hazards: Vec<Hazard>,
    limited: bool,
}

fn sentinels() -> Vec<Addr> {
    (0..3).map(|i| Addr::new("127.0.0.1", 17510 + i)).collect()
}

fn group(masters: &[&str]) -> Group {
    Group {
        name: "default".into(),
        sentinels: sentinels(),
        masters: masters.iter().map(|m| m.to_string()).collect(),
        rto: None,
        rto_by_master: Default::default(),
        conn: Default::default(),
        backups: Vec::new(),
        backup_rpo: None,
    }
}

impl Drive {
    fn new(masters: &[&str], limit: Option<u32>, checks: Checks) -> Self {
        let settings = Settings {
            limits: Limits::default(),
            flap_count: 3,
            flap_window: Duration::from_secs(600),
        };
        let mut core = Core::new(&[group(masters)], settings, limit);
        let start = core.start();
        let mut d = Drive {
            core,
            t0: Instant::now(),
            checks,
            asked: Vec::new(),
            lines: Vec::new(),
            hazards: Vec::new(),
            limited: false,
        };
        d.take(start);
        d
    }

    fn now(&self, ms: f64) -> Now {
        let d = Duration::from_secs_f64(ms / 1000.0);
        Now {
            at: self.t0 + d,
            wall: SystemTime::UNIX_EPOCH + Duration::from_secs(1_772_359_200) + d,
        }
    }

    /// Every Sentinel subscribed at `ms`.
    fn connect_all(&mut self, ms: f64) {
        for source in 0..3 {
            self.monitor(
                ms,
                MonitorEvent::Connected {
                    source,
                    at: self.now(ms).at,
                },
            );
        }
    }

    fn monitor(&mut self, ms: f64, report: MonitorEvent) {
        if self.limited {
            return;
        }
        let outs = self.core.monitor(report, self.now(ms));
        self.take(outs);
        if self.checks != Checks::Late {
            self.answer(ms);
        }
    }

    /// The events of a capture, at `base` + their ms.
    fn capture(&mut self, base: f64, text: &str) {
        for l in captures::lines(text) {
            let ms = base + l.ms;
            let now = self.now(ms);
            let event = parse(l.channel, l.payload);
            let report = MonitorEvent::Event {
                source: l.source,
                at: now.at,
                wall: now.wall,
                event,
            };
            self.monitor(ms, report);
        }
    }

    /// Answers every check asked so far.
    fn answer(&mut self, ms: f64) {
        for v in std::mem::take(&mut self.asked) {
            let result = match self.checks {
                Checks::Stale => Err("127.0.0.1:17501 answers ROLE slave".to_string()),
                _ => Ok(()),
            };
            let verified = Verified {
                group: v.group,
                master: v.master,
                entry: v.entry,
                result,
            };
            let outs = self.core.verified(verified, self.now(ms));
            self.take(outs);
        }
    }

    fn stop(&mut self, ms: f64) {
        self.answer(ms);
        if !self.limited {
            let outs = self.core.stop(self.now(ms));
            self.take(outs);
        }
    }

    fn take(&mut self, outs: Vec<Out>) {
        for o in outs {
            match &o {
                Out::Verify(v) => self.asked.push(v.clone()),
                Out::Hazard { hazard, .. } => self.hazards.push(hazard.clone()),
                Out::Ended(e) => self.hazards.extend(e.hazards.iter().cloned()),
                _ => {}
            }
            self.limited |= matches!(o, Out::Limit);
            self.lines.extend(summary(&o));
        }
    }

    /// The lines that start with one of `kinds`.
    fn only(&self, kinds: &[&str]) -> Vec<&str> {
        self.since(0, kinds)
    }

    /// [`Drive::only`] from line `n` on.
    fn since(&self, n: usize, kinds: &[&str]) -> Vec<&str> {
        self.lines[n..]
            .iter()
            .filter(|l| kinds.iter().any(|k| l.starts_with(k)))
            .map(String::as_str)
            .collect()
    }
}

fn hazard(h: &Hazard) -> String {
    let state = match h.state {
        State::Raised => "raised",
        State::Cleared => "cleared",
    };
    let subject = h
        .subject
        .as_deref()
        .map_or(String::new(), |s| format!(" {s}"));
    format!("hazard {} {state}{subject}", h.kind)
}

/// An output as compact lines (an ended episode: its line, then its hazards').
fn summary(o: &Out) -> Vec<String> {
    let one = match o {
        Out::Connection {
            source, link, gap, ..
        } => {
            let gap = gap.map_or(String::new(), |g| format!(" gap {} ms", g.as_millis()));
            format!("{} s{source}{gap}", link.as_str())
        }
        Out::Primary {
            source,
            addr,
            stale,
            ..
        } => format!(
            "primary s{source} {addr}{}",
            if *stale { " stale" } else { "" }
        ),
        Out::Event(e) => format!("event {}", e.event.kind.channel()),
        Out::Topology { snapshot, .. } => format!("topology {}", snapshot.master),
        Out::Hazard { hazard: h, .. } => hazard(h),
        Out::Ended(e) => {
            let f = &e.failover;
            let port = |a: &Option<Addr>| a.as_ref().map_or("?".into(), |a| a.port.to_string());
            let mut lines = vec![format!(
                "ended {:?} {}->{}",
                f.outcome,
                port(&f.old),
                port(&f.new)
            )];
            lines.extend(e.hazards.iter().map(hazard));
            return lines;
        }
        Out::Verify(v) => format!("verify {} {}", v.master, v.new),
        Out::Metric { metric, .. } => match metric {
            Metric::Watching { master, up, tilted } => {
                format!("metric watching {master} up {up:?} tilted {tilted:?}")
            }
            Metric::Report { masters, gap, .. } => format!("metric report {masters:?} {gap:?}"),
            Metric::Polled { master, .. } => format!("metric polled {master}"),
        },
        Out::Refused { source, .. } => format!("refused s{source}"),
        Out::Limit => "limit".into(),
    };
    vec![one]
}

/// Issue "Production watch": a captured failover ends as one recorded failover, whatever
/// the time its `+switch-master` takes to check; each event is printed once.
#[test]
fn a_captured_failover_ends_as_one_record() {
    for checks in [Checks::Confirm, Checks::Late] {
        let mut d = Drive::new(&["m"], None, checks);
        d.connect_all(0.0);
        d.capture(10.0, RETURNING);
        d.stop(5000.0);
        assert_eq!(
            d.only(&["ended", "verify"]),
            ["verify m 127.0.0.1:17501", "ended FailedOver 17500->17501"]
        );
        let events = d.only(&["event"]).len();
        let distinct = RETURNING.lines().filter(|l| !l.is_empty()).count();
        assert!(events > 10 && events < distinct, "{events} of {distinct}");
    }
}

/// The entries after a `+switch-master` wait for its check: nothing ends before it, and
/// once it is confirmed they are fed in order (the record is the one of a prompt check).
#[test]
fn entries_after_a_switch_are_held_until_it_is_confirmed() {
    let mut d = Drive::new(&["m"], None, Checks::Late);
    d.connect_all(0.0);
    d.capture(10.0, CONSECUTIVE);
    assert_eq!(d.only(&["ended"]), Vec::<&str>::new(), "held");
    assert_eq!(d.core.verifying(0), 1, "one check at a time per master");
    d.answer(40_000.0);
    assert_eq!(d.core.verifying(0), 0);
    d.stop(40_000.0);
    let mut prompt = Drive::new(&["m"], None, Checks::Confirm);
    prompt.connect_all(0.0);
    prompt.capture(10.0, CONSECUTIVE);
    prompt.stop(40_000.0);
    let three = [
        "ended FailedOver 17500->17501",
        "ended FailedOver 17501->17502",
        "ended FailedOver 17502->17500",
    ];
    assert_eq!(prompt.only(&["ended"]), three);
    assert_eq!(d.only(&["ended"]), three, "the held entries, fed in order");
    // Only the first switch was checked: the later ones came while it was held.
    assert_eq!(d.only(&["verify"]), ["verify m 127.0.0.1:17501"]);
    assert_eq!(prompt.only(&["verify"]).len(), 3);
    // Three failovers within the flap window: flapping, raised by the third record.
    assert_eq!(
        d.lines.last().map(String::as_str),
        Some("hazard flapping raised")
    );
}

/// A `+switch-master` its check does not confirm is a `stale-switch` hazard, counted, and
/// not followed: no failover to 17501 is recorded.
#[test]
fn a_stale_switch_raises_its_hazard_and_is_not_followed() {
    let mut d = Drive::new(&["m"], None, Checks::Stale);
    d.connect_all(0.0);
    d.capture(10.0, RETURNING);
    d.stop(5000.0);
    assert_eq!(
        d.only(&["hazard stale-switch"]),
        ["hazard stale-switch raised"]
    );
    assert_eq!(d.core.raised(0, "m", HazardKind::StaleSwitch), 1);
    // The leader's `+failover-end` still ends the episode, with no switch followed.
    assert_eq!(d.only(&["ended"]), ["ended FailedOver ?->?"]);
}

/// A Sentinel out of reach and back: its lines (the gap measured), the metrics told the gap.
#[test]
fn a_sentinels_gap_then_its_reconnection() {
    let mut d = Drive::new(&["m"], None, Checks::Confirm);
    d.connect_all(0.0);
    let n = d.lines.len();
    let at = d.now(1000.0).at;
    d.monitor(
        1000.0,
        MonitorEvent::Disconnected {
            source: 1,
            at,
            reason: "connection refused".into(),
            rejected: None,
        },
    );
    d.monitor(
        4500.0,
        MonitorEvent::Connected {
            source: 1,
            at: d.now(4500.0).at,
        },
    );
    assert_eq!(
        d.since(n, &["connected", "disconnected", "metric report"]),
        [
            "metric report [\"m\"] None",
            "disconnected s1",
            "metric report [\"m\"] Some(3.5s)",
            "connected s1 gap 3500 ms",
        ]
    );
}

/// TILT is per Sentinel: raised once per Sentinel whatever the merge, cleared by its own
/// `-tilt`; a master followed later knows which Sentinels are up and in TILT.
#[test]
fn tilt_is_entered_and_exited_per_sentinel() {
    let mut d = Drive::new(&[], None, Checks::Confirm);
    d.connect_all(0.0);
    let primary = |d: &mut Drive, ms: f64, master: &str| {
        let now = d.now(ms);
        let report = MonitorEvent::Primary {
            source: 0,
            master: master.into(),
            at: now.at,
            wall: now.wall,
            addr: Addr::new("127.0.0.1", 17500),
            config_epoch: 0,
        };
        d.monitor(ms, report);
    };
    primary(&mut d, 10.0, "m");
    for (ms, source, channel) in [
        (100.0, 1, "+tilt"),
        (150.0, 2, "+tilt"),
        (200.0, 1, "+tilt"),
        (30_100.0, 1, "-tilt"),
    ] {
        let now = d.now(ms);
        let comment = match channel {
            "+tilt" => "#tilt mode entered",
            _ => "#tilt mode exited",
        };
        let event = parse(channel, comment);
        let report = MonitorEvent::Event {
            source,
            at: now.at,
            wall: now.wall,
            event,
        };
        d.monitor(ms, report);
    }
    primary(&mut d, 30_200.0, "other");
    assert_eq!(
        d.only(&["hazard", "metric watching"]),
        [
            "metric watching m up [\"127.0.0.1:17510\", \"127.0.0.1:17511\", \"127.0.0.1:17512\"] tilted []",
            "hazard tilt raised 127.0.0.1:17511",
            "hazard tilt raised 127.0.0.1:17512",
            "hazard tilt cleared 127.0.0.1:17511",
            "metric watching other up [\"127.0.0.1:17510\", \"127.0.0.1:17511\", \"127.0.0.1:17512\"] tilted [\"127.0.0.1:17512\"]",
        ]
    );
}

/// One Sentinel answering about `m`, with its primary at 17500.
fn snapshot() -> Snapshot {
    Snapshot {
        master: "m".into(),
        sentinels: vec![SentinelSeen {
            addr: Addr::new("127.0.0.1", 17510),
            answer: Ok(SentinelAnswer {
                primary: Some(Addr::new("127.0.0.1", 17500)),
                config_epoch: Some(0),
                quorum: Ok(()),
                tilt: false,
                other_sentinels: 2,
                down_after_ms: Some(1000),
            }),
        }],
        nodes: Vec::new(),
        primary: None,
        primary_addr: Some(Addr::new("127.0.0.1", 17500)),
    }
}

/// Polls before the group's start is settled wait (the latest per master), and are
/// replayed once it is; a wrong password everywhere is then one refusal, no hazard first.
#[test]
fn polls_before_the_start_is_settled_are_replayed_after() {
    let mut d = Drive::new(&["m"], None, Checks::Confirm);
    for ms in [10.0, 20.0] {
        let now = d.now(ms);
        let p = Polled {
            group: 0,
            began: now.at,
            at: now.at,
            snapshot: snapshot(),
            bytes_per_sec: None,
        };
        let outs = d.core.polled(p, now);
        d.take(outs);
    }
    assert_eq!(d.only(&["topology", "metric polled"]), Vec::<&str>::new());
    d.monitor(
        30.0,
        MonitorEvent::Connected {
            source: 2,
            at: d.now(30.0).at,
        },
    );
    assert_eq!(
        d.only(&["topology", "metric polled", "connected"]),
        ["connected s2", "metric polled m", "topology m"],
        "replayed once, after the line that settled the start"
    );

    let mut refused = Drive::new(&["m"], None, Checks::Confirm);
    for source in 0..3 {
        let report = MonitorEvent::Disconnected {
            source,
            at: refused.now(10.0).at,
            reason: "WRONGPASS".into(),
            rejected: Some(Rejected::Auth("WRONGPASS".into())),
        };
        refused.monitor(10.0, report);
    }
    assert_eq!(refused.lines.last().map(String::as_str), Some("refused s2"));
    assert_eq!(
        refused.only(&["hazard", "disconnected"]),
        ["disconnected s0", "disconnected s1"]
    );
}

/// `--episodes 2`: the second record is the last output, followed by the limit.
#[test]
fn the_episodes_limit_stops_after_the_nth_record() {
    let mut d = Drive::new(&["m"], Some(2), Checks::Confirm);
    d.connect_all(0.0);
    d.capture(10.0, CONSECUTIVE);
    assert!(d.limited);
    let n = d.lines.len();
    assert_eq!(d.lines[n - 1], "limit");
    assert_eq!(
        d.only(&["ended", "limit"]),
        [
            "ended FailedOver 17500->17501",
            "ended FailedOver 17501->17502",
            "limit"
        ]
    );
}

/// Issue 22: a master's newest good backup older than the group's backup RPO (or none) is
/// one `backup-stale` hazard, counted once, cleared when a fresh one appears; reports
/// before the start is settled wait; another group's name is not this one's.
#[test]
fn a_stale_backup_is_raised_once_and_cleared_by_a_fresh_one() {
    let hour = Duration::from_secs(3600);
    let age = |master: &str, good_age: Option<Duration>| BackupAge {
        group: "default".into(),
        master: master.into(),
        good_age,
        rpo: hour,
    };
    let mut d = Drive::new(&[], None, Checks::Confirm);
    let outs = d.core.backup(age("orders", Some(2 * hour)), d.now(5.0));
    d.take(outs);
    assert_eq!(
        d.only(&["hazard"]),
        Vec::<&str>::new(),
        "held until settled"
    );
    d.connect_all(10.0);
    for (ms, b) in [
        (
            20.0,
            age("orders", Some(2 * hour + Duration::from_secs(60))),
        ),
        (30.0, age("sessions", Some(hour / 2))),
        (40.0, age("carts", None)),
        (50.0, age("orders", Some(Duration::from_secs(60)))),
        (60.0, age("orders", Some(Duration::from_secs(120)))),
    ] {
        let outs = d.core.backup(b, d.now(ms));
        d.take(outs);
    }
    let mut other = age("orders", None);
    other.group = "eu".into();
    let outs = d.core.backup(other, d.now(70.0));
    d.take(outs);
    assert_eq!(
        d.only(&["hazard"]),
        [
            "hazard backup-stale raised",
            "hazard backup-stale raised",
            "hazard backup-stale cleared",
        ]
    );
    assert_eq!(d.core.raised(0, "orders", HazardKind::BackupStale), 1);
    assert_eq!(d.core.raised(0, "carts", HazardKind::BackupStale), 1);
    assert_eq!(d.core.raised(0, "sessions", HazardKind::BackupStale), 0);
    let details: Vec<String> = d
        .hazards
        .iter()
        .map(|h| format!("{} {}", h.master, h.detail))
        .collect();
    assert_eq!(
        details,
        [
            "orders the newest good backup is 2h old (RPO 1h)",
            "carts no good backup found (RPO 1h)",
            "orders the newest good backup is 2h 1m old (RPO 1h)",
        ]
    );
    assert!(
        d.only(&["metric watching"]).is_empty(),
        "a master known from its backups alone is not followed"
    );
}
