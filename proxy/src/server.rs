//! Accepts connections and serves each with hyper until shutdown, then lets in-flight
//! requests finish.

use crate::account::Account;
use crate::config::{Config, EmbedConfig};
use crate::log::Log;
use crate::login::Logins;
use crate::posts::Posts;
use crate::routes;
use crate::statics::Statics;
use crate::status_cache::StatusCache;
use crate::tiktok::TikTok;
use anyhow::Context;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use protocol::host::HostName;
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
    /// Where the token comes from (fixed, or Login Kit's refreshed tokens), shared with
    /// `tiktok`.
    pub account: Arc<Account>,
    /// Pending connects; `None` without Login Kit credentials.
    pub logins: Option<Logins>,
    /// The JSONL history.
    pub log: Log,
    /// The client the chunk relay PUTs to TikTok's upload host with: no token, no redirects,
    /// and no overall deadline (a 64 MB chunk may take minutes), only connect and idle limits.
    pub uploads: reqwest::Client,
    /// Posts started since the proxy started, for the chunk relay and the log.
    pub posts: Posts,
    /// Recent `status/fetch` answers.
    pub statuses: StatusCache,
    /// The built app, if any, and the upload host its page may PUT to.
    pub statics: Statics,
    /// Which other sites may call the API, and with what credentials.
    pub embed: EmbedConfig,
    /// The DNS names API calls may be addressed to (`Config::answered_hosts`).
    pub hosts: Vec<HostName>,
}

/// Serves the proxy on `listener` until `shutdown` completes; then stops accepting and waits
/// for in-flight connections to finish (each is bounded by the upstream timeout).
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    crate::startup::check(&config)?;
    let log = Log::open(&config.log_path)
        .await
        .with_context(|| format!("opening the log {}", config.log_path.display()))?;
    if let Some(oauth) = &config.oauth {
        oauth.check().context("AUTOPOSTER_REDIRECT_URI")?;
        if config.access_token.is_some() {
            tracing::warn!(
                "TIKTOK_ACCESS_TOKEN is ignored: TIKTOK_CLIENT_KEY and TIKTOK_CLIENT_SECRET are set"
            );
        }
    }
    let account = Arc::new(Account::new(&config)?);
    let hosts = config.answered_hosts();
    let app = Arc::new(App {
        tiktok: TikTok::new(&config, account.clone())
            .context("building the HTTP client for TikTok")?,
        account,
        logins: config.oauth.as_ref().map(Logins::new),
        log,
        uploads: reqwest::Client::builder()
            .connect_timeout(config.upstream_timeout)
            .read_timeout(config.upstream_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("building the HTTP client for TikTok's upload host")?,
        posts: Posts::default(),
        statuses: StatusCache::new(config.status_cache_ttl),
        statics: Statics {
            upload_origin: config.upload_origin(),
            dir: config.static_dir,
        },
        embed: config.embed,
        hosts,
    });
    if !app.tiktok.is_connected() {
        match &app.logins {
            Some(_) => tracing::warn!(
                "no TikTok account connected yet: open the page and click Connect TikTok"
            ),
            None => tracing::warn!(
                "no TikTok access token: TikTok calls will answer 503 until TIKTOK_ACCESS_TOKEN (or TIKTOK_CLIENT_KEY and TIKTOK_CLIENT_SECRET) is set"
            ),
        }
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
