//! The OTLP trace exporter: which endpoint and protocol (the standard `OTEL_EXPORTER_OTLP_*`
//! variables, resolved in [`resolve`]), the exporter over gRPC or HTTP/protobuf, and a wrapper
//! that warns once per outage when the collector cannot be reached. The exporter runs on the
//! batch processor's own thread: a slow or absent collector never holds up the watch.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};

use super::SERVICE;
use crate::error::{Error, Result};

/// How spans travel to the collector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Protocol {
    /// OTLP over gRPC (port 4317 by convention).
    #[value(name = "grpc")]
    Grpc,
    /// OTLP over HTTP with a protobuf body (`POST …/v1/traces`, port 4318 by convention).
    #[value(name = "http/protobuf")]
    HttpProtobuf,
}

/// Where traces go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Otlp {
    /// The full URL the exporter is given (for HTTP, including `/v1/traces`).
    pub endpoint: String,
    /// The transport.
    pub protocol: Protocol,
}

/// The OTLP settings from the command line's `--otlp-endpoint` / `--otlp-protocol` (which
/// clap fills from `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_PROTOCOL`) and the
/// trace-specific variables `env` gives, which win as the OpenTelemetry specification says:
/// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is used as it is, the generic endpoint gets
/// `/v1/traces` appended for HTTP; the protocol defaults to gRPC (warden's first transport).
/// No endpoint at all: no export. An unknown protocol is a usage error.
pub(crate) fn resolve(
    endpoint: Option<&str>,
    protocol: Option<Protocol>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<Otlp>> {
    let env = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    let protocol = match env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") {
        Some(p) => parse_protocol(&p)?,
        None => protocol.unwrap_or(Protocol::Grpc),
    };
    let endpoint = match (env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), endpoint) {
        (Some(traces), _) => traces,
        (None, Some(base)) if protocol == Protocol::HttpProtobuf => {
            format!("{}/v1/traces", base.trim_end_matches('/'))
        }
        (None, Some(base)) => base.to_string(),
        (None, None) => return Ok(None),
    };
    Ok(Some(Otlp { endpoint, protocol }))
}

fn parse_protocol(p: &str) -> Result<Protocol> {
    match p.trim() {
        "grpc" => Ok(Protocol::Grpc),
        "http/protobuf" => Ok(Protocol::HttpProtobuf),
        other => Err(Error::Usage(format!(
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL={other}: warden speaks grpc or http/protobuf"
        ))),
    }
}

/// A tracer provider exporting to `otlp` in batches. gRPC builds its client on the current
/// tokio runtime; the blocking HTTP client is built (and used) off it.
pub(crate) fn provider(otlp: &Otlp) -> Result<SdkTracerProvider> {
    let bad = |e: &dyn fmt::Display| Error::Usage(format!("OTLP endpoint {}: {e}", otlp.endpoint));
    let timeout = Duration::from_secs(5);
    let exporter = match otlp.protocol {
        Protocol::Grpc => opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(&otlp.endpoint)
            .with_timeout(timeout)
            .build()
            .map_err(|e| bad(&e))?,
        Protocol::HttpProtobuf => {
            let endpoint = otlp.endpoint.clone();
            std::thread::spawn(move || {
                opentelemetry_otlp::SpanExporter::builder()
                    .with_http()
                    .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                    .with_endpoint(endpoint)
                    .with_timeout(timeout)
                    .build()
            })
            .join()
            .map_err(|_| bad(&"the HTTP client panicked while starting"))?
            .map_err(|e| bad(&e))?
        }
    };
    let watched = Watched {
        inner: exporter,
        endpoint: otlp.endpoint.clone(),
        failing: AtomicBool::new(false),
    };
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(watched)
        .with_resource(resource())
        .build())
}

/// The SDK's resource (it reads `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES`), named
/// `warden` when neither names the service.
fn resource() -> Resource {
    let named = std::env::var("OTEL_SERVICE_NAME").is_ok_and(|v| !v.is_empty())
        || std::env::var("OTEL_RESOURCE_ATTRIBUTES").is_ok_and(|v| {
            v.split(',')
                .any(|kv| kv.trim().starts_with("service.name="))
        });
    let builder = Resource::builder();
    if named {
        builder.build()
    } else {
        builder.with_service_name(SERVICE).build()
    }
}

/// An exporter that logs the first failure of an outage and the recovery, not every batch.
struct Watched<E> {
    inner: E,
    endpoint: String,
    failing: AtomicBool,
}

impl<E> fmt::Debug for Watched<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Watched")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl<E: SpanExporter> SpanExporter for Watched<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let result = self.inner.export(batch).await;
        match &result {
            Err(e) if !self.failing.swap(true, Ordering::Relaxed) => tracing::warn!(
                endpoint = %self.endpoint,
                "cannot export traces ({e}); spans are dropped until the collector answers"
            ),
            Ok(()) if self.failing.swap(false, Ordering::Relaxed) => {
                tracing::warn!(endpoint = %self.endpoint, "exporting traces again")
            }
            _ => {}
        }
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(
        flag: Option<&str>,
        protocol: Option<Protocol>,
        env: &[(&str, &str)],
        expect: Option<(&str, Protocol)>,
    ) {
        let got = resolve(flag, protocol, |k| {
            env.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        })
        .expect("resolves");
        let expect = expect.map(|(endpoint, protocol)| Otlp {
            endpoint: endpoint.into(),
            protocol,
        });
        assert_eq!(got, expect, "{flag:?} {protocol:?} {env:?}");
    }

    #[test]
    fn endpoints_and_protocols_resolve_as_the_specification_says() {
        use Protocol::*;
        check(None, None, &[], None);
        check(None, Some(HttpProtobuf), &[], None);
        check(
            Some("http://c:4317"),
            None,
            &[],
            Some(("http://c:4317", Grpc)),
        );
        check(
            Some("http://c:4318/"),
            Some(HttpProtobuf),
            &[],
            Some(("http://c:4318/v1/traces", HttpProtobuf)),
        );
        check(
            Some("http://c:4318"),
            None,
            &[("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf")],
            Some(("http://c:4318/v1/traces", HttpProtobuf)),
        );
        check(
            Some("http://c:4317"),
            Some(HttpProtobuf),
            &[("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc")],
            Some(("http://c:4317", Grpc)),
        );
        check(
            Some("http://c:4318"),
            Some(HttpProtobuf),
            &[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://t:9/x")],
            Some(("http://t:9/x", HttpProtobuf)),
        );
        check(
            None,
            None,
            &[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://t:4317")],
            Some(("http://t:4317", Grpc)),
        );
        let bad = resolve(Some("http://c"), None, |k| {
            (k == "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL").then(|| "http/json".to_string())
        });
        assert!(bad.is_err());
    }
}
