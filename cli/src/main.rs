//! `autoposter`: reads flags (or their environment variables) once, runs one command against
//! the proxy, and turns its outcome into an exit code.

use autoposter::client::{is_final, is_posted};
use autoposter::print::{history_table, job_line, jobs_table, outcome};
use autoposter::{
    Client, DEFAULT_URL, EXIT_CODES_HELP, Error, PostDetails, Privacy, WatchConfig, exit,
};
use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use protocol::wire::PostMode;
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;

/// Posts videos to TikTok through the autoposter's proxy, which alone holds the TikTok
/// token; follows and cancels its jobs; shows the history; watches a folder.
#[derive(Debug, Parser)]
#[command(version, after_help = EXIT_CODES_HELP)]
struct Args {
    #[command(subcommand)]
    command: Command,

    /// The proxy's address.
    #[arg(long, env = "AUTOPOSTER_URL", default_value = DEFAULT_URL, global = true)]
    url: String,

    /// The proxy's API token (`apt_…`, from `proxy token create NAME`), sent as
    /// `Authorization: Bearer`. Needed when the proxy asks for operator access. Prefer the
    /// environment variable: flags show up in process listings.
    #[arg(long, env = "AUTOPOSTER_TOKEN", hide_env_values = true, global = true)]
    token: Option<String>,

