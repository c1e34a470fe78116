//! `delete-item`: one route of the items API as one Lambda function. Everything it does is in
//! `items-core`; this only wires it up once per cold start.

use items_core::{App, DynamoStore, Route, config, telemetry};
use lambda_http::{Error, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let app = App::new(DynamoStore::new(
        config::dynamodb_client().await,
        config::table_name()?,
    ));
    lambda_http::run(service_fn(|req| app.handle(Route::DeleteItem, req))).await
}
