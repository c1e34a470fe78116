//! `create-item`: one route of the items API as one Lambda function. Everything it does is in
//! `items-core`; see [`items_core::run`].

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    items_core::run(items_core::Route::CreateItem).await
}
