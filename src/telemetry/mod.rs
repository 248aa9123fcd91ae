//! Logging and traces: a `tracing` subscriber writing to stderr as text or JSON lines
//! (filtered by `WARDEN_LOG` or `-v`) and, given an OTLP endpoint, an OpenTelemetry exporter
//! ([`otlp`], gRPC or HTTP/protobuf) that ships warden's spans and every failover as a trace
//! ([`failover`]).

pub(crate) mod failover;
pub(crate) mod otlp;

use std::ffi::OsStr;
use std::io::IsTerminal;
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::error::Result;

/// The service name warden's spans carry.
pub(crate) const SERVICE: &str = "warden";

/// How log lines on stderr look.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One line of text per event.
    #[default]
    Human,
    /// One JSON object per event (`timestamp`, `level`, `fields.message`, the event's fields,
    /// `target`, and the spans it happened in), for a log collector.
    Json,
}

/// How long exporting what is still queued may take at exit (a collector that does not
/// answer must not hold up a shutdown).
const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// The installed telemetry; [`Telemetry::shutdown`] flushes what is still queued.
pub(crate) struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

/// Installs the global subscriber in `format`, and the OTLP exporter when `otlp` is given
/// (see [`otlp::resolve`]). Must run inside a tokio runtime (the gRPC client is built on it).
/// `verbose` raises the default log level (0 = warn, 1 = info, 2+ = debug); `WARDEN_LOG`
/// (an `EnvFilter` directive) overrides it.
pub(crate) fn init(verbose: u8, format: LogFormat, otlp: Option<&otlp::Otlp>) -> Result<Telemetry> {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_env("WARDEN_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let fmt = match format {
        LogFormat::Human => tracing_subscriber::fmt::layer()
            .with_ansi(colour(
                std::io::stderr().is_terminal(),
                std::env::var_os("NO_COLOR").as_deref(),
            ))
            .with_writer(std::io::stderr)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .boxed(),
    }
    .with_filter(filter);
    let provider = otlp.map(otlp::provider).transpose()?;
    // Spans go out at info whatever the terminal's log level is.
    let otel = provider.as_ref().map(|p| {
        tracing_opentelemetry::layer()
            .with_tracer(p.tracer(SERVICE))
            .with_filter(EnvFilter::new("warden=info"))
    });
    let _ = tracing_subscriber::registry()
        .with(fmt)
        .with(otel)
        .try_init();
    if let Some(p) = &provider {
        opentelemetry::global::set_tracer_provider(p.clone());
    }
    Ok(Telemetry { provider })
}

/// Whether human log lines are coloured: only on a terminal, and not when `NO_COLOR` is set
/// to anything but the empty string (<https://no-color.org>). A file or a pipe gets plain text.
fn colour(is_terminal: bool, no_color: Option<&OsStr>) -> bool {
    is_terminal && no_color.is_none_or(OsStr::is_empty)
}

impl Telemetry {
    /// Exports every span still queued (for at most [`FLUSH_TIMEOUT`]) and stops the
    /// exporter. The SDK's shutdown blocks, so it runs off the async workers.
    pub(crate) async fn shutdown(self) {
        if let Some(p) = self.provider {
            let done =
                tokio::task::spawn_blocking(move || p.shutdown_with_timeout(FLUSH_TIMEOUT)).await;
            if let Ok(Err(e)) = done {
                tracing::warn!("exporting traces at exit failed: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        for (terminal, no_color, want) in [
            (true, None, true),
            (true, Some(""), true),
            (true, Some("1"), false),
            (false, None, false),
            (false, Some("1"), false),
        ] {
            let got = colour(terminal, no_color.map(OsStr::new));
            assert_eq!(got, want, "terminal {terminal}, NO_COLOR {no_color:?}");
        }
    }
}
