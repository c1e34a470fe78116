//! The five route handlers and the wrapper every function runs them in.
//!
//! A handler returns a response for every client outcome: an `Err` out of a proxy handler would
//! become API Gateway's bare 502. Client errors are problem+json with a detail and are not logged
//! as errors; server errors are opaque to the client and logged with their cause chain under the
//! request id.

use std::convert::Infallible;
use std::future::Future;
use std::time::Instant;

use lambda_http::http::{HeaderValue, Method, StatusCode, header};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;

use crate::auth;
use crate::clock::{Clock, SystemClock};
use crate::cors::Cors;
use crate::cursor::Cursor;
use crate::domain::{Item, ItemId, ItemPatch, NewItem, Version};
use crate::http::{self as h, IfMatch, Problem, ProblemKind};
use crate::idempotency::{self, Created, Fingerprint, IdempotencyKey, Refused, StoredResponse};
use crate::limit::UserLimit;
use crate::store::{Expect, IdempotencyStore, ItemStore, StoreError, UserLimitStore, WarmUpCall};
use crate::telemetry;

/// The routes, one per Lambda function. Which method and path each serves is the contract's
/// business (`x-function` in `api/openapi.json`); this only names the handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    CreateItem,
    GetItem,
    ListItems,
    UpdateItem,
    DeleteItem,
}

impl Route {
    pub const ALL: [Route; 5] = [
        Route::CreateItem,
        Route::GetItem,
        Route::ListItems,
        Route::UpdateItem,
        Route::DeleteItem,
    ];

    /// The function (and crate) name, as the contract's `x-function` spells it.
    pub fn function_name(self) -> &'static str {
        match self {
            Route::CreateItem => "create-item",
            Route::GetItem => "get-item",
            Route::ListItems => "list-items",
            Route::UpdateItem => "update-item",
            Route::DeleteItem => "delete-item",
        }
    }

    /// The call this route's function makes during init to warm its connection: one its role
    /// is granted (`api/tests` checks it against the contract's `x-dynamodb-actions`).
    pub fn warm_up_call(self) -> WarmUpCall {
        match self {
            Route::GetItem => WarmUpCall::GetItem,
            Route::ListItems => WarmUpCall::Query,
            Route::CreateItem | Route::DeleteItem => WarmUpCall::DeleteItem,
            Route::UpdateItem => WarmUpCall::UpdateItem,
        }
    }

    pub fn from_function_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.function_name() == name)
    }
}

/// Why a request did not succeed.
#[derive(Debug)]
pub(crate) enum Failure {
    Client(Problem),
    Store(StoreError),
}

impl From<Problem> for Failure {
    fn from(p: Problem) -> Self {
        Failure::Client(p)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Store(e)
    }
}

/// Seconds a client should wait after a 503.
pub const RETRY_AFTER_SECONDS: u32 = 1;

fn store_problem(e: &StoreError) -> Problem {
    match e {
        StoreError::NotFound => Problem::not_found(),
        StoreError::VersionMismatch => Problem::new(
            ProblemKind::PreconditionFailed,
            "If-Match does not match the item's current ETag; read it again",
        ),
        StoreError::AlreadyExists => Problem::new(ProblemKind::Conflict, "the item already exists"),
        StoreError::KeyLost => in_progress(),
        StoreError::Throttled(_) | StoreError::Unavailable(_) => {
            Problem::unavailable(RETRY_AFTER_SECONDS)
        }
        StoreError::Internal(_) | StoreError::Corrupt(_) => Problem::internal(),
    }
}

fn in_progress() -> Problem {
    Problem {
        retry_after: Some(RETRY_AFTER_SECONDS),
        ..Problem::new(
            ProblemKind::Conflict,
            "a request with this Idempotency-Key is still in progress; retry it later",
        )
    }
}

/// The page a list returns.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ItemPage {
    items: Vec<Item>,
    next_cursor: Option<String>,
}

/// The application: a store, a clock, the per-user limit and the handlers over them.
#[derive(Debug, Clone)]
pub struct App<S, C = SystemClock> {
    pub store: S,
    pub clock: C,
    /// None: no per-user limit (tests of other behaviour; every function sets one).
    pub user_limit: Option<UserLimit>,
    /// Which origins get CORS headers; none unless [`App::with_cors`] says.
    pub cors: Cors,
}

impl<S> App<S> {
    /// The application on the system's clock.
    pub fn new(store: S) -> Self {
        Self::with_clock(store, SystemClock)
    }
}

