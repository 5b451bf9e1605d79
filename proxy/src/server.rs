//! Accepts connections and serves each with hyper until shutdown, then lets in-flight
//! requests finish, for a bounded time.
//!
//! Slow or abusive clients: hyper runs with a timer, so a connection that does not send a whole
//! request's headers within `header_read_timeout` is closed (in hyper 1.x the same timer also
//! bounds a kept-alive connection's wait for its next request, so it is the idle timeout as
//! well); at most `max_connections` are served at once (`connections.rs`); request bodies fail
//! when they stall for `body_idle_timeout` (`idle_body.rs`).

use crate::account::Account;
use crate::body::BodyIdleTimeout;
use crate::config::{Config, EmbedConfig};
use crate::connections::Connections;
use crate::init::Readings;
use crate::init_limit::InitLimit;
use crate::jobs::Jobs;
use crate::log::Log;
use crate::login::Logins;
use crate::operator::Operator;
use crate::posts::Posts;
use crate::routes;
use crate::statics::Statics;
use crate::status_cache::StatusCache;
use crate::tiktok::TikTok;
use anyhow::Context;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use protocol::chunk::PlanReading;
use protocol::host::HostName;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

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
    /// The reading of TikTok's chunk rule the next upload starts with (`init.rs`).
    pub readings: Readings,
    /// The client the chunk relay PUTs to TikTok's upload host with: no token, no redirects,
    /// and no overall deadline (a 64 MB chunk may take minutes): a connect limit here, and the
    /// relay's stall watchdog (`upstream_stall.rs`).
    pub uploads: reqwest::Client,
    /// How long TikTok may stay silent during a call (the relay's stall timeout too).
    pub upstream_timeout: Duration,
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
    /// Who may do everything, and their sessions and API tokens.
    pub operator: Operator,
    /// Where `POST /api/upload` spools videos.
    pub uploads_dir: PathBuf,
    /// Server-side jobs, saved under `uploads_dir/jobs/`.
    pub jobs: Jobs,
    /// Whether a failed job's video stays on disk.
    pub keep_failed: bool,
    /// How often a job polls `status/fetch`.
    pub job_poll_interval: Duration,
    /// Our count of TikTok's init limit; jobs wait on it, the page's inits are refused past it.
    pub init_limit: InitLimit,
    /// How long a job waits after a 429 without `Retry-After`.
    pub rate_limit_wait: Duration,
    /// How long a job waits after a cap before trying again.
    pub cap_wait: Duration,
    /// How long a job waits before each new try of an init that failed on the way.
    pub init_retry_delays: Vec<Duration>,
    /// Cancelled when the proxy stops: job tasks end at their next await, and the next start
    /// continues them from their records.
    pub stopping: CancellationToken,
}

/// Serves the proxy on `listener` until `shutdown` completes; then stops accepting and waits
/// for in-flight connections to finish, at most the longer of the upstream and header-read
/// timeouts (a TikTok call in flight can finish; a stalled client cannot hold shutdown up), and
/// then closes what is left.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    config.check()?;
    let log = Log::open(&config.log_path)
        .await
        .with_context(|| format!("opening the log {}", config.log_path.display()))?;
    let last_reading = log
        .last_chunk_reading()
        .await
        .with_context(|| format!("reading the log {}", config.log_path.display()))?;
    if let Some(reading) = last_reading.filter(|reading| *reading != PlanReading::Documented) {
        tracing::info!(
            reading = reading.as_str(),
            "TikTok last accepted an undocumented reading of its chunk rule: starting with it"
        );
    }
    if let Some(oauth) = &config.oauth {
        oauth.check().context("AUTOPOSTER_REDIRECT_URI")?;
        if config.access_token.is_some() {
            tracing::warn!(
                "TIKTOK_ACCESS_TOKEN is ignored: TIKTOK_CLIENT_KEY and TIKTOK_CLIENT_SECRET are set"
            );
        }
    }
    let exposure = config.exposure();
    let operator = Operator::new(&config.operator, exposure.is_some())?;
    match (&exposure, operator.required()) {
        (Some(reason), _) => {
            tracing::info!(%reason, "reachable beyond loopback: every call needs operator access")
        }
        (None, true) => tracing::info!("operator sign-in is on"),
        (None, false) => {
            tracing::info!("loopback only: no sign-in needed (set a password to require one)")
        }
    }
    std::fs::create_dir_all(&config.uploads_dir).with_context(|| {
        format!(
            "creating the uploads directory {}",
            config.uploads_dir.display()
        )
    })?;
    crate::spool::remove_partials(&config.uploads_dir);
    let jobs = Jobs::open(&config.uploads_dir.join("jobs"))
        .with_context(|| format!("reading the jobs in {}", config.uploads_dir.display()))?;
    let account = Arc::new(Account::new(&config)?);
    let hosts = config.answered_hosts();
    let upstream_timeout = config.upstream_timeout;
    let app = Arc::new(App {
        tiktok: TikTok::new(&config, account.clone())
            .context("building the HTTP client for TikTok")?,
        account,
        logins: config.oauth.as_ref().map(Logins::new),
        log,
        readings: Readings::new(last_reading),
        // No read timeout: reqwest counts it from the request's start, so it would cut off a
        // chunk that takes longer to send; the relay watches for stalls instead.
        uploads: reqwest::Client::builder()
            .connect_timeout(config.upstream_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("building the HTTP client for TikTok's upload host")?,
        upstream_timeout: config.upstream_timeout,
        posts: Posts::default(),
        statuses: StatusCache::new(config.status_cache_ttl),
        statics: Statics {
            upload_origin: config.upload_origin(),
            dir: config.static_dir,
        },
        embed: config.embed,
        hosts,
        operator,
        uploads_dir: config.uploads_dir,
        jobs,
        keep_failed: config.keep_failed,
        job_poll_interval: config.job_poll_interval,
        init_limit: InitLimit::new(config.init_limit, config.init_window),
        rate_limit_wait: config.rate_limit_wait,
        cap_wait: config.cap_wait,
        init_retry_delays: config.init_retry_delays,
        stopping: CancellationToken::new(),
    });
    for job in app.jobs.unfinished() {
        tracing::info!(job = %job.id, "continuing a job from before the restart");
        crate::poster::start(app.clone(), job, true);
    }
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

    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout);
    let body_idle_timeout = BodyIdleTimeout(config.body_idle_timeout);
    let connections = Connections::new(config.max_connections);
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
        let ticket = tokio::select! {
            ticket = connections.admit() => Arc::new(ticket),
            () = &mut shutdown => break,
        };
        let app = app.clone();
        let in_flight = ticket.clone();
        let service = service_fn(move |mut request| {
            let app = app.clone();
            let request_started = in_flight.request_started();
            request.extensions_mut().insert(body_idle_timeout);
            async move {
                let response = routes::handle(app, peer, request).await;
                drop(request_started);
                response
            }
        });
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            tokio::select! {
                ended = connection => if let Err(error) = ended {
                    tracing::debug!(%peer, %error, "connection ended with an error");
                },
                // Dropping the connection closes it: it has no request in flight, or shutdown's
                // grace is over.
                () = ticket.must_close() => tracing::debug!(%peer, "connection closed by the proxy"),
            }
        });
    }
    drop(listener);
    app.stopping.cancel();
    let grace = upstream_timeout.max(config.header_read_timeout);
    tracing::info!(?grace, "shutting down: waiting for in-flight requests");
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            ?grace,
            "connections still open after the shutdown grace: closing them"
        );
        connections.close_all();
    }
    tracing::info!("stopped");
    Ok(())
}
