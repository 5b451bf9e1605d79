//! The simulator as a program, for the demo: reads flags once, binds, and serves until Ctrl-C.

use anyhow::Context;
use clap::Parser;
use protocol::PrivacyLevel;
use sim::{ChunkRule, Persona, RateLimits, Sim, SimOptions};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;

/// A strict simulator of TikTok's Content Posting API (v2) and its upload host.
///
/// One listener serves creator_info/query, video/init, inbox/video/init, status/fetch and the
/// upload host (PUT /upload/?upload_id=…&upload_token=…), refusing what TikTok refuses, plus
/// Login Kit (a consent page that agrees at once, token and revoke). Point the proxy at it with
/// TIKTOK_API_BASE and TIKTOK_ACCESS_TOKEN, or TIKTOK_CLIENT_KEY/SECRET and TIKTOK_AUTH_BASE,
/// as printed on start.
#[derive(Debug, Parser)]
#[command(
    name = "sim",
    version,
    after_help = "Logs go to stderr; RUST_LOG=sim=debug also says why each request was refused. \
                  Scripted faults (503s, dropped connections, hangs) are for tests: use the library."
)]
struct Args {
    /// Address to listen on (the API base and the upload host alike).
    #[arg(long, env = "SIM_LISTEN", default_value = "127.0.0.1:9797")]
    listen: SocketAddr,
    /// The address clients reach the simulator at, when that is not `--listen`: behind a
    /// relay, such as the link shaper's (`cargo xtask bench`). The API base and every
    /// `upload_url` name it.
    #[arg(long, env = "SIM_ADVERTISE")]
    advertise: Option<SocketAddr>,
    /// The bearer token the API accepts.
    #[arg(long, env = "SIM_TOKEN", default_value = sim::DEFAULT_ACCESS_TOKEN)]
    token: String,
    /// The client key the OAuth endpoints accept (point the proxy's TIKTOK_CLIENT_KEY at it).
    #[arg(long, env = "SIM_CLIENT_KEY", default_value = sim::DEFAULT_CLIENT_KEY)]
    client_key: String,
    /// The client secret the token and revoke endpoints accept.
    #[arg(long, env = "SIM_CLIENT_SECRET", default_value = sim::DEFAULT_CLIENT_SECRET)]
    client_secret: String,
    /// How long issued access tokens live ("2h", "30s"); short ones show refreshes in the demo.
    #[arg(long, env = "SIM_ACCESS_TOKEN_TTL", default_value = "2h", value_parser = parse_delay)]
    access_token_ttl: Duration,
    /// The creator's nickname, shown on the posting page.
    #[arg(long, env = "SIM_NICKNAME", default_value = "Sim Creator")]
    nickname: String,
    /// The creator's username (handle).
    #[arg(long, env = "SIM_USERNAME", default_value = "sim.creator")]
    username: String,
    /// The privacy levels offered, comma-separated (e.g. PUBLIC_TO_EVERYONE,SELF_ONLY).
    /// Default: PUBLIC_TO_EVERYONE,MUTUAL_FOLLOW_FRIENDS,SELF_ONLY, or
    /// FOLLOWER_OF_CREATOR,MUTUAL_FOLLOW_FRIENDS,SELF_ONLY with --private-account.
    #[arg(long, env = "SIM_PRIVACY_OPTIONS", value_delimiter = ',')]
    privacy_options: Option<Vec<String>>,
    /// The longest video the creator may post, in seconds.
    #[arg(long, env = "SIM_MAX_DURATION", default_value_t = sim::DEFAULT_MAX_DURATION_SEC)]
    max_duration: u32,
    /// The creator set comments to "No one".
    #[arg(long, env = "SIM_COMMENT_DISABLED")]
    comment_disabled: bool,
    /// The creator turned Duet off (always off for a private account).
    #[arg(long, env = "SIM_DUET_DISABLED")]
    duet_disabled: bool,
    /// The creator turned Stitch off (always off for a private account).
    #[arg(long, env = "SIM_STITCH_DISABLED")]
    stitch_disabled: bool,
    /// Play an app TikTok has not audited: direct posts to a public account get 403
    /// unaudited_client_can_only_post_to_private_accounts.
    #[arg(long, env = "SIM_UNAUDITED")]
    unaudited: bool,
    /// The creator's account is private.
    #[arg(long, env = "SIM_PRIVATE_ACCOUNT")]
    private_account: bool,
    /// Do not answer CORS preflights on the upload host, so browsers cannot PUT directly.
    #[arg(long, env = "SIM_NO_CORS")]
    no_cors: bool,
    /// How long status/fetch says PROCESSING_UPLOAD after the final chunk ("2s", "500ms", or
    /// plain seconds).
    #[arg(long, env = "SIM_PROCESSING_DELAY", default_value = "2s", value_parser = parse_delay)]
    processing_delay: Duration,
    /// TikTok's daily cap on the creator's Direct Posts: past it, video/init answers 403
    /// spam_risk_too_many_posts (TikTok's is "typically around 15"). Default: no cap.
    #[arg(long, env = "SIM_DAILY_POST_CAP")]
    daily_post_cap: Option<u32>,

