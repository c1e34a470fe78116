//! A deployed stage's outputs, read with CloudFormation DescribeStacks (works on any machine and
//! in CI, unlike a local outputs file), and the stage's API key value.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::Fatal;
use crate::aws::{Aws, error_code, fatal, sdk_message};

/// The primary stack of a stage, as `cdk/bin/app.ts` names it.
pub fn stage_stack_name(stage: &str) -> String {
    format!("SecureServerlessBackend-{stage}")
}

/// The region of a stage's primary stack when config/stages.json pins the stage to regions
/// (`"regions"`, the first is the primary; a stack per region, docs/AVAILABILITY.md); None for a
/// stage deployed to the CLI's region, or when the file cannot be read (make runs from the
/// repository's root, where the file is).
pub fn pinned_primary_region(stages_json: &str, stage: &str) -> Option<String> {
    let doc: Value = serde_json::from_str(stages_json).ok()?;
    doc.get("stages")?
        .get(stage)?
        .get("regions")?
        .get(0)?
        .as_str()
        .map(str::to_owned)
}

/// A stack's outputs by key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outputs {
    pub stack: String,
    pub values: BTreeMap<String, String>,
}

impl Outputs {
    /// An output that must be there.
    pub fn get(&self, key: &str) -> Result<&str, Fatal> {
        self.values.get(key).map(String::as_str).ok_or_else(|| {
            Fatal::failed(format!(
                "{} has no output {key}: deploy this version of the stack first (make deploy STAGE=…).",
                self.stack
            ))
        })
    }

    /// The id of the API key to use. The stack outputs `ApiKeyIds`, a JSON object
    /// `{"<client>": "<key id>", …}` in the order of the stage's `clients` (config/stages.json):
    /// the named client's id, or without a name the first client's. A stack deployed before client
    /// apps existed has one key, `ApiKeyId`, taken when no client is named.
    pub fn api_key_id(&self, client: Option<&str>) -> Result<String, Fatal> {
        if let Some(ids) = self.values.get("ApiKeyIds") {
            let parsed: Value = serde_json::from_str(ids).map_err(|e| {
                Fatal::failed(format!(
                    "{}'s output ApiKeyIds is not a JSON object: {e}.",
                    self.stack
                ))
            })?;
            let map = parsed.as_object().ok_or_else(|| {
                Fatal::failed(format!(
                    "{}'s output ApiKeyIds is not a JSON object.",
                    self.stack
                ))
            })?;
            let clients: Vec<&str> = map.keys().map(String::as_str).collect();
            let chosen = match client {
                Some(name) => map.get(name).ok_or_else(|| {
                    Fatal::failed(format!(
                        "{} has no client {name}; its clients are {}.",
                        self.stack,
                        clients.join(", ")
                    ))
                })?,
                // serde_json keeps the document's order (preserve_order is off: keys sort), so the
                // first client is taken from the raw text.
                None => map
                    .get(first_key(ids).unwrap_or_default().as_str())
                    .ok_or_else(|| {
                        Fatal::failed(format!(
                            "{}'s output ApiKeyIds names no client.",
                            self.stack
                        ))
                    })?,
            };
            return chosen.as_str().map(str::to_owned).ok_or_else(|| {
                Fatal::failed(format!(
                    "{}'s output ApiKeyIds holds a key id that is not a string.",
                    self.stack
                ))
            });
        }
        if let Some(name) = client {
            return Err(Fatal::failed(format!(
                "{} has one API key (output ApiKeyId) and no clients, so CLIENT={name} does not apply.",
                self.stack
            )));
        }
        self.get("ApiKeyId").map(str::to_owned)
    }
}

/// The first key of a JSON object's text, in document order.
fn first_key(object_text: &str) -> Option<String> {
    let mut de = serde_json::Deserializer::from_str(object_text);
    let first: FirstKey = serde::Deserialize::deserialize(&mut de).ok()?;
    first.0
}

/// Deserializes only the first key of a map.
struct FirstKey(Option<String>);

impl<'de> serde::Deserialize<'de> for FirstKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = FirstKey;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<FirstKey, A::Error> {
                let first = map.next_key::<String>()?;
                if first.is_some() {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
                while map
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(FirstKey(first))
            }
        }
        d.deserialize_map(V)
    }
}

