//! `cargo xtask demo`: builds the app and serves it from the proxy, which talks to the TikTok
//! simulator instead of TikTok, so a new user can post a real video without a TikTok account.

use anyhow::{Context, Result};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

/// Options of `cargo xtask demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The port of the page (the proxy); 0 picks a free one.
    #[arg(long, default_value_t = 8787)]
    pub port: u16,
    /// Seconds TikTok "processes" a video after the last chunk.
    #[arg(long, default_value_t = 3)]
    pub processing_secs: u64,
    /// Skip rebuilding the app (use the dist/ already there).
    #[arg(long)]
    pub no_build: bool,
    /// Start connected with a fixed access token, instead of disconnected with a "Connect
    /// TikTok" button that runs the simulator's sign-in.
    #[arg(long)]
    pub connected: bool,
    /// Lifetime of the access tokens the simulator issues, in seconds: short ones show the proxy
    /// refreshing them by itself.
    #[arg(long, default_value_t = 120)]
    pub token_ttl_secs: u64,
}

pub fn run(args: Args) -> Result<()> {
    if !args.no_build {
        let tools = crate::tools::ensure_build()?;
        crate::dist::build(&tools)?;
    }
    let dist = crate::dist::dir();
    anyhow::ensure!(
        dist.join("index.html").is_file(),
        "{} has no built app; run without --no-build",
        dist.display()
    );
    let state_dir = crate::test::root().join("target").join("demo");
    std::fs::create_dir_all(&state_dir)?;

    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let sim = sim::spawn(sim::SimOptions {
            processing_delay: Duration::from_secs(args.processing_secs),
            access_token_ttl: Duration::from_secs(args.token_ttl_secs),
            ..sim::SimOptions::default()
        })
        .await
        .context("starting the TikTok simulator")?;
        let listener =
            tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, args.port)))
                .await
                .with_context(|| {
                    format!("port {} is taken; pass --port 0 for a free one", args.port)
                })?;
        let url = format!("http://{}/", listener.local_addr()?);
        let token_file = state_dir.join("tokens.json");
        // Every demo starts from scratch: the simulator does not know last run's tokens.
        let _ = std::fs::remove_file(&token_file);
        let oauth = (!args.connected).then(|| proxy::OAuthConfig {
            redirect_uri: format!("{url}auth/callback"),
            auth_base: sim.base_url(),
            token_file,
            ..proxy::OAuthConfig::new(sim.client_key(), proxy::Secret::new(sim.client_secret()))
        });
        let config = proxy::Config {
            listen: listener.local_addr()?,
            api_base: sim.base_url(),
            access_token: args.connected.then(|| proxy::Secret::new(sim.access_token())),
            oauth,
            log_path: state_dir.join("posts.jsonl"),
            // Videos sent to POST /api/upload are spooled here, not in the working directory.
            uploads_dir: state_dir.join("uploads"),
            static_dir: Some(dist),
            ..proxy::Config::default()
        };
        println!();
        println!("  TikTok simulator  {}", sim.base_url());
        println!("  Post history      {}", config.log_path.display());
        println!();
        println!("  Open the uploader: {url}");
        if !args.connected {
            println!("  It starts disconnected: click \"Connect TikTok\" (the simulator's sign-in agrees at once).");
        }
        println!();
        println!("  Press Ctrl-C to stop.");
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        proxy::run(listener, config, shutdown).await?;
        sim.shutdown();
        Ok(())
    })
}
