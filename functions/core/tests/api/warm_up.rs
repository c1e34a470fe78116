//! The init-time warm-up calls against DynamoDB Local: each succeeds on a real table and
//! changes nothing in it.

use aws_sdk_dynamodb::types::AttributeValue;
use items_core::store::{StoreError, WARM_UP_KEY, WarmUpCall};
use items_core::{DynamoStore, Route};

use crate::helpers::spawn_app;

const CALLS: [WarmUpCall; 4] = [
    WarmUpCall::GetItem,
    WarmUpCall::Query,
    WarmUpCall::DeleteItem,
    WarmUpCall::UpdateItem,
];

#[tokio::test]
async fn every_warm_up_call_answers_and_leaves_the_table_as_it_was() {
    let app = spawn_app().await;
    let created = app.create_named("alice", "Kept").await;
    assert_eq!(created.status, 201);
    let before = app.scan_all().await;
    for route in Route::ALL {
        app.app
            .store
            .warm_up(route.warm_up_call())
            .await
            .unwrap_or_else(|e| panic!("{route:?}: {e:?}"));
    }
    assert_eq!(app.scan_all().await, before);
}

#[tokio::test]
async fn a_record_at_the_warm_up_key_is_reported_not_read_as_success() {
    let app = spawn_app().await;
    let key = || AttributeValue::S(WARM_UP_KEY.to_owned());
    for call in CALLS {
        app.client
            .put_item()
            .table_name(&app.table)
            .item("PK", key())
            .item("SK", key())
            .send()
            .await
            .expect("put");
        let got = app.app.store.warm_up(call).await;
        assert!(
            matches!(got, Err(StoreError::Corrupt(_))),
            "{call:?}: {got:?}"
        );
    }
}

#[tokio::test]
async fn a_missing_table_is_an_error_not_a_panic() {
    let app = spawn_app().await;
    let store = DynamoStore::new(app.client.clone(), "no-such-table");
    for call in CALLS {
        assert!(store.warm_up(call).await.is_err(), "{call:?}");
    }
}
