//! Requests another page makes the operator's browser send, refused: every request that
//! changes something, and the events socket, must come from the remote's own page (`Origin`),
//! name this machine (`Host`: a page whose name was rebound to this address names its own),
//! and carry JSON (a form or `text/plain` needs no permission to be sent cross-site). Every
//! answer also tells the browser not to show the page in a frame, nor run any script but the
//! remote's own files.

use super::Shared;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::IpAddr;
use std::sync::Arc;

/// The pages' scripts and styles are served files of their own (no inline ones), and the page
/// only talks to where it came from.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
    form-action 'self'; object-src 'none'";

/// This machine's name, for `Host`: a phone may open `http://<hostname>:8080/`.
pub fn hostname() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let name = name.trim().to_ascii_lowercase();
    (!name.is_empty()).then_some(name)
}

/// Whether `host` (a `Host` header: a name or address, maybe with a port) names this
/// machine: an IP address, localhost, its hostname or a `.local` (mDNS) name. Any other
/// name is one an attacker's DNS could point here.
pub(super) fn names_this_machine(host: &str, hostname: Option<&str>) -> bool {
    let name = match host.strip_prefix('[') {
        Some(v6) => {
            return v6
                .split_once(']')
                .is_some_and(|(a, _)| a.parse::<IpAddr>().is_ok());
        }
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name.parse::<IpAddr>().is_ok()
        || name == "localhost"
        || name.ends_with(".local")
        || hostname.is_some_and(|h| h == name)
}

/// Whether an `Origin` header names the same place as `host`, over HTTP or HTTPS.
fn same_origin(origin: &str, host: &str) -> bool {
    origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .is_some_and(|o| o.eq_ignore_ascii_case(host))
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"))
}

/// Why a request is not the page's own, if it is not.
fn forged(
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    hostname: Option<&str>,
) -> Option<Response> {
    let changes = !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    if !changes && path != "/api/events" {
        return None;
    }
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let host = text(header::HOST).unwrap_or_default();
    if !names_this_machine(host, hostname) {
        return Some(super::api::problem(
            StatusCode::FORBIDDEN,
            "denied",
            format!(
                "Host {host:?} is not this machine: open the remote by its IP address, localhost, its hostname or a .local name"
            ),
        ));
    }
    if let Some(origin) = text(header::ORIGIN)
        && !same_origin(origin, host)
    {
        return Some(super::api::problem(
            StatusCode::FORBIDDEN,
            "denied",
            format!("a request from another page ({origin}) is refused"),
        ));
    }
    if changes && !is_json(headers) {
        return Some(super::api::problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "error",
            "send Content-Type: application/json",
        ));
    }
    None
}

/// The middleware: refuses forged requests, and marks every answer.
pub async fn check(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let refused = forged(
        request.method(),
        request.uri().path(),
        request.headers(),
        shared.hostname.as_deref(),
    );
    let mut response = match refused {
        Some(r) => r,
        None => next.run(request).await,
    };
    let headers = response.headers_mut();
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_that_name_this_machine() {
        let me = Some("showlaptop");
        for host in [
            "192.168.1.20:8080",
            "127.0.0.1",
            "[::1]:8080",
            "[fe80::1]",
            "localhost:8080",
            "ShowLaptop:8080",
            "showlaptop.local:8080",
            "other.local.",
        ] {
            assert!(names_this_machine(host, me), "{host}");
        }
        for host in [
            "evil.example:8080",
            "",
            "[::1",
            "showlaptop.evil.example",
            "1.2.3.4.nip.io",
        ] {
            assert!(!names_this_machine(host, me), "{host}");
        }
    }

    #[test]
    fn origins() {
        assert!(same_origin("http://192.168.1.20:8080", "192.168.1.20:8080"));
        assert!(same_origin("https://Laptop.local", "laptop.local"));
        assert!(!same_origin("http://evil.example", "192.168.1.20:8080"));
        assert!(!same_origin("null", "192.168.1.20:8080"));
        assert!(!same_origin(
            "http://192.168.1.20:8081",
            "192.168.1.20:8080"
        ));
    }

    #[test]
    fn json_content_types() {
        let mut h = HeaderMap::new();
        assert!(!is_json(&h));
        h.insert(header::CONTENT_TYPE, "text/plain".parse().unwrap());
        assert!(!is_json(&h));
        h.insert(
            header::CONTENT_TYPE,
            "application/json; charset=utf-8".parse().unwrap(),
        );
        assert!(is_json(&h));
    }
}
