//! A slow, far-away link on one machine, for the tests and the bench of issue 13: what sits
//! behind it (the simulator: TikTok's API and upload host) is reached at a limited rate and
//! across a round trip, the way a creator on a home uplink reaches TikTok.
//!
//! - **Rate**: the far side lives in its own network namespace, joined to this one by a veth
//!   pair with a `tbf` queueing discipline on each end. The kernel paces every byte, so TCP
//!   sees a real bottleneck (queueing, window growth) rather than a sleep.
//! - **Round trip**: this kernel has no `netem`, so a [`DelayRelay`] on 127.0.0.1 holds every
//!   byte for half the round trip in each direction before passing it on to the far side. Its
//!   socket buffers and what it holds are sized in time at the line rate (200 ms, and twice half the
//!   round trip), so a sender sees its bytes taken at about the pace the link carries them, as
//!   on a real uplink — not megabytes ahead at loopback speed. The relay sits on 127.0.0.1, so
//!   the proxy may call it over plain http (it refuses cleartext beyond loopback).
//!
//! ```text
//!  browser / proxy / curl ──► DelayRelay (127.0.0.1, +rtt/2 each way) ──► veth + tbf ──► sim
//!                                                                          (namespace)
//! ```
//!
//! Making a namespace needs root and the `tbf` qdisc; [`ShapedLink::new`] says plainly which is
//! missing rather than letting a test pass on an unshaped link.

use anyhow::{Context, Result, bail};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;

/// What the link is like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkSpec {
    /// Bits per second, in each direction.
    pub rate_bits_per_sec: u64,
    /// The round trip the relay adds: half of it on the way there, half on the way back.
    pub round_trip: Duration,
}

impl LinkSpec {
    /// `mbit` megabits per second with `rtt_ms` of round trip.
    pub fn mbit(mbit: u64, rtt_ms: u64) -> Self {
        Self {
            rate_bits_per_sec: mbit * 1_000_000,
            round_trip: Duration::from_millis(rtt_ms),
        }
    }

    /// `kbit` kilobits per second with `rtt_ms` of round trip.
    pub fn kbit(kbit: u64, rtt_ms: u64) -> Self {
        Self {
            rate_bits_per_sec: kbit * 1_000,
            round_trip: Duration::from_millis(rtt_ms),
        }
    }

    /// The fastest `bytes` can cross this link one way: the bytes at the line rate.
    pub fn transfer_time(&self, bytes: u64) -> Duration {
        Duration::from_secs_f64(bytes as f64 * 8.0 / self.rate_bits_per_sec as f64)
    }

    fn bytes_per_sec(&self) -> u64 {
        self.rate_bits_per_sec / 8
    }

    /// `time` of traffic at the line rate, in bytes, and never less than 128 KiB.
    fn bytes_in(&self, time: Duration) -> usize {
        ((self.bytes_per_sec() as f64 * time.as_secs_f64()) as usize).max(128 * 1024)
    }

    /// What the relay may hold per direction: twice the bytes in flight over half the round
    /// trip, so the relay keeps the link busy even when a busy machine schedules it late, but is
    /// never a reservoir.
    fn relay_budget(&self) -> usize {
        self.bytes_in(self.round_trip)
    }

    /// The relay's socket buffers: 200 ms at the line rate each (twice the `tbf` queue).
    /// Fixed sizes turn off the kernel's autotuning, which on loopback would grow them to
    /// megabytes: a sender would then see its bytes taken long before the link carried them —
    /// a browser's upload progress would run seconds ahead of the wire and its stall timeout
    /// fire while the link is still busy with the chunk.
    fn socket_buffer(&self) -> usize {
        self.bytes_in(Duration::from_millis(200))
    }
}

/// The namespace names this module makes: `aplink<N>`, its addresses `10.211.N.0/24`.
const NAMESPACE_PREFIX: &str = "aplink";
/// Where a namespace's owner is written, so a run killed half-way is cleaned up by the next.
const OWNER_DIR: &str = "/run/aplink";

