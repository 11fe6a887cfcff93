//! The routes: the page, the show's state, commands (the OSC addresses without the prefix,
//! interpreted by the show's own [`Dialect`]), login, the preview, thumbnails and the
//! WebSocket of events.

use super::Shared;
use super::auth::{COOKIE_NAME, Level, Refusal, SESSION_LIFE};
use super::serve::OverTls;
use crate::inbox::{Incoming, Request};
use crate::osc::dialect::Meaning;
use crate::osc::packet::Message;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::ws::{self, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Extension, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use rosc::OscType;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// The largest request body: a command or a PIN is a few dozen bytes.
pub const MAX_BODY: usize = 4096;
/// WebSocket clients at once; more are told to come back later.
pub const MAX_VIEWERS: usize = 256;
/// A client that has not taken an event in this long is dropped.
const SEND_PATIENCE: Duration = Duration::from_secs(5);
/// How long a request waits for the render loop to make a picture or answer.
const SHOW_PATIENCE: Duration = Duration::from_secs(5);
/// A thumbnail older than this is drawn again (the counts on it move).
const THUMBNAIL_FRESH: Duration = Duration::from_secs(30);
/// Arguments a command may carry: a mask of 64 points, as x y pairs, with room to spare.
const MAX_ARGS: usize = 130;

const PAGE: &str = include_str!("page.html");
/// The setup view: outputs' warps, masks and blends, dragged on their pictures.
const SETUP_PAGE: &str = include_str!("setup.html");
/// What both pages share: look, login.
const COMMON_CSS: &str = include_str!("common.css");
const COMMON_JS: &str = include_str!("common.js");
/// Each page's own look and script, as files: the page's Content-Security-Policy allows no
/// inline script or style.
const PAGE_CSS: &str = include_str!("page.css");
const PAGE_JS: &str = include_str!("page.js");
const SETUP_CSS: &str = include_str!("setup.css");
const SETUP_JS: &str = include_str!("setup.js");
const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

type Addr = ConnectInfo<SocketAddr>;

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", built_in(HTML, PAGE))
        .route("/setup", built_in(HTML, SETUP_PAGE))
        .route("/common.css", built_in(CSS, COMMON_CSS))
        .route("/common.js", built_in(JS, COMMON_JS))
        .route("/page.css", built_in(CSS, PAGE_CSS))
        .route("/page.js", built_in(JS, PAGE_JS))
        .route("/setup.css", built_in(CSS, SETUP_CSS))
        .route("/setup.js", built_in(JS, SETUP_JS))
        .route("/api/state", get(state))
        .route("/api/setup", get(setup))
        .route("/api/command", post(command))
        .route("/api/login", post(login))
        .route("/api/logout", post(logout))
        .route("/api/preview.jpg", get(preview))
        .route("/api/outputs/{name}/preview.jpg", get(output_preview))
        .route("/api/slides/{id}/thumbnail.jpg", get(thumbnail))
        .route("/api/events", get(events))
        .fallback(|| async { problem(StatusCode::NOT_FOUND, "error", "no such page") })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            super::forgery::check,
        ))
        .with_state(shared)
}

/// A JSON answer saying what went wrong.
pub(super) fn problem(code: StatusCode, status: &str, error: impl Into<String>) -> Response {
    let body = json!({ "status": status, "error": error.into() });
    (code, axum::Json(body)).into_response()
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::NotAllowed => problem(
                StatusCode::FORBIDDEN,
                "denied",
                "this address is not in the show's [web] allow",
            ),
            Refusal::NoPin(why) => problem(StatusCode::UNAUTHORIZED, "denied", why),
            Refusal::WrongPin => problem(StatusCode::UNAUTHORIZED, "denied", "wrong PIN"),
            Refusal::TooMany(wait) => {
                let secs = wait.as_secs().max(1);
                let mut r = problem(
                    StatusCode::TOO_MANY_REQUESTS,
                    "denied",
                    format!("too many wrong PINs from this address; try again in {secs} s"),
                );
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
                r
            }
        }
    }
}

/// Lets the request on if it may do `need`.
fn guard(
    shared: &Shared,
    addr: SocketAddr,
    headers: &HeaderMap,
    need: Level,
) -> Result<(), Refusal> {
    let level = shared.auth.level(addr.ip(), headers)?;
    if level >= need {
        return Ok(());
    }
    Err(Refusal::NoPin(match need {
        Level::Control => "control needs the PIN: log in, or send Authorization: Bearer <PIN>",
        _ => "viewing needs the PIN: log in, or send Authorization: Bearer <PIN>",
    }))
}

