//! fupin as an HTTP JSON service (`fupin serve`).
//!
//! | endpoint | what it answers |
//! | --- | --- |
//! | `POST /assess?as_of=DATE` | a household's JSON → its assessment (`docs/output.md`) |
//! | `POST /explain?as_of=DATE` | the assessment with its trace, and the explanation as text |
//! | `POST /batch?as_of=DATE` | JSON Lines in, JSON Lines out, streamed both ways, one output line per input line |
//! | `GET /params?region=CODE&as_of=DATE` | every parameter in force, its value and citation |
//! | `GET /schema[?region=CODE][&as_of=DATE]` | the household's JSON Schema for the loaded policies |
//! | `GET /policies` | every policy of the set in force: id, version, content hash |
//! | `GET /health` | `ok`, and the generation of the policy set in force |
//!
//! Every answer carries `x-fupin-generation`: which policy set answered it
//! (0 at start, one more at each successful reload). A bad request is a 4xx
//! whose JSON body says what and where: `{"error": {"kind": "household",
//! "message": …, "path": "members[0].income", "line": 3, "column": 17}}`.
//! Bodies are limited in size and requests in time ([`Limits`]); the
//! assessment itself runs on a pool of worker threads, never on the threads
//! that serve connections.

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Extension, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::NaiveDate;
use fupin::{Engine, PolicySet, PolicySetError, SharedEngine};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{json, Value};
use std::io::{BufRead, Read, Write};
use std::sync::Arc;
use std::time::Duration;

/// How much a request may ask.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest household body (`/assess`, `/explain`), in bytes.
    pub body_bytes: usize,
    /// Largest `/batch` body, in bytes.
    pub batch_bytes: u64,
    /// Longest a request other than `/batch` may take; a slower one is
    /// answered 503 `timeout`.
    pub timeout: Duration,
    /// Worker threads of one `/batch` (0: one per core).
    pub batch_threads: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            body_bytes: fupin::model::MAX_HOUSEHOLD_FILE as usize,
            batch_bytes: 1 << 30,
            timeout: Duration::from_secs(10),
            batch_threads: 0,
        }
    }
}

/// The service: the policy set it was started with (read again on reload)
/// and the engine in force.
#[derive(Debug)]
pub struct Service {
    set: PolicySet,
    engine: SharedEngine,
    limits: Limits,
}

impl Service {
    /// Build the policy set and serve it.
    pub fn new(set: PolicySet, limits: Limits) -> Result<Service, PolicySetError> {
        let engine = SharedEngine::new(set.build()?);
        Ok(Service { set, engine, limits })
    }

    /// The engine in force.
    pub fn engine(&self) -> Arc<Engine> {
        self.engine.current()
    }

    /// How many reloads succeeded.
    pub fn generation(&self) -> u64 {
        self.engine.generation()
    }

    /// Read and build the policy set again and put it in force if it builds
    /// (pins verified first); requests in flight finish on the set they
    /// started with. On failure the set in force stays, and the error says why.
    pub fn reload(&self) -> Result<u64, PolicySetError> {
        self.engine.reload_set(&self.set)?;
        Ok(self.engine.generation())
    }
}

/// The routes, ready for [`axum::serve`].
pub fn router(service: Arc<Service>) -> Router {
    let timed = Router::new()
        .route("/assess", post(assess))
        .route("/explain", post(explain))
        .route("/params", get(params))
        .route("/schema", get(schema))
        .route("/policies", get(policies))
        .route("/health", get(health))
        .layer(DefaultBodyLimit::max(service.limits.body_bytes))
        .route_layer(middleware::from_fn_with_state(service.clone(), time_limit));
    Router::new()
        .route("/batch", post(batch))
        .merge(timed)
        .fallback(|| async {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such endpoint; see GET /health, /policies, /params, /schema and POST /assess, /explain, /batch",
            )
        })
        .method_not_allowed_fallback(|| async {
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method", "this endpoint does not take that method")
        })
        .layer(middleware::from_fn_with_state(service.clone(), generation_header))
        .with_state(service)
}

