//! The HTTP server loop: HTTP/1.1 with time limits on slow clients and a cap on the
//! connections one client address may hold, so that half-sent requests cannot exhaust the
//! server (`/healthz` keeps answering).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferrodesk_app::App;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

/// Limits on what one client may hold of the server.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Time to send a request's line and headers, and how long an idle keep-alive connection
    /// stays open waiting for the next request.
    pub header_read: Duration,
    /// Longest pause while the client sends a request body.
    pub body_read: Duration,
    /// Open connections one client address may hold; further ones are closed at once.
    pub connections_per_address: usize,
    /// Request rate limits.
    pub rates: crate::ratelimit::Rates,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read: Duration::from_secs(10),
            body_read: Duration::from_secs(30),
            connections_per_address: 256,
            rates: crate::ratelimit::Rates::default(),
        }
    }
}

/// Open connections per client address.
#[derive(Default)]
struct Connections(Mutex<HashMap<IpAddr, usize>>);

/// One admitted connection; gives its place back when dropped.
struct Admitted {
    table: Arc<Connections>,
    ip: IpAddr,
}

impl Connections {
    fn admit(self: &Arc<Self>, ip: IpAddr, cap: usize) -> Option<Admitted> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let n = map.entry(ip).or_default();
        if *n >= cap {
            return None;
        }
        *n += 1;
        Some(Admitted {
            table: self.clone(),
            ip,
        })
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut map = self.table.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = map.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

/// Serves `app` on `listener` with `limits` until `shutdown` completes; then stops accepting
/// and lets open requests finish.
pub async fn serve_with_limits(
    listener: TcpListener,
    app: App,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let router = crate::router_with(app, limits.rates);
    let table = Arc::new(Connections::default());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read)
        .keep_alive(true);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer): (_, SocketAddr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little instead of spinning.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(admitted) = table.admit(peer.ip(), limits.connections_per_address) else {
            tracing::warn!(client = %peer.ip(), "too many connections from one address; closing");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let client = crate::ratelimit::ClientAddr(peer.ip());
        let service = TowerToHyperService::new(
            tower::ServiceBuilder::new()
                .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
                    limits.body_read,
                ))
                .map_request(move |mut req: axum::http::Request<_>| {
                    req.extensions_mut().insert(client);
                    // The settings page shows the limits in words.
                    req.extensions_mut().insert(limits);
                    req
                })
                .service(router.clone()),
        );
        let conn = builder.serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(admitted);
        });
    }
    drop(listener);
    // Open requests get a while to finish; idle connections close at once.
    tokio::select! {
        () = graceful.shutdown() => {},
        () = tokio::time::sleep(Duration::from_secs(30)) => {},
    }
    Ok(())
}
