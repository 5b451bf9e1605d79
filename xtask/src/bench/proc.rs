//! What `/proc` says about a process: resident memory now and at its peak, CPU time, process
//! group and command line — and a thread that samples it while something else runs.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Clock ticks per second of `/proc/PID/stat`'s CPU times (USER_HZ, 100 on Linux).
const TICKS_PER_SEC: f64 = 100.0;

/// A `kB` field of `/proc/PID/status` (`VmRSS`, `VmHWM`), in bytes.
pub fn status_bytes(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|line| {
        let value = line.strip_prefix(field)?.strip_prefix(':')?;
        let kb: u64 = value.trim().trim_end_matches("kB").trim().parse().ok()?;
        Some(kb * 1024)
    })
}

/// User plus system CPU time of a process so far, in seconds.
pub fn cpu_secs(pid: u32) -> Option<f64> {
    let fields = stat_fields(pid)?;
    // After the command name: state is field 3, utime field 14, stime field 15 (1-based).
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / TICKS_PER_SEC)
}

/// Every process of process group `pgid` but its leader, with its command line.
pub fn group_members(pgid: u32) -> Vec<(u32, String)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != pgid)
        .filter(|&pid| {
            stat_fields(pid)
                .and_then(|fields| fields.get(2)?.parse::<u32>().ok())
                .is_some_and(|group| group == pgid)
        })
        .map(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            (pid, String::from_utf8_lossy(&cmdline).replace('\0', " "))
        })
        .collect()
}

/// The fields of `/proc/PID/stat` after `(comm)`, starting with the state.
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    Some(after.split_whitespace().map(str::to_owned).collect())
}

/// Samples something every `interval` on its own thread until stopped.
pub struct Sampler<T> {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Vec<T>>,
}

impl<T: Send + 'static> Sampler<T> {
    pub fn start(interval: Duration, mut sample: impl FnMut() -> T + Send + 'static) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut samples = Vec::new();
            while !stopped.load(Ordering::Relaxed) {
                samples.push(sample());
                std::thread::sleep(interval);
            }
            samples.push(sample());
            samples
        });
        Self { stop, thread }
    }

    /// Stops sampling and returns every sample, the last one taken on stopping.
    pub fn stop(self) -> Vec<T> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("a sampler does not panic")
    }
}