/// A request's error, as JSON.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: Value,
}

impl ApiError {
    fn new(status: StatusCode, kind: &str, message: impl Into<String>) -> ApiError {
        ApiError { status, body: json!({ "error": { "kind": kind, "message": message.into() } }) }
    }

    fn household(e: &fupin::model::HouseholdError) -> ApiError {
        let mut err = json!({ "kind": "household", "message": e.message, "path": e.path });
        if e.line > 0 {
            err["line"] = json!(e.line);
            err["column"] = json!(e.column);
        }
        ApiError { status: StatusCode::BAD_REQUEST, body: json!({ "error": err }) }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json_response(self.status, self.body.to_string().into_bytes())
    }
}

fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// The engine in force when a request came in, and its generation: every
/// handler assesses with this one, whatever is swapped in meanwhile, and the
/// answer's `x-fupin-generation` names it.
#[derive(Clone)]
struct Current(Arc<Engine>);

async fn generation_header(State(service): State<Arc<Service>>, mut req: Request, next: Next) -> Response {
    let (engine, generation) = service.engine.current_with_generation();
    req.extensions_mut().insert(Current(engine));
    let mut r = next.run(req).await;
    if let Ok(v) = HeaderValue::from_str(&generation.to_string()) {
        r.headers_mut().insert("x-fupin-generation", v);
    }
    r
}

async fn time_limit(State(service): State<Arc<Service>>, req: Request, next: Next) -> Response {
    let limit = service.limits.timeout;
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(r) => r,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            format!("the request took longer than {} ms (the limit)", limit.as_millis()),
        )
        .into_response(),
    }
}

/// Run CPU-bound work on rayon's pool, off the connection threads.
async fn on_pool<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    rayon::spawn(move || {
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
        let _ = tx.send(out);
    });
    match rx.await {
        Ok(Ok(v)) => Ok(v),
        _ => Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the assessment failed unexpectedly; the service goes on")),
    }
}

#[derive(Debug, Deserialize)]
struct DateQuery {
    as_of: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RegionQuery {
    region: Option<String>,
    as_of: Option<String>,
}

fn query<T: serde::de::DeserializeOwned>(q: Result<Query<T>, axum::extract::rejection::QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(q)| q).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "request", format!("query string: {}", e.body_text())))
}

fn date(name: &str, value: Option<&str>) -> Result<Option<NaiveDate>, ApiError> {
    value
        .map(|v| fupin::model::parse_date(v).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "request", format!("{name}: {e}"))))
        .transpose()
}

fn required_date(value: Option<&str>) -> Result<NaiveDate, ApiError> {
    date("as_of", value)?.ok_or_else(|| ApiError::new(StatusCode::BAD_REQUEST, "request", "as_of is required: ?as_of=YYYY-MM-DD"))
}

fn region(value: Option<&str>) -> Result<Option<&str>, ApiError> {
    match value {
        Some(r) if r.len() != 6 || !r.bytes().all(|b| b.is_ascii_digit()) => {
            Err(ApiError::new(StatusCode::BAD_REQUEST, "request", format!("region: `{r}` is not a GB/T 2260 region code (six digits)")))
        }
        other => Ok(other),
    }
}

fn body(b: Result<Bytes, axum::extract::rejection::BytesRejection>) -> Result<Bytes, ApiError> {
    b.map_err(|e| {
        ApiError::new(e.status(), if e.status() == StatusCode::PAYLOAD_TOO_LARGE { "too_large" } else { "request" }, e.body_text())
    })
}

type QueryOf<T> = Result<Query<T>, axum::extract::rejection::QueryRejection>;
type BodyOf = Result<Bytes, axum::extract::rejection::BytesRejection>;