/// A namespace behind a shaped veth pair; removed (with both veth ends) when dropped.
#[derive(Debug)]
pub struct ShapedLink {
    spec: LinkSpec,
    index: u8,
    namespace: String,
}

impl ShapedLink {
    /// Makes the namespace, the veth pair and the `tbf` on both ends. Fails with a sentence a
    /// person can act on when this machine cannot shape links (not root, no `ip`/`tc`, no
    /// `tbf`).
    pub fn new(spec: LinkSpec) -> Result<Self> {
        preflight()?;
        let link = claim_namespace(spec)?;
        link.configure()
            .with_context(|| format!("setting up the shaped link {}", link.namespace))?;
        Ok(link)
    }

    pub fn spec(&self) -> LinkSpec {
        self.spec
    }

    /// The namespace's name, for `ip netns exec` (the bench runs the sim binary there).
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The far side's address, inside the namespace.
    pub fn far_ip(&self) -> Ipv4Addr {
        Ipv4Addr::new(10, 211, self.index, 1)
    }

    fn near_ip(&self) -> Ipv4Addr {
        Ipv4Addr::new(10, 211, self.index, 2)
    }

    fn near_dev(&self) -> String {
        format!("apl{}n", self.index)
    }

    fn far_dev(&self) -> String {
        format!("apl{}f", self.index)
    }

    /// A listener on the far side, on a free port: sockets keep the namespace they were made
    /// in, so one thread enters the namespace, binds, and ends; the listener then serves from
    /// any task of this process.
    pub fn bind_far(&self) -> Result<TcpListener> {
        let path = PathBuf::from("/run/netns").join(&self.namespace);
        let namespace =
            std::fs::File::open(&path).with_context(|| format!("opening {}", path.display()))?;
        let addr = SocketAddrV4::new(self.far_ip(), 0);
        let listener = std::thread::scope(|scope| {
            scope
                .spawn(|| -> Result<std::net::TcpListener> {
                    nix::sched::setns(&namespace, nix::sched::CloneFlags::CLONE_NEWNET)
                        .context("entering the link's namespace (setns)")?;
                    Ok(std::net::TcpListener::bind(addr)?)
                })
                .join()
                .map_err(|_| anyhow::anyhow!("the thread binding in the namespace panicked"))?
        })?;
        listener.set_nonblocking(true)?;
        Ok(TcpListener::from_std(listener)?)
    }

    /// A relay on 127.0.0.1 that adds this link's round trip on the way to `far` (an address
    /// on the far side) and back. Connect to its `addr` to cross the whole link.
    pub async fn front(&self, far: SocketAddr) -> Result<DelayRelay> {
        DelayRelay::start(
            far,
            self.spec.round_trip / 2,
            self.spec.relay_budget(),
            self.spec.socket_buffer(),
        )
        .await
    }

    fn configure(&self) -> Result<()> {
        let ns = self.namespace.as_str();
        let (near, far) = (self.near_dev(), self.far_dev());
        // A pair left by a run killed before its drop: removing it frees the name.
        let _ = ip(&["link", "del", &near]);
        ip(&[
            "link", "add", &near, "type", "veth", "peer", "name", &far, "netns", ns,
        ])?;
        ip(&[
            "addr",
            "add",
            &format!("{}/24", self.near_ip()),
            "dev",
            &near,
        ])?;
        ip(&["link", "set", &near, "up"])?;
        ip(&[
            "-n",
            ns,
            "addr",
            "add",
            &format!("{}/24", self.far_ip()),
            "dev",
            &far,
        ])?;
        ip(&["-n", ns, "link", "set", &far, "up"])?;
        ip(&["-n", ns, "link", "set", "lo", "up"])?;
        let tbf = tbf_args(&self.spec);
        let tbf: Vec<&str> = tbf.iter().map(String::as_str).collect();
        // Towards the far side (uploads), then back from it (answers, downloads).
        tc(&[&["qdisc", "add", "dev", &near, "root"], tbf.as_slice()].concat())?;
        tc(&[
            &["-n", ns, "qdisc", "add", "dev", &far, "root"],
            tbf.as_slice(),
        ]
        .concat())?;
        Ok(())
    }
}

