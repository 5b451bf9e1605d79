//! Accepts connections and serves each with hyper until shutdown, then lets in-flight
//! requests finish.

use crate::config::Config;
use crate::log::Log;
use crate::posts::Posts;
use crate::routes;
use crate::status_cache::StatusCache;
use crate::tiktok::TikTok;
use anyhow::Context;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// How long to pause after `accept` fails (out of file descriptors, say) before trying again,
/// so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// What every request shares.
#[derive(Debug)]
pub struct App {
    /// The only holder of the token.
    pub tiktok: TikTok,
    /// The JSONL history.
    pub log: Log,
    /// Posts started since the proxy started, for the chunk relay and the log.
    pub posts: Posts,
    /// Recent `status/fetch` answers.
    pub statuses: StatusCache,
    /// The built app, if any.
    pub static_dir: Option<PathBuf>,
}

/// Serves the proxy on `listener` until `shutdown` completes; then stops accepting and waits
/// for in-flight connections to finish (each is bounded by the upstream timeout).
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let log = Log::open(&config.log_path)
        .await
        .with_context(|| format!("opening the log {}", config.log_path.display()))?;
    let app = Arc::new(App {
        tiktok: TikTok::new(&config).context("building the HTTP client for TikTok")?,
        log,
        posts: Posts::default(),
        statuses: StatusCache::new(config.status_cache_ttl),
        static_dir: config.static_dir,
    });
    if !app.tiktok.is_connected() {
        tracing::warn!(
            "no TikTok access token: TikTok calls will answer 503 until TIKTOK_ACCESS_TOKEN is set"
        );
    }

    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let app = app.clone();
        let service = service_fn(move |request| routes::handle(app.clone(), request));
        let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tracing::info!("shutting down: waiting for in-flight requests");
    graceful.shutdown().await;
    tracing::info!("stopped");
    Ok(())
}
