//! The items API shared by every route function: domain types, validation, the DynamoDB store,
//! HTTP mapping, identity and telemetry. A route's `main.rs` only calls [`run`] with its [`Route`].

pub mod auth;
pub mod clock;
pub mod config;
pub mod cors;
pub mod cursor;
pub mod domain;
pub mod events;
pub mod http;
pub mod idempotency;
pub mod limit;
pub mod routes;
pub mod store;
pub mod table;
pub mod telemetry;

pub use routes::{App, Route};
pub use store::{DynamoStore, IdempotencyStore, ItemStore, UserLimitStore};

use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

use routes::handler::{self, Handler};

/// A route function's whole `main`: logging, the DynamoDB client, the table and the per-user
/// limit from the environment, the connection warm-up when [`config::warm_up`] says so, then the Lambda
/// runtime loop. A missing or malformed setting fails the cold start with one sentence naming
/// it. A failed warm-up only logs a warning: the first request then connects, as it would with
/// the warm-up off.
///
/// The route is matched here, before any future exists and inlined into `main`, where it is a
/// constant: each function's binary then links only its own handler and the DynamoDB calls it
/// makes, not all five.
#[inline(always)]
pub fn run(route: Route) -> Pin<Box<dyn Future<Output = Result<(), lambda_http::Error>>>> {
    match route {
        Route::CreateItem => Box::pin(serve::<handler::Create>()),
        Route::GetItem => Box::pin(serve::<handler::Get>()),
        Route::ListItems => Box::pin(serve::<handler::List>()),
        Route::UpdateItem => Box::pin(serve::<handler::Update>()),
        Route::DeleteItem => Box::pin(serve::<handler::Delete>()),
    }
}

async fn serve<H: Handler>() -> Result<(), lambda_http::Error> {
    let route = H::ROUTE;
    telemetry::init();
    let store = DynamoStore::new(config::dynamodb_client().await?, config::table_name()?);
    let user_limit = config::user_limit()?;
    if config::warm_up()? {
        let started = Instant::now();
        let outcome = store.warm_up(route.warm_up_call()).await;
        let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        match outcome {
            Ok(()) => tracing::info!(
                function = route.function_name(),
                durationMs = duration_ms,
                "DynamoDB connection warmed up"
            ),
            Err(error) => tracing::warn!(
                function = route.function_name(),
                durationMs = duration_ms,
                error = ?error,
                "DynamoDB warm-up failed; the first request will connect"
            ),
        }
    }
    let cors = cors::Cors::parse(std::env::var(cors::ALLOW_ORIGINS_VAR).ok().as_deref())?;
    let app = App::new(store).with_user_limit(user_limit).with_cors(cors);
    lambda_http::run(lambda_http::service_fn(|req| app.handle_as::<H>(req))).await
}