impl Drop for ShapedLink {
    fn drop(&mut self) {
        // Deleting one veth end deletes both, with their qdiscs, at once; the namespace's own
        // teardown happens later in the kernel, and would leave the name taken meanwhile.
        let _ = ip(&["link", "del", &self.near_dev()]);
        let _ = ip(&["netns", "del", &self.namespace]);
        let _ = std::fs::remove_file(owner_file(self.index));
    }
}

/// `tbf` at the link's rate: a burst of 20 ms of traffic (at least a few full packets), and a
/// queue of 100 ms before the kernel drops — a home router's, roughly.
fn tbf_args(spec: &LinkSpec) -> Vec<String> {
    let burst = (spec.bytes_per_sec() / 50).max(16 * 1024);
    vec![
        "tbf".into(),
        "rate".into(),
        format!("{}bit", spec.rate_bits_per_sec),
        "burst".into(),
        burst.to_string(),
        "latency".into(),
        "100ms".into(),
    ]
}

/// Whether this machine can shape links at all, as a sentence when it cannot.
fn preflight() -> Result<()> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let uid = status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .unwrap_or("?");
    if uid != "0" {
        bail!(
            "the link shaper needs root (it makes a network namespace, a veth pair and tbf \
             queues); this process runs as uid {uid}. Run the slow-link tests and the bench as \
             root."
        );
    }
    for tool in ["ip", "tc"] {
        if Command::new(tool).arg("-V").output().is_err() {
            bail!(
                "the link shaper needs `{tool}` (Debian package iproute2): apt-get install -y iproute2"
            );
        }
    }
    Ok(())
}

/// Claims the first free `aplink<N>`: `ip netns add` fails for a name that exists, so two runs
/// never share one. A namespace whose owner process is gone is left over from a killed run and
/// is removed first.
fn claim_namespace(spec: LinkSpec) -> Result<ShapedLink> {
    std::fs::create_dir_all(OWNER_DIR)?;
    for index in 1..=250u8 {
        let namespace = format!("{NAMESPACE_PREFIX}{index}");
        if std::path::Path::new("/run/netns").join(&namespace).exists() {
            if owner_alive(index) {
                continue;
            }
            let _ = ip(&["netns", "del", &namespace]);
        }
        if ip(&["netns", "add", &namespace]).is_err() {
            continue;
        }
        std::fs::write(owner_file(index), std::process::id().to_string())?;
        let link = ShapedLink {
            spec,
            index,
            namespace,
        };
        // Refuse clearly when the kernel cannot pace: try tbf on the namespace's loopback.
        if let Err(error) = tc(&[
            "-n",
            &link.namespace,
            "qdisc",
            "add",
            "dev",
            "lo",
            "root",
            "tbf",
            "rate",
            "1mbit",
            "burst",
            "32kb",
            "latency",
            "50ms",
        ]) {
            bail!(
                "the link shaper needs the kernel's tbf queueing discipline (sch_tbf): {error:#}"
            );
        }
        tc(&["-n", &link.namespace, "qdisc", "del", "dev", "lo", "root"])?;
        return Ok(link);
    }
    bail!("no free aplink namespace among 250: `ip netns list` shows what holds them")
}

fn owner_file(index: u8) -> PathBuf {
    PathBuf::from(OWNER_DIR).join(index.to_string())
}

/// Whether namespace `index` may still be in use: its owner runs, or no owner is written yet
/// (another run is between `ip netns add` and writing it).
fn owner_alive(index: u8) -> bool {
    match std::fs::read_to_string(owner_file(index)) {
        Ok(pid) => pid
            .trim()
            .parse::<u32>()
            .is_ok_and(|pid| PathBuf::from(format!("/proc/{pid}")).exists()),
        Err(_) => true,
    }
}

