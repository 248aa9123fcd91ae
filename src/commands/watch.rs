//! `warden watch`: the arguments become Sentinel groups, one connection setting, the metrics
//! endpoint and the doctor's audit beside the watch loop.

use std::future::Future;

use crate::cli::WatchArgs;
use crate::conn::Conn;
use crate::error::{EXIT_MET, Error, Result};
use crate::lab::Lab;

use super::conn_spec;

pub(super) async fn watch(
    args: WatchArgs,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<u8> {
    use crate::watch::config::Group;
    let given = conn_spec(&args.conn)?;
    let rto = args.rto_ms.map(std::time::Duration::from_millis);
    // One connection setting for every group: the flags, over a recorded lab's when the lab
    // is what is watched.
    let (groups, spec) = if let Some(path) = &args.config {
        let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
        let mut groups = crate::watch::config::parse(&text, &path.display().to_string())?;
        for g in &mut groups {
            if !args.master.is_empty() {
                g.masters = args.master.clone();
            }
            g.rto = g.rto.or(rto);
        }
        (groups, given)
    } else {
        let (sentinels, masters, spec) = if args.sentinels.is_empty() {
            let lab = Lab::load(&args.lab_dir).map_err(|e| {
                Error::Usage(format!(
                    "give --sentinels or --config, or start a lab with `warden lab up` ({e})"
                ))
            })?;
            let masters = if args.master.is_empty() {
                vec![lab.master().to_string()]
            } else {
                args.master
            };
            let recorded = crate::lab::recorded_conn(&args.lab_dir)?;
            (lab.sentinels(), masters, given.or(recorded))
        } else {
            (args.sentinels, args.master, given)
        };
        let group = Group {
            name: "default".into(),
            sentinels,
            masters,
            rto,
            rto_by_master: Default::default(),
            conn: crate::conn::Spec::default(),
            backups: Vec::new(),
            backup_rpo: None,
        };
        (vec![group], spec)
    };
    // Each group's own settings over the flags' (each field a group leaves unset).
    let conns = groups
        .iter()
        .map(|g| {
            Conn::build(&g.conn.clone().or(spec.clone())).map_err(|e| match e {
                Error::Usage(m) if groups.len() > 1 => {
                    Error::Usage(format!("group '{}': {m}", g.name))
                }
                e => e,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    if let Some(dir) = &args.svg {
        std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
    }
    let metrics = crate::metrics::Metrics::new();
    // Bound before the watch starts: a taken port is an error now, not a silent absence.
    let _server = match args.listen {
        Some(addr) => Some(crate::metrics::server::serve(addr, metrics.clone()).await?),
        None => None,
    };
    // The doctor's audit beside the watch, every --doctor-every, into the metrics.
    let _audits = (!args.doctor_every.is_zero()).then(|| {
        let audited = groups
            .iter()
            .zip(&conns)
            .map(|(g, conn)| crate::doctor::audit::Audited {
                sentinels: g.sentinels.clone(),
                masters: g.masters.clone(),
                conn: conn.clone(),
                rto: g.rto,
                rto_by_master: g.rto_by_master.clone(),
            })
            .collect();
        AbortOnDrop(tokio::spawn(crate::doctor::audit::every(
            audited,
            args.doctor_every,
            metrics.clone(),
        )))
    });
    // Backup freshness: each group's destinations (else --backup-dest), every --backup-every.
    let kept: Vec<crate::backup::newest::Kept> = groups
        .iter()
        .map(|g| crate::backup::newest::Kept {
            group: g.name.clone(),
            dests: if g.backups.is_empty() {
                args.backup_dest.clone()
            } else {
                g.backups.clone()
            },
            masters: g.masters.clone(),
            rpo: g.backup_rpo.unwrap_or(args.backup_rpo),
        })
        .filter(|k| !k.dests.is_empty())
        .collect();
    let backups = (!kept.is_empty()).then(|| crate::backup::newest::Freshness {
        kept,
        endpoint: args.s3_endpoint.clone(),
        every: args.backup_every,
    });
    let spec = crate::watch::WatchSpec {
        groups,
        json: args.json,
        episodes: args.episodes,
        svg: args.svg,
        duration: args.duration,
        poll: args.poll,
        settings: crate::watch::follow::Settings {
            limits: crate::failover::hazard::Limits {
                max_lag_bytes: args.max_lag,
                max_lag_secs: args.max_lag_time.as_secs(),
                max_exposure_writes: args.max_exposure,
                max_exposure_secs: args.max_exposure_time.as_secs_f64(),
            },
            flap_count: args.flap_count,
            flap_window: args.flap_window,
        },
        conns,
        metrics,
        backups,
    };
    crate::watch::run(&spec, &mut std::io::stdout(), shutdown).await?;
    Ok(EXIT_MET)
}

/// A background task that ends with the scope holding it.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