/// The common part of `/assess` and `/explain`: the date, the body, the
/// household read and checked against the engine in force, then `work` on
/// the worker pool.
async fn with_household(
    Current(engine): Current,
    q: QueryOf<DateQuery>,
    b: BodyOf,
    work: impl FnOnce(&Engine, &fupin::Household, NaiveDate) -> Result<Response, ApiError> + Send + 'static,
) -> Result<Response, ApiError> {
    let as_of = required_date(query(q)?.as_of.as_deref())?;
    let b = body(b)?;
    on_pool(move || {
        let h = engine.parse_household_bytes(&b, Some(as_of)).map_err(|e| ApiError::household(&e))?;
        work(&engine, &h, as_of)
    })
    .await?
}

fn unwritable(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", format!("cannot write the assessment: {e}"))
}

async fn assess(Extension(current): Extension<Current>, q: QueryOf<DateQuery>, b: BodyOf) -> Result<Response, ApiError> {
    with_household(current, q, b, |engine, h, as_of| {
        let mut out = Vec::with_capacity(2048);
        match engine.assess_json(h, as_of, &mut engine.scratch(), &mut out) {
            Ok(Ok(())) => Ok(json_response(StatusCode::OK, out)),
            Ok(Err(e)) => Err(unwritable(e)),
            Err(e) => Err(evaluation(engine, &e)),
        }
    })
    .await
}

fn evaluation(engine: &Engine, e: &fupin::EvalError) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "evaluation", e.render(&engine.program().sources))
}

async fn explain(Extension(current): Extension<Current>, q: QueryOf<DateQuery>, b: BodyOf) -> Result<Response, ApiError> {
    with_household(current, q, b, |engine, h, as_of| {
        let mut s = engine.scratch();
        s.set_trace(true);
        let a = engine.assess_with(h, as_of, &mut s).map_err(|e| evaluation(engine, &e))?;
        let mut v = serde_json::to_value(&a).map_err(unwritable)?;
        v["explanation"] = Value::String(a.explain());
        Ok(json_response(StatusCode::OK, v.to_string().into_bytes()))
    })
    .await
}

async fn params(Extension(Current(engine)): Extension<Current>, q: QueryOf<RegionQuery>) -> Result<Response, ApiError> {
    let q = query(q)?;
    let as_of = required_date(q.as_of.as_deref())?;
    let region = region(q.region.as_deref())?
        .ok_or_else(|| ApiError::new(StatusCode::BAD_REQUEST, "request", "region is required: ?region=CODE (six digits)"))?
        .to_string();
    on_pool(move || {
        let list = engine.params_in_force(&region, as_of);
        serde_json::to_vec(&list)
            .map(|b| json_response(StatusCode::OK, b))
            .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))
    })
    .await?
}

async fn schema(Extension(Current(engine)): Extension<Current>, q: QueryOf<RegionQuery>) -> Result<Response, ApiError> {
    let q = query(q)?;
    let as_of = date("as_of", q.as_of.as_deref())?;
    let region = region(q.region.as_deref())?.map(str::to_string);
    on_pool(move || Ok(json_response(StatusCode::OK, engine.household_schema(region.as_deref(), as_of).to_string().into_bytes()))).await?
}

async fn policies(Extension(Current(engine)): Extension<Current>) -> Result<Response, ApiError> {
    let list = engine.policies();
    serde_json::to_vec(&list)
        .map(|b| json_response(StatusCode::OK, b))
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))
}

async fn health(State(service): State<Arc<Service>>) -> Response {
    let (engine, generation) = service.engine.current_with_generation();
    let body = json!({ "status": "ok", "generation": generation, "policies": engine.policies().len() });
    json_response(StatusCode::OK, body.to_string().into_bytes())
}

