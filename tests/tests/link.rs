//! The link shaper itself (issue 13): what crosses a [`ShapedLink`] is paced at its rate and
//! delayed by its round trip, in both directions, and the namespace is gone afterwards. Every
//! slow-link test and the bench lean on this; on a machine that cannot shape links, these fail
//! with the reason rather than pass.

use anyhow::Result;
use std::time::{Duration, Instant};
use tests::link::{LinkSpec, ShapedLink};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// An echo of sizes: reads two u64s (how many bytes follow, how many to answer), then that many
/// bytes, then writes back the answer.
async fn serve_sink(listener: tokio::net::TcpListener) {
    while let Ok((mut stream, _)) = listener.accept().await {
        tokio::spawn(async move {
            loop {
                let (Ok(len), Ok(reply)) = (stream.read_u64().await, stream.read_u64().await)
                else {
                    return;
                };
                let mut left = len;
                let mut buf = vec![0; 64 * 1024];
                while left > 0 {
                    let want = buf.len().min(left as usize);
                    let Ok(n) = stream.read(&mut buf[..want]).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    left -= n as u64;
                }
                if stream.write_all(&vec![7; reply as usize]).await.is_err() {
                    return;
                }
            }
        });
    }
}

/// Sends `len` bytes and waits for `reply` bytes back; how long that took.
async fn exchange(stream: &mut TcpStream, len: u64, reply: usize) -> Result<Duration> {
    let started = Instant::now();
    stream.write_u64(len).await?;
    stream.write_u64(reply as u64).await?;
    let block = vec![1u8; 64 * 1024];
    let mut left = len;
    while left > 0 {
        let n = block.len().min(left as usize);
        stream.write_all(&block[..n]).await?;
        left -= n as u64;
    }
    let mut back = vec![0; reply];
    stream.read_exact(&mut back).await?;
    Ok(started.elapsed())
}

#[tokio::test(flavor = "multi_thread")]
async fn paces_to_the_rate_and_adds_the_round_trip() -> Result<()> {
    let spec = LinkSpec::mbit(8, 100);
    let link = ShapedLink::new(spec)?;
    let far = link.bind_far()?;
    let far_addr = far.local_addr()?;
    assert_eq!(far_addr.ip(), link.far_ip());
    tokio::spawn(serve_sink(far));
    let relay = link.front(far_addr).await?;
    let mut stream = TcpStream::connect(relay.addr).await?;
    stream.set_nodelay(true)?;

    // A few bytes there and one back: a round trip, never less. The upper bounds hold for the
    // quickest of a few tries: a loaded machine may delay any one of them, not the shaper.
    let mut pings = Vec::new();
    for _ in 0..5 {
        pings.push(exchange(&mut stream, 8, 1).await?);
    }
    assert!(
        pings.iter().all(|ping| *ping >= spec.round_trip),
        "pings took {pings:?}"
    );
    let quickest = pings.iter().min().expect("five pings");
    assert!(*quickest < spec.round_trip * 3, "pings took {pings:?}");

    // 2 MB up at 8 Mbit/s: 2 s at the line rate, whatever the sender tries.
    let bytes = 2_000_000;
    let mut uploads = Vec::new();
    for _ in 0..2 {
        uploads.push(exchange(&mut stream, bytes, 1).await?);
    }
    let floor = spec.transfer_time(bytes);
    assert!(
        uploads.iter().all(|upload| *upload >= floor.mul_f64(0.9)),
        "2 MB up in {uploads:?}"
    );
    let quickest = uploads.iter().min().expect("two uploads");
    assert!(
        *quickest < floor * 2 + spec.round_trip,
        "2 MB up in {uploads:?}"
    );

    // And 1 MB down: the answer direction is paced too.
    let download = exchange(&mut stream, 8, 1_000_000).await?;
    let floor = spec.transfer_time(1_000_000);
    assert!(download >= floor.mul_f64(0.9), "1 MB down in {download:?}");

    let namespace = link.namespace().to_owned();
    drop(stream);
    drop(relay);
    drop(link);
    let left = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()?;
    assert!(
        !String::from_utf8_lossy(&left.stdout)
            .split_whitespace()
            .any(|name| name == namespace),
        "{namespace} removed with the link"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn two_links_at_once_get_their_own_namespaces() -> Result<()> {
    let a = ShapedLink::new(LinkSpec::mbit(50, 10))?;
    let b = ShapedLink::new(LinkSpec::mbit(50, 10))?;
    assert_ne!(a.namespace(), b.namespace());
    assert_ne!(a.far_ip(), b.far_ip());
    Ok(())
}