impl<S, C> App<S, C> {
    pub fn with_clock(store: S, clock: C) -> Self {
        Self {
            store,
            clock,
            user_limit: None,
            cors: Cors::default(),
        }
    }

    /// The same application, counting every caller's requests against `limit`.
    #[must_use]
    pub fn with_user_limit(self, limit: UserLimit) -> Self {
        Self {
            user_limit: Some(limit),
            ..self
        }
    }

    /// The same application answering the browser origins `cors` allows.
    #[must_use]
    pub fn with_cors(self, cors: Cors) -> Self {
        Self { cors, ..self }
    }
}

impl<S: ItemStore + IdempotencyStore + UserLimitStore, C: Clock> App<S, C> {
    /// Runs one route for one request and logs one line about it. Never fails: every outcome
    /// is a response.
    pub async fn handle(&self, route: Route, req: Request) -> Result<Response<Body>, Infallible> {
        match route {
            Route::CreateItem => self.handle_as::<handler::Create>(req).await,
            Route::GetItem => self.handle_as::<handler::Get>(req).await,
            Route::ListItems => self.handle_as::<handler::List>(req).await,
            Route::UpdateItem => self.handle_as::<handler::Update>(req).await,
            Route::DeleteItem => self.handle_as::<handler::Delete>(req).await,
        }
    }

    /// [`App::handle`] for a route known at compile time: a function's binary then holds only
    /// its own handler and the DynamoDB calls it makes (see [`crate::run`]).
    pub(crate) async fn handle_as<H: handler::Handler>(
        &self,
        req: Request,
    ) -> Result<Response<Body>, Infallible> {
        let route = H::ROUTE;
        let started = Instant::now();
        let request_id = auth::api_request_id(&req);
        let (method, resource) = match req.request_context_ref() {
            Some(RequestContext::ApiGatewayV1(ctx)) => (
                ctx.http_method.to_string(),
                ctx.resource_path.clone().unwrap_or_default(),
            ),
            _ => (req.method().to_string(), String::new()),
        };
        let outcome = match self.admit(route, &req).await {
            Ok(()) => H::respond(self, &req).await,
            Err(refused) => Err(refused),
        };
        let mut response = match outcome {
            Ok(response) => response,
            Err(Failure::Client(problem)) => problem.with_request_id(&request_id).into_response(),
            Err(Failure::Store(error)) => {
                let problem = store_problem(&error);
                if problem.status >= 500 {
                    tracing::error!(requestId = %request_id, function = route.function_name(), error = ?error, "request failed");
                }
                problem.with_request_id(&request_id).into_response()
            }
        };
        // Every answer of every route passes here.
        self.cors.apply(req.headers(), response.headers_mut());
        tracing::info!(
            requestId = %request_id,
            function = route.function_name(),
            method = %method,
            resource = %resource,
            status = response.status().as_u16(),
            latencyMs = started.elapsed().as_secs_f64() * 1000.0,
            "request"
        );
        Ok(response)
    }

    /// The per-user limit, in front of every handler: counts the request against its caller's
    /// window with one conditional write, or refuses it (429) before the handler makes any call.
    /// A request without a verified identity is not counted: its handler answers 401 without a
    /// DynamoDB call. When the counter call itself fails, the request fails as any store call
    /// does (503 with `Retry-After` when DynamoDB throttles or is unreachable; docs/STACK.md
    /// says why it does not fail open).
    async fn admit(&self, route: Route, req: &Request) -> Result<(), Failure> {
        let Some(limit) = self.user_limit else {
            return Ok(());
        };
        let Ok(owner) = auth::owner(req) else {
            return Ok(());
        };
        let now = self.clock.now();
        let window = limit.window(now);
        if self
            .store
            .count_request(&owner, window, limit.requests())
            .await?
        {
            return Ok(());
        }
        telemetry::count("UserRateLimited", route.function_name());
        Err(Problem::user_rate_limited(
            limit.requests(),
            limit.window_seconds(),
            window.retry_after(now),
        )
        .into())
    }

