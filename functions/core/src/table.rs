//! The table's key schema and TTL attribute, read from `api/table.json`: the CDK stack declares
//! the deployed table from the same file, and the local server and the tests create theirs
//! with [`TableSpec::create`].

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    TimeToLiveSpecification,
};
use serde::Deserialize;

/// The contents of `api/table.json`, compiled in.
pub const TABLE_JSON: &str = include_str!("../../../api/table.json");

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TableSpec {
    pub partition_key: String,
    pub sort_key: String,
    pub time_to_live_attribute: String,
    /// The partition key prefix of the per-user limit's counters, which the stack's grant for
    /// them is limited to.
    pub user_limit_partition_prefix: String,
}

impl TableSpec {
    pub fn from_contract() -> Result<Self, serde_json::Error> {
        serde_json::from_str(TABLE_JSON)
    }

    /// Creates an on-demand table with this key schema and TTL. Meant for DynamoDB Local, where
    /// a new table is active at once; the deployed table is the stack's. A table of that name
    /// that already exists is `ResourceInUseException` (the local server reuses it).
    pub async fn create(&self, client: &Client, name: &str) -> Result<(), aws_sdk_dynamodb::Error> {
        self.create_table(client, name).await?;
        self.enable_ttl(client, name).await
    }

    /// [`TableSpec::create`] for a name that nobody else uses (the tests' fresh names). On a busy
    /// machine the SDK may retry a CreateTable (or UpdateTimeToLive) whose first attempt timed
    /// out after DynamoDB Local had applied it; the retry then answers that the table exists (or
    /// that TTL is already on). With a fresh name that table is this one, so both count as done.
    pub async fn create_fresh(
        &self,
        client: &Client,
        name: &str,
    ) -> Result<(), aws_sdk_dynamodb::Error> {
        match self.create_table(client, name).await {
            Ok(()) | Err(aws_sdk_dynamodb::Error::ResourceInUseException(_)) => {}
            Err(e) => return Err(e),
        }
        match self.enable_ttl(client, name).await {
            Err(e)
                if e.meta()
                    .message()
                    .is_some_and(|m| m.contains("already enabled")) =>
            {
                Ok(())
            }
            other => other,
        }
    }

    async fn create_table(
        &self,
        client: &Client,
        name: &str,
    ) -> Result<(), aws_sdk_dynamodb::Error> {
        let attribute = |n: &str| {
            AttributeDefinition::builder()
                .attribute_name(n)
                .attribute_type(ScalarAttributeType::S)
                .build()
        };
        let key = |n: &str, t: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(n)
                .key_type(t)
                .build()
        };
        client
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attribute(&self.partition_key)?)
            .attribute_definitions(attribute(&self.sort_key)?)
            .key_schema(key(&self.partition_key, KeyType::Hash)?)
            .key_schema(key(&self.sort_key, KeyType::Range)?)
            .send()
            .await?;
        Ok(())
    }

    async fn enable_ttl(&self, client: &Client, name: &str) -> Result<(), aws_sdk_dynamodb::Error> {
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .enabled(true)
                    .attribute_name(&self.time_to_live_attribute)
                    .build()?,
            )
            .send()
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE};

    #[test]
    fn the_store_uses_the_key_names_the_table_declares() {
        let spec = TableSpec::from_contract().expect("api/table.json parses");
        assert_eq!(spec.partition_key, PARTITION_KEY);
        assert_eq!(spec.sort_key, SORT_KEY);
        assert_eq!(spec.time_to_live_attribute, TTL_ATTRIBUTE);
        assert_eq!(
            spec.user_limit_partition_prefix,
            crate::store::record::LIMIT_PREFIX
        );
    }
}
