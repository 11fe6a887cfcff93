//! Polling a URL for JSON: the request, redirects followed by hand (so a credential never
//! leaves its host), size and time limits, and faults named for a person.

use super::*;

pub(super) struct AuthHeader {
    name: HeaderName,
    /// Marked sensitive, so even a Debug print of it shows no value.
    value: HeaderValue,
}

pub(super) fn run_http(src: HttpSource, mut report: Reporter, stop: Stop) {
    let header = match src.header.as_ref().map(auth_header).transpose() {
        Ok(h) => h,
        // Without the credential every request would be refused; better said once.
        Err(detail) => return report.fault(FaultKind::MissingEnv, detail),
    };
    if let Err(detail) = check_url(&src.url) {
        return report.fault(FaultKind::Connect, detail);
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        // Status codes and redirects are ours to judge: see `fetch`.
        .http_status_as_error(false)
        .max_redirects(0)
        .user_agent(concat!("candela/", env!("CARGO_PKG_VERSION")))
        .accept("application/json")
        .build()
        .into();
    let mut failures: u32 = 0;
    loop {
        if stop.is_set() {
            return;
        }
        match fetch(&agent, &src, header.as_ref()) {
            Ok(v) => {
                failures = 0;
                report.value(v);
            }
            Err((kind, detail)) => {
                failures = failures.saturating_add(1);
                report.fault(kind, detail);
            }
        }
        if stop.sleep(backoff(src.interval, failures)) {
            return;
        }
    }
}

pub(super) fn auth_header(h: &Header) -> Result<AuthHeader, String> {
    let name = HeaderName::from_bytes(h.name.as_bytes())
        .map_err(|_| format!("{:?} is not a valid HTTP header name", h.name))?;
    // std::env::var may misbehave on such names on some platforms.
    if h.env.is_empty() || h.env.contains(['=', '\0']) {
        return Err(format!(
            "{:?} is not a valid environment variable name",
            h.env
        ));
    }
    let raw = match std::env::var(&h.env) {
        Ok(v) => v,
        Err(std::env::VarError::NotPresent) => {
            return Err(format!(
                "environment variable {} (for header {}) is not set",
                h.env, h.name
            ));
        }
        Err(std::env::VarError::NotUnicode(_)) => {
            return Err(format!(
                "environment variable {} (for header {}) is not valid UTF-8",
                h.env, h.name
            ));
        }
    };
    if raw.trim().is_empty() {
        return Err(format!(
            "environment variable {} (for header {}) is empty",
            h.env, h.name
        ));
    }
    let mut value = HeaderValue::from_str(raw.trim()).map_err(|_| {
        format!(
            "environment variable {} holds characters not allowed in header {}",
            h.env, h.name
        )
    })?;
    value.set_sensitive(true);
    Ok(AuthHeader { name, value })
}

pub(super) fn check_url(url: &str) -> Result<(), String> {
    let shown = redact_url(url);
    let uri: Uri = url
        .parse()
        .map_err(|e| format!("{shown} is not a valid URL: {e}"))?;
    match uri.scheme_str().map(str::to_ascii_lowercase).as_deref() {
        Some("http" | "https") => {}
        _ => return Err(format!("{shown}: only http:// and https:// URLs are read")),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(format!("{shown} has no host"));
    }
    Ok(())
}

/// One reading: the request, redirects followed by hand, the body, the number in it.
///
/// Redirects are followed here rather than by ureq because ureq forwards every header but
/// Authorization to wherever a redirect points, and the token header may have any name.
pub(super) fn fetch(
    agent: &ureq::Agent,
    src: &HttpSource,
    header: Option<&AuthHeader>,
) -> Result<u64, (FaultKind, String)> {
    let start = Instant::now();
    let timed_out = || {
        (
            FaultKind::Timeout,
            format!("no complete answer within {} ms", src.timeout.as_millis()),
        )
    };
    let mut url = src.url.clone();
    let mut send_header = true;
    for hop in 0..=MAX_REDIRECTS {
        let left = src.timeout.saturating_sub(start.elapsed());
        if left.is_zero() {
            return Err(timed_out());
        }
        let mut req = agent.get(url.as_str());
        if let (Some(h), true) = (header, send_header) {
            req = req.header(h.name.clone(), h.value.clone());
        }
        let mut resp = req
            .config()
            .timeout_global(Some(left))
            .build()
            .call()
            .map_err(|e| http_fault(e, src.timeout))?;
        let status = resp.status();
        if status.is_redirection() {
            if hop == MAX_REDIRECTS {
                return Err((
                    FaultKind::TooManyRedirects,
                    format!("more than {MAX_REDIRECTS} redirects (a redirect loop?)"),
                ));
            }
            let Some(location) = resp.headers().get(LOCATION).and_then(|l| l.to_str().ok()) else {
                return Err((
                    FaultKind::HttpStatus,
                    format!("{} without a usable Location", status_text(status)),
                ));
            };
            // A redirect nowhere we can follow is the server's answer, not a loop.
            let next = resolve_location(&url, location).map_err(|d| {
                (
                    FaultKind::HttpStatus,
                    format!("{}: {d}", status_text(status)),
                )
            })?;
            if !stays_home(&url, &next) {
                return Err((
                    FaultKind::HttpStatus,
                    format!(
                        "{} to {}, another host or port: not followed (a feed's redirects stay on its own host and port; put the final URL in the show file)",
                        status_text(status),
                        redact_url(&next)
                    ),
                ));
            }
            send_header &= may_keep_header(&url, &next);
            url = next;
            continue;
        }
        if !status.is_success() {
            return Err((FaultKind::HttpStatus, status_text(status)));
        }
        let body = resp
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()
            .map_err(|e| http_fault(e, src.timeout))?;
        return read_json(&body, &src.pointer);
    }
    // The loop returns on its last hop; this is only for the compiler.
    Err((
        FaultKind::TooManyRedirects,
        format!("more than {MAX_REDIRECTS} redirects"),
    ))
}

pub(super) fn status_text(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(r) => format!("HTTP {} {r}", status.as_u16()),
        None => format!("HTTP {}", status.as_u16()),
    }
}

