//! A failover episode as an OpenTelemetry trace: one root span `failover <master>` from the
//! first event to the end, with one child span per phase (`+sdown`, `+odown`, …), all with
//! the times Sentinel reported, not the time of export. Goes to the global tracer provider,
//! which is a no-op unless an OTLP endpoint was given.

use std::time::Duration;

use opentelemetry::trace::{Span, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue, global};

use super::SERVICE;
use crate::watch::episode::Failover;

/// Emits `f` as a trace.
pub fn export(f: &Failover) {
    let tracer = global::tracer(SERVICE);
    let at = |ms: f64| f.started + Duration::from_secs_f64(ms.max(0.0) / 1000.0);
    let mut attributes = vec![
        KeyValue::new("db.system.name", "redis"),
        KeyValue::new("warden.master", f.master.clone()),
        KeyValue::new("warden.outcome", f.outcome.to_string()),
        KeyValue::new("warden.switch_reports", f.switch_reports as i64),
    ];
    if let Some(old) = &f.old {
        attributes.push(KeyValue::new("warden.old_primary", old.to_string()));
    }
    if let Some(new) = &f.new {
        attributes.push(KeyValue::new("warden.new_primary", new.to_string()));
    }
    let root = tracer
        .span_builder(format!("failover {}", f.master))
        .with_start_time(f.started)
        .with_attributes(attributes)
        .start(&tracer);
    let cx = Context::current_with_span(root);
    for (name, from, to) in f.intervals() {
        let mut span = tracer
            .span_builder(crate::sentinel::timeline::Phases::channel(name))
            .with_start_time(at(from))
            .start_with_context(&tracer, &cx);
        span.end_with_timestamp(at(to));
    }
    cx.span().end_with_timestamp(at(f.duration_ms));
}