    async fn create(&self, req: &Request) -> Result<Response<Body>, Failure> {
        expect_method(req, &Method::POST)?;
        let owner = auth::owner(req)?;
        let key = idempotency_key(req)?;
        let body = h::json_object(req.headers(), req.body().as_ref())?;
        let new = NewItem::from_json(&body).map_err(Problem::validation)?;
        let fingerprint = key.as_ref().map(|_| Fingerprint::of(&new));
        let now = self.clock.now();
        let item = Item {
            id: ItemId::new(),
            name: new.name,
            description: new.description,
            tags: new.tags,
            version: Version::FIRST,
            created_at: now,
            updated_at: now,
        };
        let location = format!("{}/{}", collection_path(req), item.id);
        let response = created(&item, &location);
        let (Some(key), Some(fingerprint)) = (key, fingerprint) else {
            self.store.create(&owner, &item).await?;
            telemetry::count("ItemsCreated", Route::CreateItem.function_name());
            return Ok(response);
        };
        let stored = StoredResponse {
            status: response.status().as_u16(),
            body: String::from_utf8_lossy(response.body().as_ref()).into_owned(),
            etag: item.version.etag(),
            location,
        };
        match idempotency::create(&self.store, &owner, &key, &fingerprint, &item, &stored, now)
            .await
        {
            Ok(Created::Now) => {
                telemetry::count("ItemsCreated", Route::CreateItem.function_name());
                Ok(response)
            }
            Ok(Created::Before(first)) => Ok(replay(&first)),
            Err(Refused::InProgress) => Err(in_progress().into()),
            Err(Refused::Mismatch) => Err(Problem::new(
                ProblemKind::IdempotencyKeyReused,
                "this Idempotency-Key was used with a different request body",
            )
            .into()),
            Err(Refused::Store(e)) => Err(e.into()),
        }
    }

    async fn get(&self, req: &Request) -> Result<Response<Body>, Failure> {
        expect_method(req, &Method::GET)?;
        let owner = auth::owner(req)?;
        let id = path_id(req)?;
        let item = self
            .store
            .get(&owner, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(item_response(StatusCode::OK, &item))
    }

    async fn list(&self, req: &Request) -> Result<Response<Body>, Failure> {
        expect_method(req, &Method::GET)?;
        let owner = auth::owner(req)?;
        let query = req.query_string_parameters_ref();
        let limit = h::limit(query.and_then(|q| q.first("limit")))?;
        let after = match query.and_then(|q| q.first("cursor")) {
            None => None,
            Some(raw) => Some(
                Cursor::decode(raw, &owner)
                    .ok_or_else(|| {
                        Problem::parameter("cursor", "is not a cursor this API gave you")
                    })?
                    .after,
            ),
        };
        let page = self.store.list(&owner, limit, after).await?;
        let body = ItemPage {
            next_cursor: page.last.map(|after| Cursor { after }.encode(&owner)),
            items: page.items,
        };
        Ok(h::ok_json(StatusCode::OK, &body))
    }

    async fn update(&self, req: &Request) -> Result<Response<Body>, Failure> {
        expect_method(req, &Method::PATCH)?;
        let owner = auth::owner(req)?;
        let id = path_id(req)?;
        let expect = expectation(req)?;
        let body = h::json_object(req.headers(), req.body().as_ref())?;
        let patch = ItemPatch::from_json(&body).map_err(Problem::validation)?;
        let item = self
            .store
            .update(&owner, id, &patch, &expect, self.clock.now())
            .await?;
        telemetry::count("ItemsUpdated", Route::UpdateItem.function_name());
        Ok(item_response(StatusCode::OK, &item))
    }

    async fn delete(&self, req: &Request) -> Result<Response<Body>, Failure> {
        expect_method(req, &Method::DELETE)?;
        let owner = auth::owner(req)?;
        let id = path_id(req)?;
        let expect = expectation(req)?;
        self.store.delete(&owner, id, &expect).await?;
        telemetry::count("ItemsDeleted", Route::DeleteItem.function_name());
        Ok(h::empty_response(StatusCode::NO_CONTENT))
    }
}

/// Each route's handler as a type, for [`App::handle_as`].
pub(crate) mod handler {
    use super::*;

    pub(crate) trait Handler {
        const ROUTE: Route;
        fn respond<S: ItemStore + IdempotencyStore + UserLimitStore, C: Clock>(
            app: &App<S, C>,
            req: &Request,
        ) -> impl Future<Output = Result<Response<Body>, Failure>> + Send;
    }

    macro_rules! handlers {
        ($($name:ident: $route:ident => $method:ident),* $(,)?) => {$(
            pub(crate) struct $name;
            impl Handler for $name {
                const ROUTE: Route = Route::$route;
                fn respond<S: ItemStore + IdempotencyStore + UserLimitStore, C: Clock>(
                    app: &App<S, C>,
                    req: &Request,
                ) -> impl Future<Output = Result<Response<Body>, Failure>> + Send {
                    app.$method(req)
                }
            }
        )*};
    }

