//! Dispatch: turns a parsed [`Cli`] into calls on the library and an exit code.

use std::io::{IsTerminal, Write};
use std::path::Path;

use crate::cli::{
    BackupsCommand, BenchCommand, Cli, Command, ConnArgs, DrillArgs, HealArgs, LabAt, LabCommand,
    LabUp,
};
use crate::conn::{self, Conn, Secret, Source, TlsOn, TlsSpec};
use crate::drill::checker::Verdict;
use crate::drill::report::UntilStable;
use crate::drill::runner;
use crate::error::{EXIT_ERROR, EXIT_MET, EXIT_MISSED, Error, Result};
use crate::lab::docker::DockerLab;
use crate::lab::{Backend, Lab, LabSpec, SentinelSettings};
use crate::shutdown::Listener;

/// `print!` through [`out`]: a closed stdout is an error [`run`] ends quietly on, not a panic.
macro_rules! outp {
    ($($t:tt)*) => {
        crate::commands::out(&format!($($t)*))?
    };
}

/// `println!` through [`out`].
macro_rules! outln {
    ($($t:tt)*) => {
        crate::commands::out(&format!("{}\n", format_args!($($t)*)))?
    };
}

mod aof;
mod backup;
mod check;
mod docker_lab;
mod doctor;
mod report;
mod watch;

/// What a command-line parse error ends the process with. `--help` and `--version` print as
/// usual and exit 0 (a bare `warden` or `warden lab` prints the help on stderr and exits 2, as
/// clap does); any other error is one line on stderr, `warden: <what> (see --help)`, and exit 2.
pub fn argument_error(e: &clap::Error) -> u8 {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            // A closed stdout (`warden --help | head -1`) is not worth a message.
            let _ = e.print();
            EXIT_MET
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            EXIT_ERROR
        }
        _ => {
            eprintln!("warden: {}", usage_line(&e.render().to_string()));
            EXIT_ERROR
        }
    }
}

/// clap's rendered error as one line: its first line without `error: `, followed by what it
/// lists under that line when the line ends in `:` (the missing arguments), then any `tip:`
/// it gives (a similar flag's name), then a pointer to `--help`.
fn usage_line(rendered: &str) -> String {
    let mut lines = rendered.lines().map(str::trim);
    let first = lines
        .by_ref()
        .find(|l| !l.is_empty())
        .unwrap_or("invalid arguments");
    let mut first = first.strip_prefix("error: ").unwrap_or(first).to_string();
    if first.ends_with(':') {
        let listed: Vec<&str> = lines.by_ref().take_while(|l| !l.is_empty()).collect();
        first = format!("{first} {}", listed.join(", "));
    }
    let tips: Vec<&str> = lines.filter(|l| l.starts_with("tip: ")).collect();
    if tips.is_empty() {
        format!("{first} (see --help)")
    } else {
        format!("{first} ({}; see --help)", tips.join("; "))
    }
}

/// Sets up logging (and trace export), runs the command on a multi-threaded tokio runtime
/// with SIGINT (Ctrl-C) or SIGTERM as the shutdown signal, flushes the trace exporter, and
/// returns the process exit code. Errors are printed as one line on stderr; a closed stdout
/// (`warden … | head -1`) ends the command quietly with 0.
pub fn run(cli: Cli) -> u8 {
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("warden: cannot start the async runtime: {e}");
            return EXIT_ERROR;
        }
    };
    let result = rt.block_on(async {
        let signals = crate::shutdown::listen().map_err(|e| Error::Internal {
            what: format!("cannot install the signal handlers: {e}"),
        })?;
        let otlp = crate::telemetry::otlp::resolve(
            cli.otlp_endpoint.as_deref(),
            cli.otlp_protocol,
            |name| std::env::var(name).ok(),
        )?;
        let telemetry = crate::telemetry::init(cli.verbose, cli.log_format, otlp.as_ref())?;
        let result = dispatch(cli, signals).await;
        telemetry.shutdown().await;
        result
    });
    match result {
        Ok(code) => code,
        Err(e) if e.is_closed_stdout() => EXIT_MET,
        Err(e) => {
            eprintln!("warden: {e}");
            e.exit_code()
        }
    }
}

