//! `proxy`: reads flags (or their environment variables) once, binds, and runs the proxy until
//! Ctrl-C or SIGTERM.

use anyhow::Context;
use clap::Parser;
use protocol::oauth::{DEFAULT_AUTH_BASE, OAuthMode};
use proxy::{
    Config, DEFAULT_API_BASE, DEFAULT_BODY_IDLE_TIMEOUT, DEFAULT_HEADER_READ_TIMEOUT,
    DEFAULT_LISTEN, DEFAULT_LOG_PATH, DEFAULT_MAX_CONNECTIONS, DEFAULT_SESSION_TTL,
    DEFAULT_STATUS_CACHE_TTL, DEFAULT_UPLOADS_DIR, DEFAULT_UPSTREAM_TIMEOUT, EmbedConfig,
    OAuthConfig, OperatorConfig, PasswordHashConfig, Secret, default_api_tokens_file,
    default_token_file,
};
use std::net::SocketAddr;
use std::path::PathBuf;
use tracing_subscriber::EnvFilter;

/// The TikTok autoposter's proxy: holds the TikTok access token, calls TikTok's Content Posting
/// API for the app, logs every post to a JSONL file, and serves the built app.
///
/// The access token is never logged, never printed, and never sent anywhere but TikTok's API.
/// Logging follows RUST_LOG (default "info").
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,

    /// Address to listen on. On loopback with no AUTOPOSTER_ALLOWED_HOSTS, whoever reaches the
    /// proxy is its operator; anywhere else the proxy needs operator access
    /// (AUTOPOSTER_ADMIN_PASSWORD_HASH and/or API tokens) and refuses to start without it.
    #[arg(long, env = "AUTOPOSTER_LISTEN", default_value_t = DEFAULT_LISTEN)]
    listen: SocketAddr,

    /// The operator's password as an argon2id PHC string, from `proxy hash-password`. Turns on
    /// sign-in (also on loopback): the page asks for the password, scripts use API tokens.
    #[arg(long, env = "AUTOPOSTER_ADMIN_PASSWORD_HASH", hide_env_values = true)]
    admin_password_hash: Option<String>,

    /// The API token file (`proxy token create|list|revoke`). Default: api-tokens.json beside
    /// the log.
    #[arg(long, env = "AUTOPOSTER_API_TOKENS", global = true)]
    api_tokens: Option<PathBuf>,

    /// How long a password sign-in lasts (e.g. "12h", "30m").
    #[arg(
        long,
        env = "AUTOPOSTER_SESSION_TTL",
        default_value_t = DEFAULT_SESSION_TTL.into()
    )]
    session_ttl: humantime::Duration,

    /// TikTok's API base URL, without a trailing slash (point it at the simulator for testing).
    #[arg(long, env = "TIKTOK_API_BASE", default_value = DEFAULT_API_BASE)]
    api_base: String,

    /// The creator's TikTok access token (scopes video.publish and/or video.upload). Without it
    /// the proxy starts, serves the app and the history, and answers TikTok calls with 503
    /// "not_connected". Prefer the environment variable: flags show up in process listings.
    /// Never logged or printed.
    #[arg(long, env = "TIKTOK_ACCESS_TOKEN", hide_env_values = true)]
    access_token: Option<Secret>,

    /// The app's TikTok client key. With --client-secret it turns on "Connect TikTok": the
    /// proxy gets and refreshes its own tokens, and TIKTOK_ACCESS_TOKEN is ignored.
    #[arg(long, env = "TIKTOK_CLIENT_KEY", requires = "client_secret")]
    client_key: Option<String>,

    /// The app's TikTok client secret. Sent only to TikTok's token and revoke endpoints; never
    /// logged or printed.
    #[arg(
        long,
        env = "TIKTOK_CLIENT_SECRET",
        hide_env_values = true,
        requires = "client_key"
    )]
    client_secret: Option<Secret>,

    /// A refresh token obtained elsewhere, used once to seed the token file when it does not
    /// exist yet. Never logged or printed.
    #[arg(long, env = "TIKTOK_REFRESH_TOKEN", hide_env_values = true)]
    refresh_token: Option<Secret>,

    /// Where TikTok's authorize page is (the browser is sent there by /auth/login).
    #[arg(long, env = "TIKTOK_AUTH_BASE", default_value = DEFAULT_AUTH_BASE)]
    auth_base: String,

    /// How the app is registered with TikTok's Login Kit: "desktop" (a localhost redirect with
    /// PKCE, for a box on this machine) or "web" (an https redirect).
    #[arg(long, env = "AUTOPOSTER_OAUTH_MODE", default_value = "desktop")]
    oauth_mode: OAuthMode,

    /// The redirect URI registered with TikTok; it must reach this proxy's /auth/callback.
    #[arg(long, env = "AUTOPOSTER_REDIRECT_URI", default_value = proxy::DEFAULT_REDIRECT_URI)]
    redirect_uri: String,

    /// Where the tokens are kept (created 0600, replaced atomically). Default: tokens.json
    /// beside the log.
    #[arg(long, env = "AUTOPOSTER_TOKEN_FILE")]
    token_file: Option<PathBuf>,

    /// The JSONL file every post result is appended to.
    #[arg(long = "log", env = "AUTOPOSTER_LOG", default_value = DEFAULT_LOG_PATH, global = true)]
    log_path: PathBuf,

    /// Where POST /api/upload spools videos and keeps its jobs (created at start-up).
    #[arg(long, env = "AUTOPOSTER_UPLOADS_DIR", default_value = DEFAULT_UPLOADS_DIR, global = true)]
    uploads_dir: PathBuf,

    /// Whether a video whose server-side job failed stays in the uploads directory ("true" or
    /// "false"), to look at or send again. A posted video is always removed.
    #[arg(
        long,
        env = "AUTOPOSTER_KEEP_FAILED",
        default_value_t = proxy::DEFAULT_KEEP_FAILED,
        action = clap::ArgAction::Set,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    keep_failed: bool,

    /// How many uploads may start (TikTok inits, the page's and the jobs' together) per minute.
    /// TikTok allows 6 per account; past it the page is told when to try again and jobs wait.
    /// Raise it only against a simulator without limits.
    #[arg(long, env = "AUTOPOSTER_INIT_LIMIT", default_value_t = protocol::limits::INIT_PER_MINUTE)]
    init_limit: u32,

    /// The built app (Trunk's dist/) to serve at /. Without it / shows how to build it.
    #[arg(long, env = "AUTOPOSTER_STATIC_DIR")]
    static_dir: Option<PathBuf>,

    /// How long TikTok may stay silent — not answering a call, or not taking a relayed chunk's
    /// next bytes — before the page gets a 504 (e.g. "30s", "1m"). A stall timeout: a slow
    /// but moving exchange always finishes.
    #[arg(
        long,
        env = "AUTOPOSTER_UPSTREAM_TIMEOUT",
        default_value_t = DEFAULT_UPSTREAM_TIMEOUT.into()
    )]
    upstream_timeout: humantime::Duration,

    /// Polls of one post within this time are answered from the last status (TikTok allows 30
    /// status calls a minute).
    #[arg(
        long,
        env = "AUTOPOSTER_STATUS_CACHE_TTL",
        default_value_t = DEFAULT_STATUS_CACHE_TTL.into()
    )]
    status_cache_ttl: humantime::Duration,

    /// How often a server-side job asks TikTok for its post's status while TikTok processes it.
    #[arg(
        long,
        env = "AUTOPOSTER_JOB_POLL_INTERVAL",
        default_value_t = proxy::DEFAULT_JOB_POLL_INTERVAL.into()
    )]
    job_poll_interval: humantime::Duration,

    /// How long a job waits before trying again when TikTok's caps refuse its start (5 drafts
    /// pending in the inbox, the account's daily post cap).
    #[arg(
        long,
        env = "AUTOPOSTER_JOB_CAP_WAIT",
        default_value_t = proxy::DEFAULT_CAP_WAIT.into()
    )]
    job_cap_wait: humantime::Duration,

    /// Other sites whose pages may embed the uploader, comma-separated, each exactly
    /// scheme://host[:port] (e.g. "https://cms.example.com,http://127.0.0.1:5000"; no "*").
    /// Their calls must carry an embed key or a ticket; every other site is refused.
    /// See docs/EMBED.md.
    #[arg(long, env = "AUTOPOSTER_ALLOWED_ORIGINS")]
    allowed_origins: Option<String>,

    /// Embed keys, comma-separated (at least 16 characters each), for pages only trusted people
    /// see; sent as X-Autoposter-Key. Never logged or printed.
    #[arg(long, env = "AUTOPOSTER_EMBED_KEYS", hide_env_values = true)]
    embed_keys: Option<Secret>,

    /// The secret (at least 32 characters) a host site's backend signs short-lived tickets with,
    /// sent as X-Autoposter-Ticket. Never logged or printed.
    #[arg(long, env = "AUTOPOSTER_TICKET_SECRET", hide_env_values = true)]
    ticket_secret: Option<Secret>,

    /// The DNS names this proxy is reached by, comma-separated, without port (e.g.
    /// "poster.example.com"). IP addresses, localhost and the redirect URI's host are always
    /// answered; API calls addressed to any other name are refused, which stops DNS-rebinding
    /// pages from using the proxy.
    #[arg(long, env = "AUTOPOSTER_ALLOWED_HOSTS")]
    allowed_hosts: Option<String>,

    /// How long a client may take to send a request's headers (e.g. "10s"); also how long a
    /// kept-alive connection may wait for its next request. Slower connections are closed.
    #[arg(
        long,
        env = "AUTOPOSTER_HEADER_READ_TIMEOUT",
        default_value_t = DEFAULT_HEADER_READ_TIMEOUT.into()
    )]
    header_read_timeout: humantime::Duration,

    /// How long a request body (JSON, or a relayed chunk) may send nothing before it fails with
    /// 408. Only a stall counts: a slow but steady upload always finishes.
    #[arg(
        long,
        env = "AUTOPOSTER_BODY_IDLE_TIMEOUT",
        default_value_t = DEFAULT_BODY_IDLE_TIMEOUT.into()
    )]
    body_idle_timeout: humantime::Duration,

    /// The most connections served at once; past it, the one idle longest is closed to make
    /// room. Keep it well under the process's open-file limit.
    #[arg(long, env = "AUTOPOSTER_MAX_CONNECTIONS", default_value_t = DEFAULT_MAX_CONNECTIONS)]
    max_connections: usize,
}