/// DescribeStacks of the stage's primary stack → its outputs.
pub async fn read(aws: &Aws, stack: &str) -> Result<Outputs, Fatal> {
    let cfn = aws_sdk_cloudformation::Client::new(&aws.config);
    let out = match cfn.describe_stacks().stack_name(stack).send().await {
        Ok(out) => out,
        Err(e)
            if error_code(&e) == Some("ValidationError")
                && sdk_message(&e).contains("does not exist") =>
        {
            return Err(Fatal::failed(format!(
                "{stack} does not exist in account {} region {}: deploy it first (make deploy STAGE=…), or set AWS_REGION to its region.",
                aws.account, aws.region
            )));
        }
        Err(e) => {
            return Err(fatal(
                &format!("Reading {stack}'s outputs (CloudFormation DescribeStacks)"),
                &e,
            ));
        }
    };
    let values = out
        .stacks()
        .first()
        .map(|s| {
            s.outputs()
                .iter()
                .filter_map(|o| Some((o.output_key()?.to_owned(), o.output_value()?.to_owned())))
                .collect()
        })
        .unwrap_or_default();
    Ok(Outputs {
        stack: stack.to_owned(),
        values,
    })
}

/// The API key's value (API Gateway GetApiKey with includeValue).
pub async fn api_key_value(aws: &Aws, key_id: &str) -> Result<String, Fatal> {
    let apigateway = aws_sdk_apigateway::Client::new(&aws.config);
    let key = apigateway
        .get_api_key()
        .api_key(key_id)
        .include_value(true)
        .send()
        .await
        .map_err(|e| {
            fatal(
                &format!("Reading the API key {key_id} (API Gateway GetApiKey)"),
                &e,
            )
        })?;
    key.value().map(str::to_owned).ok_or_else(|| {
        Fatal::failed(format!(
            "API Gateway returned no value for the API key {key_id}."
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outputs(pairs: &[(&str, &str)]) -> Outputs {
        Outputs {
            stack: "S".into(),
            values: pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn a_stage_pinned_to_regions_has_its_first_as_primary_and_others_have_none() {
        let doc = r#"{"stages": {"prod": {"regions": null}, "dev": {}, "prod-global": {"regions": ["us-east-1", "us-west-2"]}}}"#;
        assert_eq!(
            pinned_primary_region(doc, "prod-global").as_deref(),
            Some("us-east-1")
        );
        assert_eq!(pinned_primary_region(doc, "prod"), None);
        assert_eq!(pinned_primary_region(doc, "dev"), None);
        assert_eq!(pinned_primary_region(doc, "qa"), None);
        assert_eq!(pinned_primary_region("not json", "prod-global"), None);
    }

    #[test]
    fn the_shipped_stages_pin_prod_global_only() {
        let doc = include_str!("../../../config/stages.json");
        for stage in ["dev", "staging", "prod"] {
            assert_eq!(pinned_primary_region(doc, stage), None, "{stage}");
        }
        assert_eq!(
            pinned_primary_region(doc, "prod-global").as_deref(),
            Some("us-east-1")
        );
    }

    #[test]
    fn one_key_comes_from_api_key_id() {
        assert_eq!(
            outputs(&[("ApiKeyId", "k1")])
                .api_key_id(None)
                .ok()
                .as_deref(),
            Some("k1")
        );
        assert!(
            outputs(&[("ApiKeyId", "k1")])
                .api_key_id(Some("web"))
                .is_err_and(|e| e.sentence.contains("CLIENT=web"))
        );
    }

    #[test]
    fn several_keys_come_from_api_key_ids_first_client_by_default() {
        let o = outputs(&[
            ("ApiKeyIds", r#"{"web":"kw","ios":"ki"}"#),
            ("ApiKeyId", "ignored"),
        ]);
        assert_eq!(o.api_key_id(None).ok().as_deref(), Some("kw"));
        assert_eq!(o.api_key_id(Some("ios")).ok().as_deref(), Some("ki"));
        assert!(
            o.api_key_id(Some("android"))
                .is_err_and(|e| e.sentence.contains("its clients are ios, web"))
        );
        let z_first = outputs(&[("ApiKeyIds", r#"{"zeta":"kz","alpha":"ka"}"#)]);
        assert_eq!(
            z_first.api_key_id(None).ok().as_deref(),
            Some("kz"),
            "document order, not sorted"
        );
    }

    #[test]
    fn a_missing_output_names_itself_and_the_fix() {
        assert!(
            outputs(&[])
                .get("OperatorClientId")
                .is_err_and(|e| e.sentence.contains("no output OperatorClientId")
                    && e.sentence.contains("make deploy"))
        );
    }
}
