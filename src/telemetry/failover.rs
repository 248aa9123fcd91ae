//! A failover episode as an OpenTelemetry trace: one root span `failover <master>` from the
//! first event to the end, with one child span per phase (`+sdown`, `+odown`, …), all with
//! the times Sentinel reported, not the time of export; each hazard reported during the
//! failover is a span event `hazard <kind>` on the root. Goes to the global tracer provider,
//! which is a no-op unless an OTLP endpoint was given.

use std::time::{Duration, SystemTime};

use opentelemetry::trace::{Span, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue, global};

use super::SERVICE;
use crate::failover::episode::Failover;
use crate::failover::hazard::Hazard;

/// Emits `f` as a trace, with `hazards` (reported at their wall time) as span events.
pub(crate) fn export(f: &Failover, hazards: &[(SystemTime, Hazard)]) {
    export_in(None, f, hazards);
}

/// [`export`], with the Sentinel group the master belongs to (`warden.group`) when known.
pub(crate) fn export_in(group: Option<&str>, f: &Failover, hazards: &[(SystemTime, Hazard)]) {
    let tracer = global::tracer(SERVICE);
    let at = |ms: f64| f.started + Duration::from_secs_f64(ms.max(0.0) / 1000.0);
    let mut attributes = vec![
        KeyValue::new("db.system.name", "redis"),
        KeyValue::new("warden.master", f.master.clone()),
        KeyValue::new("warden.outcome", f.outcome.to_string()),
        KeyValue::new(
            "warden.switch_reports",
            f.switch_master.as_ref().map_or(0, |s| s.sentinels as i64),
        ),
    ];
    if let Some(group) = group {
        attributes.push(KeyValue::new("warden.group", group.to_string()));
    }
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
    for (wall, h) in hazards {
        let mut attrs = vec![
            KeyValue::new("warden.hazard.kind", h.kind.as_str()),
            KeyValue::new(
                "warden.hazard.state",
                format!("{:?}", h.state).to_lowercase(),
            ),
            KeyValue::new("warden.hazard.detail", h.detail.clone()),
        ];
        if let Some(s) = &h.subject {
            attrs.push(KeyValue::new("warden.hazard.subject", s.clone()));
        }
        cx.span()
            .add_event_with_timestamp(format!("hazard {}", h.kind), *wall, attrs);
    }
    cx.span().end_with_timestamp(at(f.duration_ms));
}