/// Details are written by hand for errors whose Display would show the URL (and with it a
/// token in the query string).
pub(super) fn http_fault(e: ureq::Error, timeout: Duration) -> (FaultKind, String) {
    use ureq::Error as E;
    let timed_out = || {
        (
            FaultKind::Timeout,
            format!("no complete answer within {} ms", timeout.as_millis()),
        )
    };
    match e {
        E::Timeout(_) => timed_out(),
        E::Io(io)
            if matches!(
                io.kind(),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
            ) =>
        {
            timed_out()
        }
        E::Io(io) => (FaultKind::Connect, io.to_string()),
        E::HostNotFound => (FaultKind::Connect, "host not found".into()),
        E::ConnectionFailed => (FaultKind::Connect, "connection failed".into()),
        E::BadUri(_) | E::Http(_) => (FaultKind::Connect, "invalid URL".into()),
        E::RequireHttpsOnly(_) => (FaultKind::Connect, "https required".into()),
        E::TooManyRedirects => (
            FaultKind::TooManyRedirects,
            format!("more than {MAX_REDIRECTS} redirects"),
        ),
        E::StatusCode(code) => (FaultKind::HttpStatus, format!("HTTP {code}")),
        E::BodyExceedsLimit(_) => (
            FaultKind::NotJson,
            format!(
                "the answer is larger than {} KiB, not a small JSON document",
                MAX_BODY / 1024
            ),
        ),
        E::Decompress(..) => (
            FaultKind::NotJson,
            "the answer's compressed body is broken".into(),
        ),
        E::Protocol(p) => (FaultKind::Connect, format!("not a valid HTTP answer: {p}")),
        other => (FaultKind::Connect, other.to_string()),
    }
}

/// The URL as it may be logged: scheme://host/path, without credentials, query or fragment.
pub(super) fn redact_url(url: &str) -> String {
    let cut = |s: &str| s.split(['?', '#']).next().unwrap_or("").to_owned();
    match split_url(url) {
        Some((scheme, authority, rest)) => {
            let host = authority.rsplit('@').next().unwrap_or("");
            format!("{scheme}://{host}{}", cut(rest))
        }
        None => cut(url),
    }
}

/// (scheme, authority, path-query-fragment) of an absolute URL.
pub(super) fn split_url(url: &str) -> Option<(&str, &str, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme.is_empty()
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    {
        return None;
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some((scheme, &rest[..end], &rest[end..]))
}

/// The absolute URL a Location header points to, from the URL that answered with it
/// (RFC 3986 resolution by the `url` crate: `../`, `./`, `//host`, `?query` and all).
pub(super) fn resolve_location(base: &str, location: &str) -> Result<String, String> {
    let bad = || "a redirect to an invalid URL".to_owned();
    let next = url::Url::parse(base)
        .and_then(|base| base.join(location.trim()))
        .map_err(|_| bad())?;
    if !matches!(next.scheme(), "http" | "https") {
        return Err("a redirect to a URL that is not http:// or https://".into());
    }
    check_url(next.as_str()).map_err(|_| bad())?;
    Ok(next.into())
}

/// A redirect is followed only on the host and port the show file named (or from http to
/// https on the same host, both on their usual ports): a feed server someone took over, or a
/// captive portal, must not turn the laptop into a client of other hosts, loopback included.
pub(super) fn stays_home(from: &str, to: &str) -> bool {
    let (Ok(from), Ok(to)) = (url::Url::parse(from), url::Url::parse(to)) else {
        return false;
    };
    let upgrade = from.scheme() == "http"
        && to.scheme() == "https"
        && from.port().is_none()
        && to.port().is_none();
    from.host_str().is_some()
        && from.host_str() == to.host_str()
        && (from.port_or_known_default() == to.port_or_known_default() || upgrade)
}

/// The credential header goes only to the host it was meant for, and never from https
/// down to plain http.
pub(super) fn may_keep_header(from: &str, to: &str) -> bool {
    let (Ok(from), Ok(to)) = (url::Url::parse(from), url::Url::parse(to)) else {
        return false;
    };
    from.host_str().is_some()
        && from.host_str() == to.host_str()
        && (from.scheme() == to.scheme() || to.scheme() == "https")
}

// ---------------------------------------------------------------- files