/// `/batch`: the request body is read as it arrives and handed to
/// [`fupin::batch::run`] on its own threads; its output lines are sent back
/// as they are written (a chunked response). Every input line gets exactly
/// one output line. A body larger than the limit ends the batch with a
/// last line `{"error": …}` saying where it stopped.
async fn batch(
    State(service): State<Arc<Service>>,
    Extension(Current(engine)): Extension<Current>,
    q: QueryOf<DateQuery>,
    req: Request,
) -> Result<Response, ApiError> {
    let as_of = required_date(query(q)?.as_of.as_deref())?;
    let limit = service.limits.batch_bytes;
    if let Some(len) = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok()) {
        if len > limit {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("the batch is {len} bytes, more than {limit} (the limit)"),
            ));
        }
    }
    let mut opts = fupin::batch::BatchOptions::new(as_of);
    opts.threads = service.limits.batch_threads;

    // request body → the batch's reader
    let (in_tx, in_rx) = tokio::sync::mpsc::channel::<Result<Bytes, String>>(16);
    let mut stream = req.into_body().into_data_stream();
    tokio::spawn(async move {
        let mut seen: u64 = 0;
        while let Some(chunk) = stream.next().await {
            let item = match chunk {
                Ok(b) => {
                    seen += b.len() as u64;
                    if seen > limit {
                        let _ = in_tx
                            .send(Err(format!("the batch is more than {limit} bytes (the limit); the lines after it were not read")))
                            .await;
                        return;
                    }
                    Ok(b)
                }
                Err(e) => Err(format!("cannot read the request body: {e}")),
            };
            let stop = item.is_err();
            if in_tx.send(item).await.is_err() || stop {
                return;
            }
        }
    });

    // the batch's writer → the response body
    let (out_tx, out_rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(16);
    tokio::task::spawn_blocking(move || {
        let reader = std::io::BufReader::with_capacity(1 << 16, ChannelReader { rx: in_rx, current: Bytes::new(), failed: None });
        let mut writer = ChannelWriter { tx: out_tx.clone() };
        let mut reader = LimitNote { inner: reader, note: None };
        let result = fupin::batch::run(&engine, &mut reader, std::io::BufWriter::with_capacity(1 << 16, &mut writer), &opts, |_| {});
        let tail = match (result, reader.note.take()) {
            (_, Some(note)) => Some(json!({ "error": note })),
            (Err(e), None) => Some(json!({ "error": e.to_string() })),
            (Ok(_), None) => None,
        };
        if let Some(t) = tail {
            let _ = out_tx.blocking_send(Ok(Bytes::from(format!("{t}\n"))));
        }
    });
    let stream = futures_util::stream::unfold(out_rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    let mut r = Response::new(Body::from_stream(stream));
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-ndjson"));
    Ok(r)
}

/// Reads the chunks of the request body as they arrive (on a blocking thread).
struct ChannelReader {
    rx: tokio::sync::mpsc::Receiver<Result<Bytes, String>>,
    current: Bytes,
    failed: Option<String>,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            if let Some(f) = &self.failed {
                return Err(std::io::Error::other(f.clone()));
            }
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.current = b,
                Some(Err(e)) => self.failed = Some(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

/// A reader whose error (the size limit, a broken body) is kept to be said
/// in the last line; the batch then sees the end of its input, so every
/// line read so far is answered.
struct LimitNote<R> {
    inner: R,
    note: Option<String>,
}

impl<R: BufRead> Read for LimitNote<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.fill_buf()?.len().min(buf.len());
        buf[..n].copy_from_slice(&self.fill_buf()?[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for LimitNote<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.note.is_some() {
            return Ok(&[]);
        }
        match self.inner.fill_buf() {
            Ok(_) => {}
            Err(e) => {
                self.note = Some(e.to_string());
                return Ok(&[]);
            }
        }
        self.inner.fill_buf()
    }
    fn consume(&mut self, n: usize) {
        if self.note.is_none() {
            self.inner.consume(n);
        }
    }
}

/// Sends the batch's output to the response as it is written; a client
/// that went away makes the write fail, which stops the batch.
struct ChannelWriter {
    tx: tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
}

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.tx
            .blocking_send(Ok(Bytes::copy_from_slice(buf)))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client closed the connection"))?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