/// Writes `text` to stdout. A failure is an [`Error::Io`] on `<stdout>`; when it is a closed
/// pipe, [`run`] ends the command quietly.
fn out(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(Error::io(crate::error::STDOUT))
}

/// Runs the command. SIGINT, SIGTERM and SIGHUP all stop it: a drill reverts its faults and
/// writes its partial report, `watch` ends as after `--duration`, and any other command is
/// dropped where it is (a lab it was starting is stopped and removed, a backup's temp file
/// removed) and ends with [`Error::Cancelled`].
async fn dispatch(cli: Cli, signals: Listener) -> Result<u8> {
    // Every command that touches a target first names what killed drills left behind.
    if matches!(
        cli.command,
        Command::Drill(_)
            | Command::Watch(_)
            | Command::Backup(_)
            | Command::Lab(LabCommand::Status(_) | LabCommand::Down(_))
    ) {
        report_leftovers();
    }
    match cli.command {
        Command::Drill(args) => drill(args, signals).await,
        Command::Watch(args) => {
            watch::watch(args, async move {
                signals.first().await;
            })
            .await
        }
        other => {
            let cancelled = signals.first();
            tokio::select! {
                code = command(other) => code,
                signal = cancelled => Err(Error::Cancelled { signal }),
            }
        }
    }
}

async fn command(command: Command) -> Result<u8> {
    match command {
        Command::Drill(_) | Command::Watch(_) => Err(Error::Internal {
            what: "drill and watch are dispatched with their shutdown".into(),
        }),
        Command::Bench(BenchCommand::Workload(a)) => {
            let spec = crate::bench::BenchSpec {
                connections: a.connections,
                value_size: a.value_size,
                duration: a.duration,
                rounds: a.rounds.max(1),
            };
            out(&crate::bench::workload(&spec).await?)?;
            Ok(EXIT_MET)
        }
        Command::Bench(BenchCommand::Backup(a)) => backup::bench(a).await,
        Command::Bench(BenchCommand::Loss(a)) => {
            let spec = crate::bench::loss::Spec {
                keys: a.keys,
                rounds: a.rounds,
            };
            out(&crate::bench::loss::run(&spec).await?)?;
            Ok(EXIT_MET)
        }
        Command::Bench(BenchCommand::Watch(a)) => {
            let spec = crate::bench::watch::Spec {
                masters: usize::from(a.masters),
                failover_every: a.failover_every.max(std::time::Duration::from_secs(1)),
                duration: a.duration,
                sample: a.sample.max(std::time::Duration::from_millis(100)),
                poll: a.poll.max(std::time::Duration::from_millis(100)),
                idle: a.idle,
                progress: Some(|line| eprintln!("{line}")),
                keep: a.keep_lines.clone(),
            };
            let report = crate::bench::watch::run(&spec).await?;
            if a.json {
                out(&format!(
                    "{}\n",
                    serde_json::to_string(&report).expect("report serializes")
                ))?;
            } else {
                out(&crate::bench::watch::report::table(&report))?;
            }
            Ok(EXIT_MET)
        }
        Command::Verify(a) => backup::verify(a).await,
        Command::Backup(a) => backup::backup(a).await,
        Command::Backups(BackupsCommand::List(a)) => backup::list(a).await,
        Command::Backups(BackupsCommand::Verify(a)) => backup::verify_all(a).await,
        Command::DrDrill(a) => backup::dr_drill(a).await,
        Command::Aof(crate::cli::AofCommand::Inspect(a)) => aof::inspect(a).await,
        Command::Aof(crate::cli::AofCommand::Trim(a)) => aof::trim(a).await,
        Command::Restore(a) => backup::restore(a).await,
        Command::Heal(a) => heal(a).await,
        Command::RestoreTest(a) => backup::restore_test(a).await,
        Command::Doctor(a) => doctor::doctor(a).await,
        Command::Report(a) => report::report(a).await,
        Command::Check(a) => check::check(a).await,
        Command::Lab(LabCommand::Up(args)) if args.backend == Backend::Docker => {
            docker_lab::up(args).await
        }
        Command::Lab(LabCommand::Up(args)) => lab_up(args).await,
        Command::Lab(LabCommand::Status(args)) => {
            let dir = &args.at.dir.dir;
            let backend = lab_backend(&args.at)?;
            let conn = Conn::build(&conn_spec(&args.conn)?.or(crate::lab::recorded_conn(dir)?))?;
            match backend {
                Backend::Process => lab_status(dir, &conn).await,
                Backend::Docker => docker_lab::status(dir, &conn).await,
            }
        }
        Command::Lab(LabCommand::Down(args)) => {
            match lab_backend(&args)? {
                Backend::Process => Lab::load(&args.dir.dir)?.down()?,
                Backend::Docker => DockerLab::load(&args.dir.dir).await?.down().await?,
            }
            out(&format!(
                "lab in {} stopped and removed\n",
                args.dir.dir.display()
            ))?;
            Ok(EXIT_MET)
        }
    }
}

