//! The drill scenario the tests write most: one kill of the primary, built from the parts
//! that differ between tests (where the target is, the load, the waits, the targets).

use std::path::Path;

/// A one-trial `kill` of the primary, with writers that retry every 10 ms and keys that live
/// 30 minutes. Defaults: 4 writers at 1000 writes/s, a 2 s warm-up, 30 s to observe the
/// failover and to wait for the rejoin, RTO 5000 ms, RPO 100 keys and 1000 ms.
pub struct PrimaryKill {
    name: String,
    target: String,
    writers: u32,
    rate: u32,
    warmup: &'static str,
    wait: &'static str,
    targets: (u64, u64, u64),
}

impl PrimaryKill {
    /// On the lab recorded in `lab_dir` (its connection settings come from its `lab.json`).
    pub fn on_lab_dir(name: &str, lab_dir: &Path) -> PrimaryKill {
        PrimaryKill::new(name, format!("lab_dir = \"{}\"", lab_dir.display()))
    }

    /// On `sentinels` watching `master`, with more `[target]` lines after (`extra`, may be
    /// empty).
    pub fn on_sentinels(name: &str, sentinels: &[String], master: &str, extra: &str) -> Self {
        let list: Vec<String> = sentinels.iter().map(|s| format!("\"{s}\"")).collect();
        let mut target = format!("sentinels = [{}]\nmaster = \"{master}\"", list.join(", "));
        if !extra.is_empty() {
            target = format!("{target}\n{extra}");
        }
        PrimaryKill::new(name, target)
    }

    fn new(name: &str, target: String) -> PrimaryKill {
        PrimaryKill {
            name: name.to_string(),
            target,
            writers: 4,
            rate: 1000,
            warmup: "2s",
            wait: "30s",
            targets: (5000, 100, 1000),
        }
    }

    /// `writers` writers at `rate` writes per second in all.
    pub fn load(mut self, writers: u32, rate: u32) -> Self {
        (self.writers, self.rate) = (writers, rate);
        self
    }

    /// The warm-up before the kill.
    pub fn warmup(mut self, warmup: &'static str) -> Self {
        self.warmup = warmup;
        self
    }

    /// How long to observe the failover, and to wait for the old primary to rejoin.
    pub fn wait(mut self, wait: &'static str) -> Self {
        self.wait = wait;
        self
    }

    /// The targets: RTO in ms, RPO in keys and in ms.
    pub fn targets(mut self, rto_ms: u64, rpo_keys: u64, rpo_ms: u64) -> Self {
        self.targets = (rto_ms, rpo_keys, rpo_ms);
        self
    }

    /// The scenario file's text.
    pub fn toml(&self) -> String {
        let (rto_ms, rpo_keys, rpo_ms) = self.targets;
        format!(
            r#"name = "{name}"
trials = 1
[target]
{target}
[workload]
writers = {writers}
rate = {rate}
ttl = "30m"
retry = {{ policy = "fixed", delay = "10ms" }}
[fault]
action = "kill"
[timing]
warmup = "{warmup}"
observe = "{wait}"
settle = "1s"
rejoin = "{wait}"
[targets]
rto_ms = {rto_ms}
rpo_keys = {rpo_keys}
rpo_ms = {rpo_ms}
"#,
            name = self.name,
            target = self.target,
            writers = self.writers,
            rate = self.rate,
            warmup = self.warmup,
            wait = self.wait,
        )
    }
}
