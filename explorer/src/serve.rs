//! Serving a router over TCP with the limits an endpoint open to hostile
//! clients needs, for the explorer and the node's local endpoint alike:
//!
//! - at most `max_connections` connections at once; past that, new ones
//!   wait in the kernel's backlog until one closes (the process never runs
//!   out of file descriptors, so the endpoint stays up);
//! - a connection that has not sent a whole request head within
//!   `header_timeout` (a slow or idle client) is closed;
//! - a request whose body or handling takes longer than the router's own
//!   timeout is answered 408 (see [`harden`]).
//!
//! axum's own `serve` sets no timer, so hyper's header-read timeout never
//! fires and an idle connection is held for ever; hence this accept loop.

use crate::error::ApiError;
use axum::body::Body;
use axum::http::{header, HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tower::{Service, ServiceExt};

/// Connection limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
    pub header_timeout: Duration,
}

impl Limits {
    /// `max` connections, bounded by a quarter of the process's file limit
    /// (the rest is the store's, the peers' and the other endpoints').
    pub fn new(max: usize, header_timeout: Duration) -> Limits {
        Limits {
            max_connections: max.min(fd_limit() / 4).max(8),
            header_timeout,
        }
    }
}

/// The process's soft limit on open files, raised to its hard limit first
/// where the system allows it (a node holds a store, peers and clients).
pub fn fd_limit() -> usize {
    // SAFETY: getrlimit/setrlimit write/read only the struct we pass.
    unsafe {
        let mut l = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) != 0 {
            return 1024;
        }
        if l.rlim_cur < l.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: l.rlim_max,
                rlim_max: l.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                l.rlim_cur = l.rlim_max;
            }
        }
        usize::try_from(l.rlim_cur).unwrap_or(usize::MAX)
    }
}

/// Serves `app` on `listener` within `limits` until `shutdown` resolves,
/// then lets open connections finish (for up to 5 s). Handlers see the
/// peer address as `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let permits = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let mut make = app.into_make_service_with_connect_info::<SocketAddr>();
    // HTTP/1.1 only: the automatic HTTP/2 detection reads the first bytes
    // with no timeout at all, so an idle client would hold its slot.
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, addr) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of descriptors or a reset before accept: back off.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(router) = make.call(addr).await;
        let service = TowerToHyperService::new(
            router.map_request(|r: Request<hyper::body::Incoming>| r.map(Body::new)),
        );
        let conn = builder.serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = conn.await;
            drop(permit);
        });
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), graceful.shutdown()).await;
    Ok(())
}

/// The request timeout (answered 408), `{code, message}` JSON for the
/// errors layers and the router make themselves (404, 405, 408, 413, …),
/// and `nosniff`: what every endpoint of ours wraps its routes in.
pub fn harden(app: Router, timeout: Duration) -> Router {
    app.layer(tower_http::timeout::TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        timeout,
    ))
    .layer(axum::middleware::map_response(json_errors))
    .layer(
        tower_http::set_header::SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
    )
}

/// Errors made by layers (a timeout, say) come without a body: give them
/// the API's `{code, message}` form too.
pub async fn json_errors(r: Response) -> Response {
    let s = r.status();
    let is_json = r
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(s.is_client_error() || s.is_server_error()) || is_json {
        return r;
    }
    let (code, message) = match s {
        StatusCode::REQUEST_TIMEOUT => ("request.timeout", "the request took too long"),
        StatusCode::PAYLOAD_TOO_LARGE => ("request.too_large", "the body is too large"),
        StatusCode::NOT_FOUND => ("request.not_found", "no such path"),
        StatusCode::METHOD_NOT_ALLOWED => ("request.method_not_allowed", "method not allowed"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "request.media_type",
            "the body's content type is not one this route takes",
        ),
        s if s.is_server_error() => ("server.error", "the server could not answer"),
        _ => ("request.bad", "the request was not understood"),
    };
    ApiError::new(s, code, message).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::{get, post};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    async fn start(limits: Limits, timeout: Duration) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new().route("/", get(|| async { "ok" })).route(
            "/upload",
            post(|b: axum::body::Bytes| async move { b.len().to_string() }),
        );
        let app = harden(app, timeout);
        tokio::spawn(serve(listener, app, limits, std::future::pending()));
        addr
    }

    async fn read_all(s: &mut TcpStream, within: Duration) -> String {
        let mut buf = Vec::new();
        let _ = tokio::time::timeout(within, s.read_to_end(&mut buf)).await;
        String::from_utf8_lossy(&buf).to_string()
    }

    /// Idle connections beyond the limit do not lock clients out: they are
    /// closed after the header timeout, and a waiting client is served.
    #[tokio::test]
    async fn idle_connections_are_dropped_and_the_limit_holds() {
        let limits = Limits {
            max_connections: 4,
            header_timeout: Duration::from_millis(300),
        };
        let addr = start(limits, Duration::from_secs(5)).await;
        let mut idle = Vec::new();
        for _ in 0..4 {
            idle.push(TcpStream::connect(addr).await.unwrap());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        let t = std::time::Instant::now();
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let answer = read_all(&mut s, Duration::from_secs(5)).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        // It waited for a slot: the idle ones were closed at the timeout.
        assert!(
            t.elapsed() >= Duration::from_millis(200),
            "{:?}",
            t.elapsed()
        );
        for mut c in idle {
            let mut b = [0u8; 1];
            let n = tokio::time::timeout(Duration::from_secs(2), c.read(&mut b))
                .await
                .expect("an idle connection is closed")
                .unwrap_or(0);
            assert_eq!(n, 0);
        }
    }

    /// A body sent a byte at a time is cut off at the request timeout with
    /// a JSON 408.
    #[tokio::test]
    async fn a_slow_body_gets_408_json() {
        let limits = Limits {
            max_connections: 8,
            header_timeout: Duration::from_secs(5),
        };
        let addr = start(limits, Duration::from_millis(400)).await;
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        s.write_all(b"abc").await.unwrap();
        let t = std::time::Instant::now();
        let answer = read_all(&mut s, Duration::from_secs(5)).await;
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains("\"code\":\"request.timeout\""), "{answer}");
        assert!(t.elapsed() < Duration::from_secs(3));
    }
}