/// Chores beside serving.
#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Read a password (from the terminal without echo, or one line of standard input) and
    /// print its argon2id hash for AUTOPOSTER_ADMIN_PASSWORD_HASH.
    HashPassword,
    /// Operator API tokens for scripts (`Authorization: Bearer apt_…`), kept hashed in the
    /// API token file. The running proxy sees changes at once.
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, clap::Subcommand)]
enum TokenCommand {
    /// Create a token and print it; it is shown this once.
    Create {
        /// What the token is for (letters, digits, '-', '_', '.').
        name: String,
    },
    /// List the tokens (ids, names, creation times; never the tokens).
    List,
    /// Revoke a token by its id or name.
    Revoke {
        /// The id (`tok_…`) or name.
        which: String,
    },
}

impl TryFrom<Args> for Config {
    type Error = proxy::ConfigError;

    fn try_from(args: Args) -> Result<Self, Self::Error> {
        let embed = EmbedConfig::parse(
            args.allowed_origins.as_deref().unwrap_or(""),
            args.embed_keys.as_ref().map_or("", Secret::expose),
            args.ticket_secret.as_ref().map_or("", Secret::expose),
        )?;
        let oauth = match (args.client_key, args.client_secret) {
            (Some(key), Some(secret)) if !key.is_empty() && !secret.expose().is_empty() => {
                Some(OAuthConfig {
                    mode: args.oauth_mode,
                    redirect_uri: args.redirect_uri,
                    auth_base: args.auth_base,
                    token_file: args
                        .token_file
                        .unwrap_or_else(|| default_token_file(&args.log_path)),
                    refresh_token: args
                        .refresh_token
                        .filter(|token| !token.expose().is_empty()),
                    ..OAuthConfig::new(key, secret)
                })
            }
            _ => None,
        };
        let operator = OperatorConfig {
            password_hash: args
                .admin_password_hash
                .as_deref()
                .filter(|hash| !hash.trim().is_empty())
                .map(PasswordHashConfig::parse)
                .transpose()?,
            api_tokens_file: args
                .api_tokens
                .unwrap_or_else(|| default_api_tokens_file(&args.log_path)),
            session_ttl: args.session_ttl.into(),
        };
        Ok(Self {
            oauth,
            operator,
            listen: args.listen,
            api_base: args.api_base,
            access_token: args.access_token.filter(|token| !token.expose().is_empty()),
            log_path: args.log_path,
            uploads_dir: args.uploads_dir,
            keep_failed: args.keep_failed,
            init_limit: args.init_limit.max(1),
            job_poll_interval: args.job_poll_interval.into(),
            cap_wait: args.job_cap_wait.into(),
            static_dir: args.static_dir,
            upstream_timeout: args.upstream_timeout.into(),
            status_cache_ttl: args.status_cache_ttl.into(),
            embed,
            allowed_hosts: protocol::host::parse_host_list(
                args.allowed_hosts.as_deref().unwrap_or(""),
            )?,
            header_read_timeout: args.header_read_timeout.into(),
            body_idle_timeout: args.body_idle_timeout.into(),
            max_connections: args.max_connections.max(1),
            ..Config::default()
        })
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = Args::parse();
    if let Some(command) = args.command.take() {
        let tokens_file = args
            .api_tokens
            .clone()
            .unwrap_or_else(|| default_api_tokens_file(&args.log_path));
        return chore(command, &tokens_file);
    }
    let config = Config::try_from(args)?;
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    // Before binding: a refused start must not first announce an address.
    config.check()?;

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let address = listener.local_addr().context("reading the bound address")?;
    println!("TikTok autoposter proxy listening on http://{address}/");
    tracing::info!(
        %address,
        api_base = %config.api_base,
        connected = config.access_token.is_some(),
        oauth = config.oauth.as_ref().map(|oauth| oauth.mode.as_str()),
        log = %config.log_path.display(),
        embed_origins = ?config
            .embed
            .allowed_origins
            .iter()
            .map(|origin| origin.as_str())
            .collect::<Vec<_>>(),
        "started"
    );
    proxy::run(listener, config, shutdown_signal()).await
}

/// Runs a subcommand.
fn chore(command: Command, tokens_file: &std::path::Path) -> anyhow::Result<()> {
    match command {
        Command::HashPassword => {
            let password = read_password()?;
            println!("{}", proxy::hash_password(&password));
        }
        Command::Token(TokenCommand::Create { name }) => {
            let (token, stored) = proxy::api_tokens::create(tokens_file, &name)?;
            eprintln!(
                "Created {} ({}) in {}. Keep the token now; it is not shown again:",
                stored.id,
                stored.name,
                tokens_file.display()
            );
            println!("{token}");
        }
        Command::Token(TokenCommand::List) => {
            let list = proxy::api_tokens::read(tokens_file)?;
            if list.tokens.is_empty() {
                eprintln!("No API tokens in {}.", tokens_file.display());
            }
            for token in list.tokens {
                println!("{}\t{}\t{}", token.id, token.name, token.created);
            }
        }
        Command::Token(TokenCommand::Revoke { which }) => {
            for gone in proxy::api_tokens::revoke(tokens_file, &which)? {
                eprintln!("Revoked {} ({}).", gone.id, gone.name);
            }
        }
    }
    Ok(())
}

/// The password to hash: asked twice at a terminal, else the first line of standard input.
fn read_password() -> anyhow::Result<String> {
    use std::io::IsTerminal;
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Operator password: ")?;
        let again = rpassword::prompt_password("Again: ")?;
        anyhow::ensure!(first == again, "the two passwords differ");
        first
    } else {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    anyhow::ensure!(
        password.chars().count() >= proxy::MIN_PASSWORD_CHARS,
        "use at least {} characters",
        proxy::MIN_PASSWORD_CHARS
    );
    Ok(password)
}

/// Completes on Ctrl-C, or on SIGTERM where there is one.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutdown signal received");
}