async fn drill(args: DrillArgs, signals: Listener) -> Result<u8> {
    let scenario = runner::load(&args.scenario)?;
    if args.until_stable.is_some() && (scenario.trials as usize) < args.min_trials.max(2) {
        return Err(Error::Usage(format!(
            "--until-stable needs the scenario's trials (the cap, here {}) to be at least \
             --min-trials ({}) and 2",
            scenario.trials, args.min_trials
        )));
    }
    let given = conn_spec(&args.conn)?;
    if args.dry_run {
        out(&format!("{}\n", runner::dry_run(&scenario, &given).await?))?;
        return Ok(EXIT_MET);
    }
    if let Some(dest) = &args.save {
        report::check_dest(dest, args.s3_endpoint.as_deref()).await?;
    }
    // Before the pre-flight: a leftover fault would fail it (or skew it).
    for (r, result) in crate::fault::heal::leftovers().await? {
        match result {
            Ok(_) => eprintln!(
                "warden: healed the leftover fault from drill pid {}: {}",
                r.owner.pid, r.what
            ),
            Err(e) => eprintln!("warden: {e} (drill pid {}); the drill goes on", r.owner.pid),
        }
    }
    let opts = runner::Options {
        progress: args.json.is_none() && std::io::stderr().is_terminal(),
        history: args.history.clone(),
        until_stable: args.until_stable.map(|fraction| UntilStable {
            fraction,
            min_trials: args.min_trials,
        }),
        // External clients' logs beside the report (or the history), where a reader looks.
        client_logs: args.json.as_ref().or(args.history.as_ref()).map(|p| {
            let dir = p.parent().filter(|d| !d.as_os_str().is_empty());
            let dir = dir.unwrap_or(std::path::Path::new("."));
            std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf())
        }),
    };
    let report = runner::run_with(&scenario, &given, &opts, signals.clone().first()).await?;
    let doc = report.document();
    if let Some(path) = &args.json {
        write_atomically(path, doc.to_json().as_bytes())?;
    }
    if let Some(dest) = &args.save {
        report::save(dest, args.s3_endpoint.as_deref(), &doc).await?;
    }
    if let Some(dir) = &args.svg {
        report::write_svgs(dir, &doc)?;
    }
    out(&crate::drill::report::table(&doc))?;
    if let Some(signal) = signals.received() {
        eprintln!(
            "warden: drill cancelled by {}: faults reverted, partial report written",
            signal.name()
        );
        return Ok(signal.exit_code());
    }
    Ok(match report.verdict {
        Verdict::Met => EXIT_MET,
        Verdict::Missed => EXIT_MISSED,
        Verdict::Unknown => EXIT_ERROR,
    })
}

/// One line on stderr for each fault journal record whose drill is gone.
fn report_leftovers() {
    match crate::journal::leftovers() {
        Ok(records) => {
            for r in records {
                eprintln!("warden: {}", r.leftover_line());
            }
        }
        Err(e) => eprintln!("warden: cannot read the fault journal: {e}"),
    }
}

