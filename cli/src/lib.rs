//! The `autoposter` command line: posts a video through the proxy (which alone holds the
//! TikTok token), follows and cancels jobs, shows the history, and watches a folder.
//!
//! `main.rs` only parses flags into these functions' arguments and turns the one [`Error`]
//! into an exit code; everything else is here, so the binary's tests and these modules'
//! own tests check the same code.

pub mod client;
pub mod details;
pub mod error;
pub mod print;
pub mod watch;

pub use client::{Client, DEFAULT_URL};
pub use details::{PostDetails, Privacy};
pub use error::{EXIT_CODES_HELP, Error, exit};
pub use watch::{WatchConfig, watch};