    handlers! {
        Create: CreateItem => create,
        Get: GetItem => get,
        List: ListItems => list,
        Update: UpdateItem => update,
        Delete: DeleteItem => delete,
    }
}

/// A function only ever receives its own method behind API Gateway; anything else is a wiring
/// mistake, answered as the API answers an unknown method rather than acted on.
fn expect_method(req: &Request, method: &Method) -> Result<(), Problem> {
    if req.method() == method {
        Ok(())
    } else {
        Err(Problem::new(ProblemKind::NotFound, "no such route"))
    }
}

/// An item as the body, its version as the ETag.
fn item_response(status: StatusCode, item: &Item) -> Response<Body> {
    let mut response = h::ok_json(status, item);
    h::set_etag(&mut response, item.version);
    response
}

fn created(item: &Item, location: &str) -> Response<Body> {
    let mut response = item_response(StatusCode::CREATED, item);
    if let Ok(location) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// The first response to an idempotency key, again; marked as a replay.
fn replay(stored: &StoredResponse) -> Response<Body> {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::CREATED);
    let mut response = h::empty_response(status);
    *response.body_mut() = Body::Text(stored.body.clone());
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    for (name, value) in [
        (header::ETAG, &stored.etag),
        (header::LOCATION, &stored.location),
    ] {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    }
    headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}

fn idempotency_key(req: &Request) -> Result<Option<IdempotencyKey>, Problem> {
    let Some(raw) = req.headers().get("idempotency-key") else {
        return Ok(None);
    };
    raw.to_str()
        .ok()
        .and_then(IdempotencyKey::parse)
        .map(Some)
        .ok_or_else(|| Problem::header("Idempotency-Key", &IdempotencyKey::rule()))
}

fn path_id(req: &Request) -> Result<ItemId, Problem> {
    h::item_id(req.path_parameters_ref().and_then(|p| p.first("id")))
}

fn expectation(req: &Request) -> Result<Expect, Problem> {
    Ok(match h::if_match(req.headers())? {
        None | Some(IfMatch::Any) => Expect::Exists,
        Some(IfMatch::Versions(versions)) => Expect::OneOf(versions),
        Some(IfMatch::Never) => Expect::OneOf(Vec::new()),
    })
}

/// The collection's path as the client addressed it (stage or base path included), from
/// `requestContext.path`, so that `Location` resolves behind any stage or custom domain.
fn collection_path(req: &Request) -> String {
    let path = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(ctx)) => ctx.path.clone(),
        _ => None,
    };
    path.unwrap_or_else(|| req.uri().path().to_owned())
        .trim_end_matches('/')
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_has_a_distinct_function_name() {
        for r in Route::ALL {
            assert_eq!(Route::from_function_name(r.function_name()), Some(r));
        }
    }

    /// CORS is applied where every route's answer passes: here a problem answer given before
    /// any store call (the store points at a closed port and is never reached).
    #[tokio::test]
    async fn every_answer_carries_cors_for_an_allowed_origin_only() {
        use crate::cors::Cors;
        let store = crate::DynamoStore::new(
            crate::config::dynamodb_local_client("http://127.0.0.1:9").expect("client"),
            "t".to_owned(),
        );
        let app =
            App::new(store).with_cors(Cors::parse(Some("https://app.example.com")).expect("cors"));
        for (origin, allowed) in [
            ("https://app.example.com", true),
            ("https://evil.example.com", false),
        ] {
            for route in Route::ALL {
                let req = lambda_http::http::Request::builder()
                    .method(Method::OPTIONS)
                    .uri("https://api.example.com/v1/items")
                    .header(header::ORIGIN, origin)
                    .body(Body::Empty)
                    .expect("request");
                let res = app.handle(route, req).await.expect("infallible");
                assert_eq!(res.status(), 404, "{route:?}");
                assert_eq!(res.headers()[header::VARY], "Origin");
                assert_eq!(
                    res.headers()
                        .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
                        .map(|v| v.as_bytes()),
                    allowed.then_some(origin.as_bytes()),
                    "{route:?} {origin}"
                );
            }
        }
    }

    #[test]
    fn store_outages_are_503_and_store_bugs_are_opaque_500() {
        let io = || -> Box<dyn std::error::Error + Send + Sync> { "boom".into() };
        assert_eq!(store_problem(&StoreError::Throttled(io())).status, 503);
        assert_eq!(store_problem(&StoreError::Unavailable(io())).status, 503);
        let internal = store_problem(&StoreError::Internal(io()));
        assert_eq!((internal.status, internal.detail), (500, None));
        assert_eq!(store_problem(&StoreError::NotFound).status, 404);
        assert_eq!(store_problem(&StoreError::VersionMismatch).status, 412);
    }
}
