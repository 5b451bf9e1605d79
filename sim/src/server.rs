//! The accept loop: one task per connection, HTTP/1.1 through hyper, and a graceful stop.

use crate::handle::Sim;
use crate::routes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// How long to wait after a failed `accept` (such as running out of file descriptors).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Serves `sim` on `listener` until `shutdown` completes or [`Sim::shutdown`] is called. `sim`
/// must have been made with `listener`'s address (see [`Sim::new`]). Open connections are
/// closed gracefully in their own tasks; this returns as soon as accepting stops.
pub async fn serve(listener: TcpListener, sim: Sim, shutdown: impl Future<Output = ()>) {
    let mut stop = sim.shared().stop.subscribe();
    tokio::pin!(shutdown);
    tracing::info!(base_url = %sim.base_url(), "TikTok simulator serving");
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
            () = stopped(&mut stop) => break,
        };
        match accepted {
            Ok((stream, _peer)) => {
                tokio::spawn(connection(sim.clone(), stream));
            }
            Err(error) => {
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
    sim.shutdown();
    tracing::info!("TikTok simulator stopped");
}

/// Serves one connection until the client closes it or the simulator stops.
async fn connection(sim: Sim, stream: TcpStream) {
    let mut stop = sim.shared().stop.subscribe();
    let service = service_fn(move |request| routes::route(sim.clone(), request));
    let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = stopped(&mut stop) => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        tracing::debug!(%error, "connection ended with an error");
    }
}

/// Completes once the simulator is told to stop (at once if it already was).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    // An error means every sender is gone, which only happens once the simulator is dropped:
    // stopping is right then too.
    let _ = stop.wait_for(|stopped| *stopped).await;
}