    /// Print the proxy's JSON answer instead of text (for scripts).
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Send a video to the proxy, which posts it to TikTok as a job.
    #[command(after_help = EXIT_CODES_HELP)]
    Post {
        /// The video: MP4, MOV or WebM.
        file: PathBuf,
        #[command(flatten)]
        details: DetailFlags,
        /// Follow the job until TikTok's final word, and exit by it.
        #[arg(long)]
        wait: bool,
        /// How often --wait asks about the job.
        #[arg(long, default_value = "1s", value_name = "DURATION")]
        poll: humantime::Duration,
    },
    /// List the proxy's jobs, newest first.
    Jobs,
    /// Cancel a job that has not started posting.
    #[command(after_help = EXIT_CODES_HELP)]
    Cancel {
        /// The job's id (`job_…`).
        id: String,
    },
    /// Show the newest posts of the history (the browser's and the jobs').
    History {
        /// How many posts (1 to 200).
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Post every video dropped into a folder, once it is completely written.
    ///
    /// A video is sent when it is unchanged across one --interval, then moved with its
    /// sidecars to DIR/posted/ (with NAME.job.json: the job, publish_id and TikTok's status)
    /// or DIR/failed/ (with NAME.error.txt saying why) once TikTok's final word is in.
    /// NAME.txt beside NAME.mp4 is its caption; NAME.json holds the upload's fields (caption,
    /// privacy_level, mode, disable_comment, …, publish_at, force) and wins over the flags.
    /// Runs until Ctrl-C or SIGTERM; safe to stop and start again: nothing is posted twice.
    #[command(after_help = EXIT_CODES_HELP)]
    Watch {
        /// The folder to watch.
        dir: PathBuf,
        #[command(flatten)]
        details: DetailFlags,
        /// Time between two looks: a video is sent once it is unchanged across one.
        #[arg(long, default_value_t = autoposter::watch::DEFAULT_INTERVAL.into(), value_name = "DURATION")]
        interval: humantime::Duration,
    },
}

/// The post's details as flags; for `watch`, the defaults under each video's sidecars.
#[derive(Debug, clap::Args)]
struct DetailFlags {
    /// The caption (TikTok's title): text, #hashtags, @mentions.
    #[arg(long)]
    caption: Option<String>,
    /// Who can watch it; needed for a direct post.
    #[arg(long, value_enum)]
    privacy: Option<Privacy>,
    /// Post straight to the profile, or send it to the creator's TikTok inbox as a draft.
    #[arg(long, value_enum)]
    mode: Option<Mode>,
    /// Post later: an RFC 3339 time (2026-12-24T18:00:00+01:00) or a delay (30m, 2h).
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
    /// Post it even if this same video was sent before.
    #[arg(long)]
    force: bool,
    /// Turn comments off.
    #[arg(long)]
    no_comment: bool,
    /// Turn duets off.
    #[arg(long)]
    no_duet: bool,
    /// Turn stitches off.
    #[arg(long)]
    no_stitch: bool,
    /// Disclose a paid partnership (branded content); cannot be only-me.
    #[arg(long)]
    branded_content: bool,
    /// Disclose that it promotes your own business.
    #[arg(long)]
    your_brand: bool,
    /// Label it as AI-generated.
    #[arg(long)]
    ai_generated: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Mode {
    Direct,
    Inbox,
}

impl DetailFlags {
    fn details(&self) -> PostDetails {
        let said = |flag: bool| flag.then_some(true);
        PostDetails {
            mode: self.mode.map(|mode| match mode {
                Mode::Direct => PostMode::Direct,
                Mode::Inbox => PostMode::Inbox,
            }),
            caption: self.caption.clone(),
            privacy_level: self.privacy.map(Privacy::level),
            disable_comment: said(self.no_comment),
            disable_duet: said(self.no_duet),
            disable_stitch: said(self.no_stitch),
            brand_content_toggle: said(self.branded_content),
            brand_organic_toggle: said(self.your_brand),
            is_aigc: said(self.ai_generated),
            publish_at: self.at.clone(),
            force: said(self.force),
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::from(exit::OK),
        Err(error) => {
            eprintln!("autoposter: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}

async fn run(args: Args) -> Result<(), Error> {
    let client = Client::new(&args.url, args.token)?;
    let json = args.json;
    match args.command {
        Command::Post {
            file,
            details,
            wait,
            poll,
        } => {
            let bar = progress_bar();
            let sent = client.upload(&file, &details.details(), &bar).await;
            bar.finish_and_clear();
            let mut job = sent?;
            if !json {
                println!("{}", job_line(&job));
            }
            if wait {
                job = client
                    .follow(job, poll.into(), |job| eprintln!("{}", job_line(job)))
                    .await?;
            }
            if json {
                print_json(&job);
            } else if is_final(&job) {
                println!("{}", outcome(&job));
            } else {
                eprintln!(
                    "Follow it with `autoposter jobs`, or GET {}.",
                    job.status_url
                );
            }
            if is_final(&job) && !is_posted(&job) {
                return Err(Error::PostFailed(Box::new(job)));
            }
        }
        Command::Jobs => {
            let list = client.jobs().await?;
            if json {
                print_json(&list);
            } else {
                print!("{}", jobs_table(&list));
            }
        }
        Command::Cancel { id } => {
            let job = client.cancel(&id).await?;
            if json {
                print_json(&job);
            } else {
                println!("{}", job_line(&job));
            }
        }
        Command::History { limit } => {
            let history = client.history(limit).await?;
            if json {
                print_json(&history);
            } else {
                print!("{}", history_table(&history));
            }
        }
        Command::Watch {
            dir,
            details,
            interval,
        } => {
            let config = WatchConfig {
                dir,
                interval: interval.into(),
                defaults: details.details(),
            };
            eprintln!(
                "Watching {} (a look every {}); Ctrl-C stops.",
                config.dir.display(),
                humantime::format_duration(config.interval)
            );
            autoposter::watch(&client, &config, stop_requested()).await?;
        }
    }
    Ok(())
}

/// Completes on Ctrl-C, or on SIGTERM (what `kill`, systemd and `docker stop` send): the
/// watcher then stops between two looks and exits normally, its state file written.
async fn stop_requested() {
    #[cfg(unix)]
    if let Ok(mut terminate) =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
        return;
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// The bar shown while the video is sent: on stderr, and only when stderr is a terminal.
fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "sending [{wide_bar}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
        )
        .expect("the template is valid")
        .progress_chars("=> "),
    );
    bar
}

fn print_json(value: &impl Serialize) {
    println!(
        "{}",
        serde_json::to_string(value).expect("the proxy's answers serialise")
    );
}
