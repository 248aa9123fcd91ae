//! Pure: what `warden watch` knows of each group's Sentinels until it was first subscribed to
//! one of them. When every Sentinel of a group rejects warden's connection settings before
//! that (refuses the credentials, fails the TLS handshake, drops a plain connection to a
//! TLS-only port), waiting cannot help: the watch exits with the rejection (exit 2). Anything
//! else is waited for — unreachable Sentinels, an unknown master, and a rejection once a
//! Sentinel of the group was subscribed (a password rotated under a running watch).
//!
//! Until a group's start is *settled* (a Sentinel subscribed, or every Sentinel reported and
//! not all rejected), the watch holds the group's polls, so a wrong password is one error
//! line rather than a hazard per Sentinel first.

/// The startup state of every group; Sentinels are numbered within their group.
#[derive(Debug, Clone)]
pub(crate) struct Startup {
    groups: Vec<GroupStart>,
}

#[derive(Debug, Clone)]
struct GroupStart {
    /// A Sentinel of the group was subscribed at least once.
    subscribed: bool,
    /// The start is settled (sticky).
    settled: bool,
    /// Each Sentinel's latest report before the first subscription.
    last: Vec<Last>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Last {
    /// Nothing reported yet.
    Nothing,
    /// It rejected the connection settings.
    Refused,
    /// It could not be subscribed to for another reason.
    Other,
}

/// What a report means for the group's start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Every Sentinel of the group rejects the connection settings and none was ever
    /// subscribed.
    Refused,
    /// The start is settled by this report: the held polls may go.
    Settled,
    /// Nothing changes.
    Wait,
}

impl Startup {
    /// Groups of `sizes[g]` Sentinels each.
    pub(crate) fn new(sizes: impl IntoIterator<Item = usize>) -> Self {
        Startup {
            groups: sizes
                .into_iter()
                .map(|n| GroupStart {
                    subscribed: false,
                    settled: n == 0,
                    last: vec![Last::Nothing; n],
                })
                .collect(),
        }
    }

    /// Whether group `g`'s start is settled.
    pub(crate) fn settled(&self, g: usize) -> bool {
        self.groups[g].settled
    }

    /// Sentinel `i` of group `g` was subscribed.
    pub(crate) fn connected(&mut self, g: usize, _i: usize) -> Verdict {
        let gs = &mut self.groups[g];
        gs.subscribed = true;
        gs.last.clear();
        Self::settle(gs)
    }

    /// Sentinel `i` of group `g` could not be subscribed to (or its session ended);
    /// `rejected` when it turned warden's connection settings away.
    pub(crate) fn disconnected(&mut self, g: usize, i: usize, rejected: bool) -> Verdict {
        let gs = &mut self.groups[g];
        if gs.subscribed {
            return Verdict::Wait;
        }
        gs.last[i] = if rejected { Last::Refused } else { Last::Other };
        if gs.last.iter().all(|l| *l == Last::Refused) {
            return Verdict::Refused;
        }
        if gs.last.iter().all(|l| *l != Last::Nothing) {
            return Self::settle(gs);
        }
        Verdict::Wait
    }

    fn settle(gs: &mut GroupStart) -> Verdict {
        if gs.settled {
            return Verdict::Wait;
        }
        gs.settled = true;
        Verdict::Settled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sentinel_rejecting_before_a_subscription_is_fatal() {
        let mut s = Startup::new([3]);
        assert_eq!(s.disconnected(0, 0, true), Verdict::Wait);
        assert_eq!(s.disconnected(0, 2, true), Verdict::Wait);
        assert!(!s.settled(0));
        assert_eq!(s.disconnected(0, 1, true), Verdict::Refused);
    }

    #[test]
    fn an_unreachable_sentinel_settles_the_start_and_is_waited_for() {
        let mut s = Startup::new([2, 1]);
        assert_eq!(s.disconnected(0, 0, false), Verdict::Wait);
        assert_eq!(s.disconnected(0, 1, true), Verdict::Settled);
        assert!(s.settled(0) && !s.settled(1));
        // It comes up refusing too: now every one refuses, and none was ever subscribed.
        assert_eq!(s.disconnected(0, 0, true), Verdict::Refused);
    }

    #[test]
    fn a_rejection_after_a_subscription_is_waited_for() {
        let mut s = Startup::new([2]);
        assert_eq!(s.disconnected(0, 0, true), Verdict::Wait);
        assert_eq!(s.connected(0, 1), Verdict::Settled);
        assert_eq!(s.disconnected(0, 1, true), Verdict::Wait);
        assert_eq!(s.disconnected(0, 0, true), Verdict::Wait);
        assert_eq!(s.connected(0, 0), Verdict::Wait);
        assert!(s.settled(0));
    }
}
