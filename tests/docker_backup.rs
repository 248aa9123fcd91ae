//! `warden backup --method bgsave --from-container` on the docker lab: BGSAVE runs on a
//! replica, its `dump.rdb` comes out of the container through the Docker API, the primary
//! never forks, and the manifest counts what the primary holds.
//! Container tests fail without an engine unless `WARDEN_TEST_SKIP_MISSING=1`.

#[path = "backup_support/mod.rs"]
mod backup_support;
mod support;

use backup_support::{dbsize, fill, info};
use support::docker::{TestDockerLab, engine};
use support::{WAIT, Warden, wait_until};
use warden::addr::Addr;
use warden::lab::SentinelSettings;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bgsave_backup_copies_the_rdb_out_of_the_replica_container() {
    if engine().await.is_none() {
        return;
    }
    let t = TestDockerLab::up_with(SentinelSettings::default()).await;
    let nodes = t.lab.nodes();
    let primary = nodes[0].clone();
    fill(&primary, 2000, 100, 200).await;
    for node in &nodes {
        wait_until(WAIT, &format!("{node} to hold 2100 keys"), &[], || {
            let node = node.clone();
            async move { dbsize(&node).await == 2100 }
        })
        .await;
    }
    let primary_forks = info(&primary, "stats", "total_forks").await;
    let mut replica_forks = Vec::new();
    for r in &nodes[1..] {
        replica_forks.push(info(r, "stats", "total_forks").await);
    }

    let w = Warden::new();
    let dest = w.path().join("backups");
    let sentinels = support::watch::list(&t.lab.sentinels());
    let args = ["backup", "--sentinels", &sentinels, "--method", "bgsave"];
    let run = tokio::task::block_in_place(|| {
        let dest = dest.to_str().expect("utf-8");
        w.run(&[&args[..], &["--from-container", "--dest", dest, "--json"]].concat())
    });
    assert_eq!(run.code, 0, "{run:#?}");
    let m: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(m["counts"]["keys"], 2100, "{m:#}");
    assert_eq!(m["counts"]["keys_matching"], 2000, "{m:#}");
    assert_eq!(m["source"]["role"], "replica", "{m:#}");
    assert_eq!(
        info(&primary, "stats", "total_forks").await,
        primary_forks,
        "the primary forked"
    );
    let source: Addr = m["source"]["addr"]
        .as_str()
        .expect("addr")
        .parse()
        .expect("addr");
    let i = nodes[1..]
        .iter()
        .position(|r| *r == source)
        .expect("the source is a lab replica");
    assert!(
        info(&source, "stats", "total_forks").await > replica_forks[i],
        "BGSAVE did not run on the replica"
    );
    let file = dest.join(m["file"].as_str().expect("file"));
    let verify = w.run(&["verify", file.to_str().expect("utf-8")]);
    assert_eq!(verify.code, 0, "{verify:#?}");
}
