//! The metrics endpoint: a small HTTP/1 server (hyper) with `/metrics` (Prometheus text),
//! `/healthz` (the loop turns) and `/readyz` (a Sentinel is subscribed and the primary is
//! known). GET and HEAD only; anything else is 404 or 405.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::{Metrics, Readiness};
use crate::error::{Error, Result};

/// A running endpoint; dropping it stops it.
#[derive(Debug)]
pub(crate) struct Server {
    task: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Binds `addr` and serves `metrics` there until the returned [`Server`] is dropped. A port
/// already taken is an error now, not later.
pub(crate) async fn serve(addr: SocketAddr, metrics: Metrics) -> Result<Server> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| Error::Usage(format!("--listen {addr}: {e}")))?;
    let addr = listener.local_addr().map_err(|e| Error::Io {
        path: format!("<listener {addr}>").into(),
        source: e,
    })?;
    tracing::info!(%addr, "serving /metrics, /healthz and /readyz");
    let task = tokio::spawn(accept(listener, metrics));
    Ok(Server { task })
}

async fn accept(listener: TcpListener, metrics: Metrics) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors and the like: pass, do not spin.
                tracing::warn!("metrics endpoint: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let response = respond(&metrics, req.method(), req.uri().path());
                async move { Ok::<_, Infallible>(response) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), service);
            if let Err(e) = conn.await {
                tracing::debug!("metrics endpoint: connection ended: {e}");
            }
        });
    }
}

/// The response to `method path`.
fn respond(metrics: &Metrics, method: &Method, path: &str) -> Response<Full<Bytes>> {
    if method != Method::GET && method != Method::HEAD {
        return text(StatusCode::METHOD_NOT_ALLOWED, "GET or HEAD only\n".into());
    }
    match path {
        "/metrics" => {
            let body = metrics.encode(SystemTime::now());
            let mut r = text(StatusCode::OK, body);
            r.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static(
                    prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
                ),
            );
            r
        }
        "/healthz" if metrics.healthy(Instant::now()) => text(StatusCode::OK, "ok\n".into()),
        "/healthz" => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "the watch loop is not running\n".into(),
        ),
        "/readyz" => match metrics.readiness() {
            Readiness::Ready => text(StatusCode::OK, "ready\n".into()),
            Readiness::NotReady(why) => text(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("not ready: {why}\n"),
            ),
        },
        _ => text(
            StatusCode::NOT_FOUND,
            "not found; try /metrics, /healthz or /readyz\n".into(),
        ),
    }
}

fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}
