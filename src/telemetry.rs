//! Logging: a `tracing` subscriber writing to stderr, filtered by `WARDEN_LOG` or `-v`.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. `verbose` raises the default level (0 = warn, 1 = info,
/// 2+ = debug); `WARDEN_LOG` (an `EnvFilter` directive) overrides it.
pub fn init(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_env("WARDEN_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
