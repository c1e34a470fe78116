//! [`ItemStore`] on DynamoDB: conditional writes, strongly consistent reads, a Query per owner.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

use super::record::{
    ITEM_PREFIX, PARTITION_KEY, SORT_KEY, item_id_of_sort_key, item_key, item_to_record, n,
    owner_partition, record_to_item, s, tags_value,
};
use super::{DynamoStore, Expect, ItemStore, Page, StoreError, classify};
use crate::clock::Timestamp;
use crate::domain::{Item, ItemId, ItemPatch, Owner};

/// The condition a write puts on the stored item: it exists and, with `If-Match`, has one of the
/// expected versions (as `:expected0`, `:expected1`, … in `values`).
fn version_condition(expect: &Expect, values: &mut HashMap<String, AttributeValue>) -> String {
    let mut condition = format!("attribute_exists({PARTITION_KEY})");
    if let Expect::OneOf(versions) = expect {
        if versions.is_empty() {
            // No version is 0, so this fails for an existing item, which is what a
            // precondition that can never hold must do; a missing item still reads as missing.
            values.insert(":expected0".to_owned(), n(0));
            condition.push_str(" AND #version = :expected0");
        } else {
            let names: Vec<String> = (0..versions.len())
                .map(|i| format!(":expected{i}"))
                .collect();
            for (name, v) in names.iter().zip(versions) {
                values.insert(name.clone(), n(v.get()));
            }
            condition.push_str(&format!(" AND #version IN ({})", names.join(", ")));
        }
    }
    condition
}

impl ItemStore for DynamoStore {
    async fn create(&self, owner: &Owner, item: &Item) -> Result<(), StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item_to_record(owner, item)))
            .condition_expression(format!("attribute_not_exists({PARTITION_KEY})"))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                // The SDK retried a put whose first attempt was applied but whose answer was
                // lost: what is stored is exactly this item, so the create succeeded.
                Some(PutItemError::ConditionalCheckFailedException(c))
                    if c.item().map(record_to_item).and_then(Result::ok).as_ref() == Some(item) =>
                {
                    Ok(())
                }
                Some(PutItemError::ConditionalCheckFailedException(_)) => {
                    Err(StoreError::AlreadyExists)
                }
                _ => Err(classify(e)),
            },
        }
    }

    async fn get(&self, owner: &Owner, id: ItemId) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(item_key(owner, id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        output.item().map(record_to_item).transpose()
    }

    async fn list(
        &self,
        owner: &Owner,
        limit: u32,
        after: Option<ItemId>,
    ) -> Result<Page, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#pk", PARTITION_KEY)
            .expression_attribute_names("#sk", SORT_KEY)
            .expression_attribute_values(":pk", s(owner_partition(owner)))
            .expression_attribute_values(":prefix", s(ITEM_PREFIX))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .consistent_read(true)
            .set_exclusive_start_key(after.map(|id| item_key(owner, id)))
            .send()
            .await
            .map_err(classify)?;
        let items = output
            .items()
            .iter()
            .map(record_to_item)
            .collect::<Result<Vec<_>, _>>()?;
        let last = match output.last_evaluated_key() {
            None => None,
            Some(key) => Some(
                key.get(SORT_KEY)
                    .and_then(|v| v.as_s().ok())
                    .and_then(|v| item_id_of_sort_key(v))
                    .ok_or_else(|| StoreError::Corrupt("bad LastEvaluatedKey".to_owned()))?,
            ),
        };
        Ok(Page { items, last })
    }

    async fn update(
        &self,
        owner: &Owner,
        id: ItemId,
        patch: &ItemPatch,
        expect: &Expect,
        now: Timestamp,
    ) -> Result<Item, StoreError> {
        // Marks this call's write, so that an SDK retry can recognise its own applied attempt.
        let write_id = ItemId::new().to_string();
        let mut values = HashMap::from([
            (":one".to_owned(), n(1)),
            (":now".to_owned(), s(now.to_string())),
            (":writeId".to_owned(), s(&write_id)),
        ]);
        let mut sets = vec![
            "#version = #version + :one".to_owned(),
            "#updatedAt = :now".to_owned(),
            "#writeId = :writeId".to_owned(),
        ];
        let mut names = HashMap::from([
            ("#version".to_owned(), "version".to_owned()),
            ("#updatedAt".to_owned(), "updatedAt".to_owned()),
            ("#writeId".to_owned(), "writeId".to_owned()),
        ]);
        let mut set = |field: &str, value: AttributeValue| {
            names.insert(format!("#{field}"), field.to_owned());
            values.insert(format!(":{field}"), value);
            sets.push(format!("#{field} = :{field}"));
        };
        if let Some(name) = &patch.name {
            set("name", s(name.as_str()));
        }
        if let Some(description) = &patch.description {
            set("description", s(description.as_str()));
        }
        if let Some(tags) = &patch.tags {
            set("tags", tags_value(tags));
        }
        let condition = version_condition(expect, &mut values);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item_key(owner, id)))
            .update_expression(format!("SET {}", sets.join(", ")))
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(output) => output
                .attributes()
                .ok_or_else(|| StoreError::Corrupt("UpdateItem returned no attributes".to_owned()))
                .and_then(record_to_item),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(c)) => match c.item() {
                    None => Err(StoreError::NotFound),
                    // The SDK retried an update whose first attempt was applied but whose answer
                    // was lost: the version condition now fails against our own write, which
                    // carries this call's write id. The update succeeded.
                    Some(current)
                        if current.get("writeId").and_then(|v| v.as_s().ok())
                            == Some(&write_id) =>
                    {
                        record_to_item(current)
                    }
                    Some(_) => Err(StoreError::VersionMismatch),
                },
                _ => Err(classify(e)),
            },
        }
    }

    async fn delete(&self, owner: &Owner, id: ItemId, expect: &Expect) -> Result<(), StoreError> {
        let mut values = HashMap::new();
        let condition = version_condition(expect, &mut values);
        let mut request = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(item_key(owner, id)))
            .condition_expression(condition)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        if !values.is_empty() {
            request = request
                .expression_attribute_names("#version", "version")
                .set_expression_attribute_values(Some(values));
        }
        match request.send().await {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                Some(DeleteItemError::ConditionalCheckFailedException(c)) => {
                    Err(if c.item().is_some() {
                        StoreError::VersionMismatch
                    } else {
                        StoreError::NotFound
                    })
                }
                _ => Err(classify(e)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Version;

    #[test]
    fn the_version_condition_names_each_expected_version() {
        let mut values = HashMap::new();
        let v = |x| Version::new(x).expect("nonzero");
        let c = version_condition(&Expect::OneOf(vec![v(2), v(3)]), &mut values);
        assert_eq!(
            c,
            "attribute_exists(PK) AND #version IN (:expected0, :expected1)"
        );
        assert_eq!(values[":expected1"], n(3));
    }
}