fn ip(args: &[&str]) -> Result<()> {
    run("ip", args)
}

fn tc(args: &[&str]) -> Result<()> {
    run("tc", args)
}

fn run(program: &str, args: &[&str]) -> Result<()> {
    let output = Command::new(program)
        .args(args)
        .output()
        .with_context(|| format!("running {program}"))?;
    if !output.status.success() {
        bail!(
            "`{program} {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// A TCP relay on 127.0.0.1 holding every byte for `delay` in each direction: the round trip
/// this kernel cannot add (no `netem`). It holds at most `budget` bytes per direction, so a far
/// side that stops reading stops the sender too, as a real link would. Stops when dropped.
#[derive(Debug)]
pub struct DelayRelay {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

/// How much one read takes at most.
const PIECE: usize = 64 * 1024;

impl DelayRelay {
    /// Listens on 127.0.0.1; `buffer` is the socket buffer size on both of its sides.
    pub async fn start(
        far: SocketAddr,
        delay: Duration,
        budget: usize,
        buffer: usize,
    ) -> Result<Self> {
        let socket = TcpSocket::new_v4()?;
        // Set before listening, so every accepted connection has it from its first byte.
        socket.set_recv_buffer_size(buffer as u32)?;
        socket.bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
        let listener = socket.listen(64)?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((near, _)) = listener.accept().await {
                connections.spawn(async move {
                    let onward = TcpSocket::new_v4().and_then(|socket| {
                        socket.set_send_buffer_size(buffer as u32)?;
                        Ok(socket)
                    });
                    let Ok(far) = (match onward {
                        Ok(socket) => socket.connect(far).await,
                        Err(error) => Err(error),
                    }) else {
                        return;
                    };
                    let _ = near.set_nodelay(true);
                    let _ = far.set_nodelay(true);
                    let (near_read, near_write) = near.into_split();
                    let (far_read, far_write) = far.into_split();
                    tokio::join!(
                        pump(near_read, far_write, delay, budget),
                        pump(far_read, near_write, delay, budget),
                    );
                });
                // Reap finished connections so a long run does not pile them up.
                while connections.try_join_next().is_some() {}
            }
        });
        Ok(Self { addr, task })
    }
}

impl Drop for DelayRelay {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts every connection.
        self.task.abort();
    }
}

/// One direction: what is read now is written `delay` later, in order. The end of the stream
/// is delayed like data, then passed on as a half-close.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    delay: Duration,
    budget: usize,
) {
    let held = Arc::new(Semaphore::new(budget));
    let piece_len = PIECE.min(budget);
    // Pieces are bounded by the byte budget; the count only needs to be larger than it allows.
    let (tx, mut rx) = mpsc::unbounded_channel::<(Instant, Option<Vec<u8>>)>();
    let reader = {
        let held = held.clone();
        async move {
            loop {
                let Ok(mut permit) = held.clone().acquire_many_owned(piece_len as u32).await else {
                    return;
                };
                let mut piece = vec![0; piece_len];
                let read = from.read(&mut piece).await.unwrap_or(0);
                let due = Instant::now() + delay;
                if read == 0 {
                    let _ = tx.send((due, None));
                    return;
                }
                piece.truncate(read);
                // Give back what the piece does not use; the rest returns once it is written.
                drop(permit.split(piece_len - read));
                permit.forget();
                if tx.send((due, Some(piece))).is_err() {
                    return;
                }
            }
        }
    };
    let writer = async move {
        while let Some((due, piece)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            let Some(piece) = piece else {
                let _ = to.shutdown().await;
                return;
            };
            if to.write_all(&piece).await.is_err() {
                // The far end is gone: stop reading too.
                held.close();
                return;
            }
            held.add_permits(piece.len());
        }
    };
    tokio::join!(reader, writer);
}
