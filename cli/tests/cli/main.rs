//! The `autoposter` binary run as a script runs it, against a real proxy and simulator on
//! loopback: posting, the exit code of each kind of failure, the job and history listings,
//! and the watched folder across restarts.

mod commands;
mod support;
mod watch;