/// `warden heal`: reverts the leftovers, then sweeps tagged iptables rules no live drill
/// owns. Exit 0 when everything was healed (or nothing was left), 2 when a step failed.
async fn heal(args: HealArgs) -> Result<u8> {
    let mut text = String::new();
    let mut failed = false;
    if args.dry_run {
        for r in crate::journal::leftovers()? {
            text += &format!(
                "would heal: {} (drill pid {}, gone): {} step(s), {}\n",
                r.what,
                r.owner.pid,
                r.undo.len(),
                r.file.display()
            );
        }
    } else {
        for (r, result) in crate::fault::heal::leftovers().await? {
            match result {
                Ok(steps) => {
                    text += &format!(
                        "healed: {} (drill pid {}): {}\n",
                        r.what,
                        r.owner.pid,
                        steps.join("; ")
                    )
                }
                Err(e) => {
                    failed = true;
                    text += &format!("NOT healed: {e} (record kept: {})\n", r.file.display());
                }
            }
        }
        for line in crate::fault::heal::sweep().await? {
            text += &format!("swept: {line}\n");
        }
    }
    if text.is_empty() {
        text = "nothing to heal\n".into();
    }
    out(&text)?;
    Ok(if failed { EXIT_ERROR } else { EXIT_MET })
}

/// The connection settings the flags give (before a lab's recorded ones are merged in).
/// A password given as a flag value (not through its environment variable) gets a warning:
/// it shows in `ps`.
pub(crate) fn conn_spec(a: &ConnArgs) -> Result<conn::Spec> {
    let secret = |file: &Option<std::path::PathBuf>,
                  value: &Option<String>,
                  flag: &str,
                  env: &str| match (file, value) {
        (Some(f), _) => Some(Source::File(f.clone())),
        (None, Some(v)) => {
            if std::env::var(env).ok().as_deref() != Some(v.as_str()) {
                eprintln!(
                    "warden: warning: a {flag} value shows in `ps`; prefer {env} or {flag}-file"
                );
            }
            Some(Source::Value(Secret::new(v.as_str())))
        }
        (None, None) => None,
    };
    let on = match (a.tls, a.tls_nodes, a.tls_sentinels) {
        (true, _, _) => Some(TlsOn::Both),
        (_, true, _) => Some(TlsOn::Nodes),
        (_, _, true) => Some(TlsOn::Sentinels),
        _ => None,
    };
    let tls = match on {
        Some(on) => Some(TlsSpec {
            ca: a.tls_ca.clone(),
            cert: a.tls_cert.clone(),
            key: a.tls_key.clone(),
            server_name: a.tls_server_name.clone(),
            insecure: a.tls_insecure,
            on,
        }),
        None if a.tls_ca.is_some()
            || a.tls_cert.is_some()
            || a.tls_server_name.is_some()
            || a.tls_insecure =>
        {
            return Err(Error::Usage(
                "TLS options need --tls, --tls-nodes or --tls-sentinels".into(),
            ));
        }
        None => None,
    };
    Ok(conn::Spec {
        user: a.user.clone(),
        password: secret(
            &a.password_file,
            &a.password,
            "--password",
            "WARDEN_REDIS_PASSWORD",
        ),
        sentinel_user: a.sentinel_user.clone(),
        sentinel_password: secret(
            &a.sentinel_password_file,
            &a.sentinel_password,
            "--sentinel-password",
            "WARDEN_SENTINEL_PASSWORD",
        ),
        tls,
        resolve: a.resolve.clone(),
    })
}

use crate::util::write_atomically;

/// The backend recorded in the lab's directory, checked against `--backend` if given.
fn lab_backend(a: &LabAt) -> Result<Backend> {
    let recorded = crate::lab::recorded_backend(&a.dir.dir)?;
    match a.backend {
        Some(b) if b != recorded => Err(Error::LabState {
            dir: a.dir.dir.clone(),
            message: format!("the lab here uses the {recorded:?} backend, not {b:?}")
                .to_lowercase(),
        }),
        _ => Ok(recorded),
    }
}