const HTML: &str = "text/html; charset=utf-8";

/// Serves one of the files built in to anyone the allowlist lets in: the pages ask for the
/// PIN themselves. Never cached, so a phone gets the page of the candela it talks to.
fn built_in(kind: &'static str, body: &'static str) -> MethodRouter<Arc<Shared>> {
    get(
        move |State(shared): State<Arc<Shared>>, ConnectInfo(addr): Addr| async move {
            if !shared.auth.allowed(addr.ip()) {
                return Refusal::NotAllowed.into_response();
            }
            let headers = [
                (header::CONTENT_TYPE, kind),
                (header::CACHE_CONTROL, "no-store"),
            ];
            (headers, body).into_response()
        },
    )
}

/// The state as the page sees it: the show's, the time left in the hold, the problems.
fn state_now(shared: &Shared) -> Value {
    let published = shared.feed.state.borrow().clone();
    let mut state = published.state;
    if state.is_null() {
        return state;
    }
    let advance_at = state["advance_at"].as_f64();
    state["hold_left"] = match (advance_at, published.clock) {
        (Some(at), Some((clock, when))) => {
            let now = clock + when.elapsed();
            (at - now.as_secs_f64()).max(0.0).into()
        }
        _ => Value::Null,
    };
    // Why the file's latest version is not playing (from the show, after an edit), then
    // what its loading found at start.
    let mut problems = state["problems"].as_array().cloned().unwrap_or_default();
    problems.extend(shared.feed.problems.iter().map(|p| Value::from(p.as_str())));
    state["problems"] = problems.into();
    state["control"] = Value::Null;
    state["certificate"] = shared.fingerprint.as_str().into();
    state
}

/// Waits (a while at most) for the render loop's first word, which a request made just
/// after start can come before.
async fn first_word(shared: &Shared) {
    let mut rx = shared.feed.state.subscribe();
    let _ = tokio::time::timeout(SHOW_PATIENCE, rx.wait_for(|p| !p.state.is_null())).await;
}

async fn state(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(addr): Addr,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = guard(&shared, addr, &headers, Level::View) {
        return r.into_response();
    }
    first_word(&shared).await;
    let mut state = state_now(&shared);
    let level = shared
        .auth
        .level(addr.ip(), &headers)
        .unwrap_or(Level::View);
    state["control"] = (level == Level::Control).into();
    axum::Json(state).into_response()
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CommandBody {
    verb: String,
    #[serde(default)]
    args: Vec<Value>,
}

/// The request's body as a JSON object of the shape `T` (not a list: serde would take one
/// of its fields in order too), or the answer saying what was wrong with it (`example`
/// shows a good one).
fn json_body<T: serde::de::DeserializeOwned>(
    body: Result<Bytes, BytesRejection>,
    example: &str,
) -> Result<T, Box<Response>> {
    let body = match body {
        Ok(b) => b,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return Err(Box::new(problem(
                StatusCode::PAYLOAD_TOO_LARGE,
                "error",
                format!("the body is over {MAX_BODY} bytes"),
            )));
        }
        Err(e) => return Err(Box::new(problem(e.status(), "error", e.body_text()))),
    };
    let parsed = serde_json::from_slice::<Value>(&body)
        .map_err(|e| e.to_string())
        .and_then(|v| {
            if v.is_object() {
                serde_json::from_value(v).map_err(|e| e.to_string())
            } else {
                Err("expected an object".into())
            }
        });
    parsed.map_err(|e| {
        Box::new(problem(
            StatusCode::BAD_REQUEST,
            "error",
            format!("malformed JSON: {e}; send {example}"),
        ))
    })
}

