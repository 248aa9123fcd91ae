//! Pure: what one Sentinel says about a master and its replicas, as plain data read from
//! the field maps of `SENTINEL MASTER` and `SENTINEL REPLICAS` (which
//! [`super::topology`] sends).

use std::collections::HashMap;

use crate::addr::Addr;

/// One Sentinel's view of the master (`SENTINEL MASTER <name>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterView {
    /// Where this Sentinel thinks the master is.
    pub addr: Addr,
    /// Sentinel's flags for it, e.g. `master` or `s_down,master`.
    pub flags: String,
    /// Replicas this Sentinel knows (up or down).
    pub num_replicas: u32,
    /// Other Sentinels this Sentinel knows.
    pub num_other_sentinels: u32,
    /// Its `down-after-milliseconds`, when given.
    pub down_after_ms: Option<u64>,
}

/// One Sentinel's view of a replica (`SENTINEL REPLICAS <name>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaView {
    /// The replica's announced address.
    pub addr: Addr,
    /// Sentinel's flags for it, e.g. `slave` or `s_down,slave,disconnected`.
    pub flags: String,
    /// `master-link-status` is `ok`.
    pub link_ok: bool,
    /// `slave-repl-offset`.
    pub offset: i64,
    /// `slave-priority` (lower is preferred; 0 never promoted).
    pub priority: i64,
}

impl MasterView {
    /// The view in a `SENTINEL MASTER` reply; `None` without a usable address.
    pub(crate) fn from_fields(m: &HashMap<String, String>) -> Option<MasterView> {
        Some(MasterView {
            addr: addr_of(m)?,
            flags: field(m, "flags").to_string(),
            num_replicas: field(m, "num-slaves").parse().unwrap_or(0),
            num_other_sentinels: field(m, "num-other-sentinels").parse().unwrap_or(0),
            down_after_ms: field(m, "down-after-milliseconds").parse().ok(),
        })
    }

    /// This Sentinel has a failover of the master in progress.
    pub(crate) fn failing_over(&self) -> bool {
        self.flags.split(',').any(|f| f == "failover_in_progress")
    }
}

impl ReplicaView {
    /// One entry of a `SENTINEL REPLICAS` reply; `None` without a usable address.
    pub(crate) fn from_fields(m: &HashMap<String, String>) -> Option<ReplicaView> {
        Some(ReplicaView {
            addr: addr_of(m)?,
            flags: field(m, "flags").to_string(),
            link_ok: field(m, "master-link-status") == "ok",
            offset: field(m, "slave-repl-offset").parse().unwrap_or(-1),
            priority: field(m, "slave-priority").parse().unwrap_or(100),
        })
    }

    /// Up, linked, and not flagged down or disconnected.
    pub fn healthy(&self) -> bool {
        self.link_ok
            && !["s_down", "o_down", "disconnected"]
                .iter()
                .any(|f| self.flags.split(',').any(|x| x == *f))
    }
}

fn field<'a>(m: &'a HashMap<String, String>, k: &str) -> &'a str {
    m.get(k).map(String::as_str).unwrap_or("")
}

fn addr_of(m: &HashMap<String, String>) -> Option<Addr> {
    Some(Addr::new(field(m, "ip"), field(m, "port").parse().ok()?))
}
/// What one Sentinel answered to `GET-MASTER-ADDR-BY-NAME`: the address, `None` when it
/// does not monitor the master, or why it did not answer.
pub(crate) type PrimaryAnswer = Result<Option<Addr>, String>;

/// The address most Sentinels answered with (the first named among equals).
pub fn most_named(answers: &[PrimaryAnswer]) -> Option<Addr> {
    let named: Vec<&Addr> = answers
        .iter()
        .filter_map(|a| a.as_ref().ok()?.as_ref())
        .collect();
    let votes = |a: &Addr| named.iter().filter(|n| **n == a).count();
    let mut best: Option<(&Addr, usize)> = None;
    for a in &named {
        let v = votes(a);
        if best.is_none_or(|(_, most)| v > most) {
            best = Some((a, v));
        }
    }
    best.map(|(a, _)| a.clone())
}

/// The primary per Sentinels in one line: the address and how many agree; when they
/// disagree (a split view), every address with the Sentinels that name it.
pub(crate) fn primary_line(sentinels: &[Addr], answers: &[PrimaryAnswer]) -> String {
    let mut named: Vec<(&Addr, Vec<String>)> = Vec::new();
    let mut silent = Vec::new();
    for (s, a) in sentinels.iter().zip(answers) {
        match a {
            Ok(Some(p)) => match named.iter_mut().find(|(q, _)| *q == p) {
                Some((_, by)) => by.push(s.to_string()),
                None => named.push((p, vec![s.to_string()])),
            },
            Ok(None) => silent.push(format!("{s} does not monitor it")),
            Err(e) => silent.push(format!("{s}: {e}")),
        }
    }
    let silent = match silent.is_empty() {
        true => String::new(),
        false => format!("; {}", silent.join("; ")),
    };
    match named.as_slice() {
        [] => format!("primary: unknown (no Sentinel named one{silent})"),
        [(p, by)] => format!(
            "primary (per Sentinels): {p} ({} of {} agree{silent})",
            by.len(),
            sentinels.len()
        ),
        views => {
            let views: Vec<String> = views
                .iter()
                .map(|(p, by)| format!("{p} per {}", by.join(", ")))
                .collect();
            format!("primary: SPLIT VIEW: {}{silent}", views.join("; "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_named_primary_wins_the_first_among_equals() {
        let (old, new) = (Addr::local(1), Addr::local(2));
        let answers = vec![
            Ok(Some(old.clone())),
            Ok(Some(new.clone())),
            Err("down".to_string()),
            Ok(Some(new.clone())),
        ];
        assert_eq!(most_named(&answers), Some(new.clone()));
        assert_eq!(most_named(&answers[..2]), Some(old));
        assert_eq!(most_named(&[Ok(None), Err("x".into())]), None);
    }

    #[test]
    fn the_primary_line_shows_agreement_and_split_views() {
        let a = |p: u16| Addr::new("10.0.0.1", p);
        let s = [a(1), a(2), a(3)];
        let cases: [(&[PrimaryAnswer], &str); 4] = [
            (
                &[Ok(Some(a(7))), Ok(Some(a(7))), Ok(Some(a(7)))],
                "primary (per Sentinels): 10.0.0.1:7 (3 of 3 agree)",
            ),
            (
                &[Ok(Some(a(7))), Err("timed out".into()), Ok(Some(a(7)))],
                "primary (per Sentinels): 10.0.0.1:7 (2 of 3 agree; 10.0.0.1:2: timed out)",
            ),
            (
                &[Ok(Some(a(7))), Ok(Some(a(8))), Ok(Some(a(7)))],
                "primary: SPLIT VIEW: 10.0.0.1:7 per 10.0.0.1:1, 10.0.0.1:3; 10.0.0.1:8 per 10.0.0.1:2",
            ),
            (
                &[Ok(None), Err("refused".into()), Ok(None)],
                "primary: unknown (no Sentinel named one; 10.0.0.1:1 does not monitor it; \
                 10.0.0.1:2: refused; 10.0.0.1:3 does not monitor it)",
            ),
        ];
        for (answers, want) in cases {
            assert_eq!(primary_line(&s, answers), want);
        }
    }
}