    /// Turn off TikTok's rate limits (20/min creator_info, 6/min per init, 30/min status).
    #[arg(long, env = "SIM_NO_RATE_LIMITS")]
    no_rate_limits: bool,
    /// Which multi-chunk plans init accepts: "documented"; "smaller-last" (a documented plan
    /// whose last chunk is larger than the others gets 400 invalid_params "The chunk size is
    /// invalid"; ceil-counted plans with a smaller last chunk pass); "whole-only" (every
    /// multi-chunk plan gets that refusal).
    #[arg(long, env = "SIM_CHUNK_RULE", default_value = "documented", value_parser = parse_chunk_rule)]
    chunk_rule: ChunkRule,
}

impl Args {
    fn options(self) -> SimOptions {
        let privacy_level_options = match self.privacy_options {
            Some(levels) => levels
                .iter()
                .map(|l| PrivacyLevel::parse(l.trim()))
                .collect(),
            None => Persona::privacy_options_for(self.private_account),
        };
        let persona = Persona {
            nickname: self.nickname,
            username: self.username,
            privacy_level_options,
            comment_disabled: self.comment_disabled,
            duet_disabled: self.duet_disabled || self.private_account,
            stitch_disabled: self.stitch_disabled || self.private_account,
            max_video_post_duration_sec: self.max_duration,
            audited: !self.unaudited,
            private_account: self.private_account,
            daily_post_cap: self.daily_post_cap,
            ..Persona::default()
        };
        SimOptions {
            access_token: self.token,
            client_key: self.client_key,
            client_secret: self.client_secret,
            access_token_ttl: self.access_token_ttl,
            persona,
            rate_limits: if self.no_rate_limits {
                RateLimits::off()
            } else {
                RateLimits::default()
            },
            cors: !self.no_cors,
            processing_delay: self.processing_delay,
            chunk_rule: self.chunk_rule,
            ..SimOptions::default()
        }
    }
}

/// One of [`ChunkRule::NAMES`].
fn parse_chunk_rule(text: &str) -> Result<ChunkRule, String> {
    ChunkRule::parse(text).ok_or_else(|| {
        let names: Vec<&str> = ChunkRule::NAMES.iter().map(|(name, _)| *name).collect();
        format!("expected one of {}", names.join(", "))
    })
}

/// "2s", "1500ms", "1m" (humantime), or a plain number of seconds such as "2" or "0.5".
fn parse_delay(text: &str) -> Result<Duration, String> {
    if let Ok(secs) = text.parse::<f64>() {
        return Duration::try_from_secs_f64(secs).map_err(|e| e.to_string());
    }
    humantime::parse_duration(text).map_err(|e| e.to_string())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "sim=info".into()),
        )
        .init();
    let args = Args::parse();
    let listen = args.listen;
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let advertised = match args.advertise {
        Some(addr) => addr,
        None => listener.local_addr()?,
    };
    let sim = Sim::new(args.options(), advertised);
    let base = sim.base_url();
    println!(
        "TikTok simulator on {base} — use TIKTOK_API_BASE={base} TIKTOK_ACCESS_TOKEN={}",
        sim.access_token()
    );
    println!(
        "  or, to connect with OAuth: TIKTOK_API_BASE={base} TIKTOK_AUTH_BASE={base} TIKTOK_CLIENT_KEY={} TIKTOK_CLIENT_SECRET={}",
        sim.client_key(),
        sim.client_secret()
    );
    let ctrl_c = async {
        // If the handler cannot be installed, serve until killed.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    sim::serve(listener, sim, ctrl_c).await;
    Ok(())
}
