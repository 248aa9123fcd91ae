//! Logging and traces: a `tracing` subscriber writing to stderr (filtered by `WARDEN_LOG` or
//! `-v`) and, given an OTLP endpoint, an OpenTelemetry exporter that ships warden's spans and
//! every failover as a trace ([`failover`]).

pub mod failover;

use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::error::{Error, Result};

/// The service name warden's spans carry.
pub const SERVICE: &str = "warden";

/// The installed telemetry; [`Telemetry::shutdown`] flushes what is still queued.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

/// Installs the global subscriber, and the OTLP/gRPC exporter when `otlp` names an endpoint
/// (e.g. `http://127.0.0.1:4317`). Must run inside a tokio runtime (the exporter's client is
/// built on it). `verbose` raises the default log level (0 = warn, 1 = info, 2+ = debug);
/// `WARDEN_LOG` (an `EnvFilter` directive) overrides it.
pub fn init(verbose: u8, otlp: Option<&str>) -> Result<Telemetry> {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_env("WARDEN_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(filter);
    let provider = otlp.map(provider).transpose()?;
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

fn provider(endpoint: &str) -> Result<SdkTracerProvider> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .with_timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| Error::Usage(format!("OTLP endpoint {endpoint}: {e}")))?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(Resource::builder().with_service_name(SERVICE).build())
        .build())
}

impl Telemetry {
    /// Exports every span still queued and stops the exporter. The SDK's shutdown blocks, so
    /// it runs off the async workers.
    pub async fn shutdown(self) {
        if let Some(p) = self.provider {
            let done = tokio::task::spawn_blocking(move || p.shutdown()).await;
            if let Ok(Err(e)) = done {
                tracing::warn!("exporting traces at exit failed: {e}");
            }
        }
    }
}