/// A command as the OSC message it stands for: `{prefix}/{verb}` with the arguments.
fn message(prefix: &str, body: &CommandBody) -> Result<Message, String> {
    let verb = body.verb.trim().trim_matches('/');
    if verb.is_empty() {
        return Err("give a verb, e.g. {\"verb\": \"next\"}".into());
    }
    if verb.len() > 200 || !verb.chars().all(|c| c.is_ascii_graphic()) || verb.contains("//") {
        return Err(format!(
            "verb {:?} is not an address such as next or count/total/add",
            body.verb
        ));
    }
    if body.args.len() > MAX_ARGS {
        return Err(format!("at most {MAX_ARGS} arguments"));
    }
    let args = body
        .args
        .iter()
        .enumerate()
        .map(|(i, a)| match a {
            Value::String(s) => Ok(OscType::String(s.clone())),
            Value::Bool(b) => Ok(OscType::Bool(*b)),
            Value::Number(n) => Ok(match (n.as_i64(), n.as_f64()) {
                (Some(i), _) => match i32::try_from(i) {
                    Ok(i) => OscType::Int(i),
                    Err(_) => OscType::Long(i),
                },
                (None, Some(f)) => OscType::Double(f),
                _ => return Err(format!("argument {} is out of range", i + 1)),
            }),
            _ => Err(format!(
                "argument {} must be a number, text, or true/false",
                i + 1
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Message {
        address: format!("{prefix}/{verb}"),
        args,
    })
}

fn answer(code: StatusCode, status: &str, verb: &str, data: Value) -> Response {
    (
        code,
        axum::Json(json!({ "status": status, "verb": verb, "data": data })),
    )
        .into_response()
}

async fn command(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(addr): Addr,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if let Err(r) = guard(&shared, addr, &headers, Level::Control) {
        return r.into_response();
    }
    let body: CommandBody = match json_body(body, r#"e.g. {"verb": "goto", "args": ["total"]}"#) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let message = match message(&shared.dialect.settings.prefix, &body) {
        Ok(m) => m,
        Err(e) => return problem(StatusCode::BAD_REQUEST, "error", e),
    };
    let verb = body.verb.trim().trim_matches('/').to_string();
    let request = match shared.dialect.interpret(&message) {
        Meaning::Native(Ok(r)) => r,
        Meaning::Native(Err(e)) if e.starts_with("unknown address") => {
            return problem(
                StatusCode::BAD_REQUEST,
                "error",
                format!(
                    "unknown verb {verb:?}; verbs are the OSC addresses without the prefix: next, prev, goto, blackout, restore, master, cycle/pause, cycle/resume, test, count/<id>[/add|/correct|/reset], warp/<output>/..., blend/<output>/<field>, mask/<id>/..., setup[/undo|/redo|/revert|/reset], state"
                ),
            );
        }
        Meaning::Native(Err(e)) => return problem(StatusCode::BAD_REQUEST, "error", e),
        // A show mapping on one of candela's own addresses: its actions, as OSC does.
        Meaning::Desk(commands) => Request::Commands(commands),
        Meaning::Quiet => {
            return answer(
                StatusCode::OK,
                "ok",
                &verb,
                "released; nothing to do".into(),
            );
        }
        Meaning::Unknown => {
            return problem(
                StatusCode::BAD_REQUEST,
                "error",
                format!("unknown verb {verb:?}"),
            );
        }
    };
    let query = matches!(request, Request::State | Request::Setup | Request::Ping);
    let repeat = || {
        let window = shared.dialect.settings.debounce;
        shared
            .debounce
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_repeat_from(addr.ip(), &message, window, Instant::now())
    };
    if !query && repeat() {
        return answer(StatusCode::OK, "ok", &verb, "repeat ignored".into());
    }
    match ask(&shared, addr, request).await {
        Ok(data) => answer(StatusCode::OK, "ok", &verb, data),
        Err((code, e)) => answer(code, "error", &verb, e.into()),
    }
}

/// Hands `request` to the show through the inbox and waits (a while at most) for its
/// answer; an error comes with the status it is answered with.
async fn ask(
    shared: &Shared,
    addr: SocketAddr,
    request: Request,
) -> Result<Value, (StatusCode, String)> {
    let (sender, receiver) = tokio::sync::oneshot::channel();
    (shared.deliver)(Incoming {
        source: format!("web {addr}"),
        request,
        reply: Some(sender),
        at: None,
    });
    match tokio::time::timeout(SHOW_PATIENCE, receiver).await {
        Ok(Ok(Ok(data))) => Ok(data),
        Ok(Ok(Err(e))) => Err((StatusCode::BAD_REQUEST, e)),
        _ => Err((
            StatusCode::SERVICE_UNAVAILABLE,
            "the show did not answer".into(),
        )),
    }
}

/// The projectors' geometry, blends and masks for the setup view: control only, since it
/// is what a technician edits.
async fn setup(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(addr): Addr,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = guard(&shared, addr, &headers, Level::Control) {
        return r.into_response();
    }
    match ask(&shared, addr, Request::Setup).await {
        Ok(data) => axum::Json(data).into_response(),
        Err((code, e)) => problem(code, "error", e),
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    pin: String,
}

async fn login(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(addr): Addr,
    Extension(OverTls(tls)): Extension<OverTls>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if !shared.auth.allowed(addr.ip()) {
        return Refusal::NotAllowed.into_response();
    }
    let body: LoginBody = match json_body(body, r#"{"pin": "123456"}"#) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let level = match shared.auth.check_pin(addr.ip(), &body.pin) {
        Ok(level) => level,
        Err(refusal) => {
            tracing::warn!("web: wrong PIN from {addr}");
            return refusal.into_response();
        }
    };
    let token = match shared.auth.open_session(level) {
        Ok(t) => t,
        Err(e) => return problem(StatusCode::INTERNAL_SERVER_ERROR, "error", e.to_string()),
    };
    tracing::info!(
        "web: {addr} logged in to {}",
        if level == Level::Control {
            "control"
        } else {
            "view"
        }
    );
    let cookie = format!(
        "{COOKIE_NAME}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{}",
        SESSION_LIFE.as_secs(),
        secure(tls)
    );
    let mut r =
        axum::Json(json!({ "status": "ok", "control": level == Level::Control })).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// Ends the browser's session, so a phone left lying about cannot cue the show; the cookie
/// is cleared too.
async fn logout(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(addr): Addr,
    Extension(OverTls(tls)): Extension<OverTls>,
    headers: HeaderMap,
) -> Response {
    if !shared.auth.allowed(addr.ip()) {
        return Refusal::NotAllowed.into_response();
    }
    if shared.auth.close_session(&headers) {
        tracing::info!("web: {addr} logged out");
    }
    let mut r = axum::Json(json!({ "status": "ok" })).into_response();
    let cookie = format!(
        "{COOKIE_NAME}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{}",
        secure(tls)
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// The cookie's `Secure` mark over TLS: a browser then never sends the session in clear.
/// Plain HTTP is answered only from this machine (or with `--plain-http`), where a
/// browser need not keep a `Secure` cookie.
fn secure(tls: bool) -> &'static str {
    if tls { "; Secure" } else { "" }
}

fn jpeg(bytes: Bytes, frame: Option<u64>) -> Response {
    let mut r = (
        [
            (header::CONTENT_TYPE, "image/jpeg"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        bytes,
    )
        .into_response();
    if let Some(n) = frame {
        r.headers_mut()
            .insert("x-candela-frame", HeaderValue::from(n));
    }
    r
}

async fn preview(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(addr): Addr,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = guard(&shared, addr, &headers, Level::View) {
        return r.into_response();
    }
    let mut rx = shared.feed.preview.subscribe();
    let current = shared.feed.ask_preview();
    if !current || rx.borrow_and_update().generation == 0 {
        // Nobody was watching: the picture at hand may be old. The render loop is woken to
        // make one now.
        shared.feed.wake();
        let _ = tokio::time::timeout(SHOW_PATIENCE, rx.changed()).await;
    }
    let picture = rx.borrow().clone();
    if picture.generation == 0 {
        return problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "error",
            "no picture of the wall yet; try again",
        );
    }
    jpeg(picture.jpeg, Some(picture.generation))
}

/// What one output shows after its warp, masks and blend, small: a picture begun after this
/// request came, so one asked for after a change shows it.
async fn output_preview(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(addr): Addr,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    if let Err(r) = guard(&shared, addr, &headers, Level::View) {
        return r.into_response();
    }
    first_word(&shared).await;
    let known = shared.feed.state.borrow().state["outputs"]
        .as_array()
        .is_some_and(|outputs| outputs.iter().any(|o| o == name.as_str()));
    if !known {
        return problem(
            StatusCode::NOT_FOUND,
            "error",
            format!("no output {name:?}"),
        );
    }
    let mut made = shared.feed.outputs_made.subscribe();
    let ticket = shared.feed.want_output(&name);
    shared.feed.wake();
    let deadline = Instant::now() + SHOW_PATIENCE;
    loop {
        made.borrow_and_update();
        let at_hand = {
            let shots = shared
                .feed
                .outputs
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            shots.made.get(&name).cloned()
        };
        if let Some((answers, picture)) = &at_hand
            && *answers >= ticket
        {
            return jpeg(picture.clone(), None);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || tokio::time::timeout(left, made.changed()).await.is_err() {
            // An older picture beats none.
            return match at_hand {
                Some((_, picture)) => jpeg(picture, None),
                None => problem(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "error",
                    format!("no picture of output {name:?} yet; try again"),
                ),
            };
        }
    }
}

async fn thumbnail(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(addr): Addr,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = guard(&shared, addr, &headers, Level::View) {
        return r.into_response();
    }
    first_word(&shared).await;
    let known = shared.feed.state.borrow().state["slides"]
        .as_array()
        .is_some_and(|slides| slides.iter().any(|s| s["id"] == id.as_str()));
    if !known {
        return problem(StatusCode::NOT_FOUND, "error", format!("no slide {id:?}"));
    }
    let mut made = shared.feed.thumbs_made.subscribe();
    let deadline = Instant::now() + SHOW_PATIENCE;
    let mut asked = false;
    loop {
        made.borrow_and_update();
        let at_hand = {
            let thumbs = shared.feed.thumbs.lock().unwrap_or_else(|p| p.into_inner());
            thumbs.made.get(&id).cloned()
        };
        match &at_hand {
            Some(t) if t.settled && (t.made.elapsed() < THUMBNAIL_FRESH || asked) => {
                return jpeg(t.jpeg.clone(), None);
            }
            _ if !asked => {
                shared.feed.want_thumbnail(&id);
                shared.feed.wake();
                asked = true;
            }
            _ => {}
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || tokio::time::timeout(left, made.changed()).await.is_err() {
            // A picture without its photo beats none.
            return match at_hand {
                Some(t) => jpeg(t.jpeg, None),
                None => problem(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "error",
                    "the thumbnail is not ready; try again",
                ),
            };
        }
    }
}

/// A connected WebSocket client, counted while it lasts.
struct Viewer(Arc<Shared>);

impl Viewer {
    fn join(shared: &Arc<Shared>) -> Option<Viewer> {
        shared
            .feed
            .viewers
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < MAX_VIEWERS).then_some(n + 1)
            })
            .ok()
            .map(|_| Viewer(shared.clone()))
    }
}

impl Drop for Viewer {
    fn drop(&mut self) {
        self.0.feed.viewers.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn events(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(addr): Addr,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    if let Err(r) = guard(&shared, addr, &headers, Level::View) {
        return r.into_response();
    }
    let Some(viewer) = Viewer::join(&shared) else {
        return problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "error",
            format!("{MAX_VIEWERS} viewers already; try again later"),
        );
    };
    let control = shared.auth.level(addr.ip(), &headers) == Ok(Level::Control);
    upgrade
        .max_message_size(MAX_BODY)
        .max_frame_size(MAX_BODY)
        .on_upgrade(move |socket| follow(socket, viewer, control))
}

fn picture_event(generation: u64) -> String {
    json!({ "type": "preview", "frame": generation }).to_string()
}

/// Sends one client the state, then each change of it and each new preview, until it goes
/// or stops reading. Only the latest of each is kept for it, so a slow client skips.
async fn follow(mut socket: WebSocket, viewer: Viewer, control: bool) {
    let shared = viewer.0.clone();
    let mut states = shared.feed.state.subscribe();
    let mut pictures = shared.feed.preview.subscribe();
    // A new viewer: the picture at hand may be from before anyone watched.
    shared.feed.wake();
    let state_event = |shared: &Shared| {
        let mut state = state_now(shared);
        state["control"] = control.into();
        json!({ "type": "state", "state": state }).to_string()
    };
    // Before the render loop's first word there is no state to send; it comes as a change.
    let published = !shared.feed.state.borrow().state.is_null();
    // The picture at hand, if any: a newer one follows if it is out of date.
    let at_hand = pictures.borrow_and_update().generation;
    let mut out: Vec<String> = [
        published.then(|| state_event(&shared)),
        (at_hand > 0).then(|| picture_event(at_hand)),
    ]
    .into_iter()
    .flatten()
    .collect();
    loop {
        for text in out.drain(..) {
            let sent =
                tokio::time::timeout(SEND_PATIENCE, socket.send(ws::Message::Text(text.into())));
            match sent.await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return,
                Err(_) => {
                    tracing::info!("web: a viewer stopped reading; dropped");
                    return;
                }
            }
        }
        let event = tokio::select! {
            changed = states.changed() => match changed {
                Ok(()) => Some(state_event(&shared)),
                Err(_) => break,
            },
            changed = pictures.changed() => match changed {
                Ok(()) => {
                    Some(picture_event(pictures.borrow_and_update().generation))
                }
                Err(_) => break,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(ws::Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => None,
            },
        };
        out.extend(event);
    }
}