/// The Sentinel settings `lab up` was given.
fn settings(a: &LabUp) -> SentinelSettings {
    SentinelSettings {
        master: a.master.clone(),
        quorum: a.quorum,
        down_after: a.down_after,
        failover_timeout: a.failover_timeout,
        parallel_syncs: a.parallel_syncs,
        ..SentinelSettings::default()
    }
}

async fn lab_up(a: LabUp) -> Result<u8> {
    let spec = LabSpec {
        sentinel: settings(&a),
        dir: a.dir.dir,
        node_ports: a.ports,
        sentinel_ports: a.sentinel_ports,
        redis_server: a.redis_server,
        ready_timeout: a.timeout,
        auth: a.auth,
        tls: a.tls,
    };
    let lab = Lab::up(spec).await?;
    let text = up_text(&lab);
    // Detached first: a closed stdout must not take the new lab down with it.
    lab.detach();
    out(&text)?;
    Ok(EXIT_MET)
}

/// What `lab up` prints: the lab's members and its Sentinel list.
fn up_text(lab: &Lab) -> String {
    let mut text = format!(
        "lab up in {} (master name '{}')\n",
        lab.dir().display(),
        lab.master()
    );
    for m in lab.members() {
        text += &format!(
            "  {:<8} {:<16} pid {}\n",
            format!("{:?}", m.kind).to_lowercase(),
            m.addr(),
            m.pid
        );
    }
    let sentinels: Vec<String> = lab.sentinels().iter().map(ToString::to_string).collect();
    text += &format!("sentinels: {}\n", sentinels.join(","));
    text
}

/// Each member's process state and, for nodes, what the node itself says now (role, link to
/// its master, lag in bytes); then the primary per Sentinels.
async fn lab_status(dir: &Path, conn: &Conn) -> Result<u8> {
    let mut lab = Lab::load(dir)?;
    let mut text = format!(
        "lab in {} (master name '{}')\n",
        dir.display(),
        lab.master()
    );
    let live = crate::lab::live::ask(conn, &lab.nodes()).await;
    let members = lab.members().to_vec();
    for m in &members {
        let state = match lab.is_running(&m.addr())? {
            true if crate::journal::proc_stat(m.pid).is_some_and(|s| s.state == 'T') => {
                "stopped (SIGSTOP)"
            }
            true => "running",
            false => "stopped",
        };
        let row = format!(
            "  {:<8} {:<16} pid {:<8} {state}",
            format!("{:?}", m.kind).to_lowercase(),
            m.addr(),
            m.pid
        );
        match live.iter().find(|n| n.addr == m.addr()) {
            Some(n) => text += &format!("{row:<48} {:<8} {}\n", n.role, n.detail()),
            None => text += &format!("{row}\n"),
        }
    }
    let servers = live.iter().filter_map(|n| n.server.as_ref());
    text += &format!("server: {}\n", crate::server::describe(servers));
    let sentinels = lab.sentinels();
    let answers = crate::sentinel::topology::primary_per_sentinel(
        conn,
        &sentinels,
        lab.master(),
        crate::client::Timeouts::CONTROL,
    )
    .await;
    text += &crate::sentinel::view::primary_line(&sentinels, &answers);
    text += "\n";
    out(&text)?;
    Ok(EXIT_MET)
}

#[cfg(test)]
mod tests {
    use super::usage_line;

    #[test]
    fn usage_line_names_what_clap_lists_and_keeps_its_tips() {
        let table = [
            (
                "error: the following required arguments were not provided:\n  <SCENARIO>\n  \
                 --to <DIR>\n\nUsage: warden drill <SCENARIO>\n\nFor more information, try \
                 '--help'.\n",
                "the following required arguments were not provided: <SCENARIO>, --to <DIR> \
                 (see --help)",
            ),
            (
                "error: unexpected argument '--x' found\n\n  tip: a similar argument exists: \
                 '--y'\n\nUsage: warden\n",
                "unexpected argument '--x' found (tip: a similar argument exists: '--y'; see \
                 --help)",
            ),
            ("", "invalid arguments (see --help)"),
        ];
        for (rendered, want) in table {
            assert_eq!(usage_line(rendered), want, "{rendered:?}");
        }
    }
}
