//! Dispatch: turns a parsed [`Cli`] into calls on the library and an exit code.

use std::future::Future;
use std::io::{IsTerminal, Write};
use std::path::Path;

use crate::cli::{
    BackupsCommand, BenchCommand, Cli, Command, DrillArgs, LabAt, LabCommand, LabUp, WatchArgs,
};
use crate::drill::checker::Verdict;
use crate::drill::runner;
use crate::error::{EXIT_ERROR, EXIT_MET, EXIT_MISSED, Error, Result};
use crate::lab::docker::DockerLab;
use crate::lab::{Backend, Lab, LabSpec, SentinelSettings};

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
mod docker_lab;
mod doctor;

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

/// clap's rendered error as one line: its first line without `error: `, then any `tip:` it
/// gives (a similar flag's name), then a pointer to `--help`.
fn usage_line(rendered: &str) -> String {
    let mut lines = rendered.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("invalid arguments");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let tips: Vec<&str> = lines.filter(|l| l.starts_with("tip: ")).collect();
    if tips.is_empty() {
        format!("{first} (see --help)")
    } else {
        format!("{first} ({}; see --help)", tips.join("; "))
    }
}

/// Sets up logging (and trace export), runs the command on a multi-threaded tokio runtime
/// with Ctrl-C as the shutdown signal, and returns the process exit code. Errors are printed
/// as one line on stderr; a closed stdout (`warden … | head -1`) ends the command quietly
/// with 0.
pub fn run(cli: Cli) -> u8 {
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("warden: cannot start the async runtime: {e}");
            return EXIT_ERROR;
        }
    };
    let result = rt.block_on(async {
        let telemetry = crate::telemetry::init(cli.verbose, cli.otlp_endpoint.as_deref())?;
        let result = dispatch(cli, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
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

async fn dispatch(cli: Cli, shutdown: impl Future<Output = ()> + Send) -> Result<u8> {
    match cli.command {
        Command::Drill(args) => drill(args, shutdown).await,
        Command::Watch(args) => watch(args, shutdown).await,
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
        Command::Verify(a) => backup::verify(a).await,
        Command::Backup(a) => backup::backup(a).await,
        Command::Backups(BackupsCommand::List(a)) => backup::list(a).await,
        Command::Backups(BackupsCommand::Verify(a)) => backup::verify_all(a).await,
        Command::DrDrill(a) => backup::dr_drill(a).await,
        Command::Aof(crate::cli::AofCommand::Inspect(a)) => aof::inspect(a).await,
        Command::Aof(crate::cli::AofCommand::Trim(a)) => aof::trim(a).await,
        Command::Restore(a) => backup::restore(a).await,
        Command::RestoreTest(a) => backup::restore_test(a).await,
        Command::Doctor(a) => doctor::doctor(a).await,
        Command::Lab(LabCommand::Up(args)) if args.backend == Backend::Docker => {
            docker_lab::up(args).await
        }
        Command::Lab(LabCommand::Up(args)) => lab_up(args).await,
        Command::Lab(LabCommand::Status(args)) => match lab_backend(&args)? {
            Backend::Process => lab_status(&args.dir.dir).await,
            Backend::Docker => docker_lab::status(&args.dir.dir).await,
        },
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

async fn drill(args: DrillArgs, shutdown: impl Future<Output = ()>) -> Result<u8> {
    let scenario = runner::load(&args.scenario)?;
    if args.dry_run {
        out(&format!("{}\n", runner::dry_run(&scenario).await?))?;
        return Ok(EXIT_MET);
    }
    let progress = args.json.is_none() && std::io::stderr().is_terminal();
    let report = runner::run(&scenario, progress, shutdown).await?;
    if let Some(path) = &args.json {
        write_atomically(path, report.to_json().as_bytes())?;
    }
    out(&report.to_table())?;
    Ok(match report.verdict {
        Verdict::Met => EXIT_MET,
        Verdict::Missed => EXIT_MISSED,
        Verdict::Unknown => EXIT_ERROR,
    })
}

async fn watch(args: WatchArgs, shutdown: impl Future<Output = ()> + Send) -> Result<u8> {
    let (sentinels, master) = if args.sentinels.is_empty() {
        let lab = Lab::load(&args.lab_dir).map_err(|e| {
            Error::Usage(format!(
                "give --sentinels, or start a lab with `warden lab up` ({e})"
            ))
        })?;
        let master = args.master.unwrap_or_else(|| lab.master().to_string());
        (lab.sentinels(), master)
    } else {
        (
            args.sentinels,
            args.master.unwrap_or_else(|| "mymaster".into()),
        )
    };
    let spec = crate::watch::WatchSpec {
        sentinels,
        master,
        json: args.json,
        episodes: args.episodes,
        duration: args.duration,
    };
    crate::watch::run(&spec, &mut std::io::stdout(), shutdown).await?;
    Ok(EXIT_MET)
}

/// Writes `bytes` to a temporary file beside `path`, then renames it into place.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(Error::io(dir))?;
    tmp.write_all(bytes).map_err(Error::io(path))?;
    tmp.persist(path).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        source: e.error,
    })?;
    Ok(())
}

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
async fn lab_status(dir: &Path) -> Result<u8> {
    let mut lab = Lab::load(dir)?;
    let mut text = format!(
        "lab in {} (master name '{}')\n",
        dir.display(),
        lab.master()
    );
    let live = crate::lab::live::ask(&lab.nodes()).await;
    let members = lab.members().to_vec();
    for m in &members {
        let state = if lab.is_running(&m.addr())? {
            "running"
        } else {
            "stopped"
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
    match crate::sentinel::topology::ask_primary(
        &lab.sentinels(),
        lab.master(),
        crate::client::Timeouts::CONTROL,
    )
    .await
    {
        Ok(p) => text += &format!("primary (per Sentinels): {p}\n"),
        Err(e) => text += &format!("primary: unknown ({e})\n"),
    }
    out(&text)?;
    Ok(EXIT_MET)
}
