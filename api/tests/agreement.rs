//! The contract's request schemas and the Rust parsing agree on one shared table of good and bad
//! bodies (`api/fixtures/body-cases.json`): API Gateway's models and the functions accept and
//! reject the same requests.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use api_contract::{Contract, Location};
use items_core::domain::{ItemPatch, NewItem};
use items_core::routes::Route;
use serde_json::Value;

const CASES: &str = include_str!("../fixtures/body-cases.json");

fn rust_accepts(schema: &str, body: &Value) -> bool {
    let Value::Object(object) = body else {
        return false;
    };
    match schema {
        "ItemCreate" => NewItem::from_json(object).is_ok(),
        "ItemPatch" => ItemPatch::from_json(object).is_ok(),
        other => panic!("no Rust parser for {other}"),
    }
}

#[test]
fn schemas_and_rust_parsing_agree_on_every_case() {
    let contract = Contract::load().expect("contract");
    let cases: Value = serde_json::from_str(CASES).expect("cases");
    let mut checked = 0;
    for case in cases["cases"].as_array().expect("cases array") {
        let name = case["case"].as_str().expect("case name");
        let schema_name = case["schema"].as_str().expect("schema name");
        let expected = case["valid"].as_bool().expect("valid flag");
        let body = &case["body"];
        let schema = contract.schema(schema_name).expect("schema");
        let validator = jsonschema::draft4::new(&schema).expect("a valid draft 4 schema");
        assert_eq!(
            validator.is_valid(body),
            expected,
            "schema {schema_name}: {name}"
        );
        assert_eq!(
            rust_accepts(schema_name, body),
            expected,
            "Rust {schema_name}: {name}"
        );
        checked += 1;
    }
    assert!(checked >= 40, "only {checked} cases");
}

#[test]
fn every_operation_is_served_by_a_route_function() {
    for op in Contract::load()
        .expect("contract")
        .operations()
        .expect("operations")
    {
        assert!(
            Route::from_function_name(&op.function).is_some(),
            "{} {} names {}, which is not a function",
            op.method,
            op.path,
            op.function
        );
    }
}

#[test]
fn each_functions_warm_up_call_is_one_its_role_is_granted() {
    for op in Contract::load()
        .expect("contract")
        .operations()
        .expect("operations")
    {
        let route = Route::from_function_name(&op.function).expect("a route");
        let action = route.warm_up_call().action();
        assert!(
            op.dynamodb_actions.iter().any(|a| a == action),
            "{} warms up with {action}, but its role has only {:?}",
            op.function,
            op.dynamodb_actions
        );
    }
}

#[test]
fn the_item_id_pattern_accepts_exactly_what_the_server_makes() {
    let contract = Contract::load().expect("contract");
    let validator =
        jsonschema::draft4::new(&contract.schema("ItemId").expect("ItemId")).expect("schema");
    for _ in 0..100 {
        let id = items_core::domain::ItemId::new().to_string();
        assert!(validator.is_valid(&Value::String(id.clone())), "{id}");
    }
    for bad in [
        "",
        "0190A1B2-C3D4-7E5F-8A9B-0C1D2E3F4A5B",
        "../x",
        "0190a1b2c3d47e5f8a9b0c1d2e3f4a5b",
    ] {
        let v = Value::String(bad.to_owned());
        assert!(!validator.is_valid(&v), "{bad:?}");
        assert!(items_core::domain::ItemId::parse(bad).is_none(), "{bad:?}");
    }
}

#[test]
fn every_route_function_serves_one_operation_of_the_contract() {
    let ops = Contract::load()
        .expect("contract")
        .operations()
        .expect("operations");
    for route in Route::ALL {
        let serving: Vec<String> = ops
            .iter()
            .filter(|o| o.function == route.function_name())
            .map(|o| format!("{} {}", o.method, o.path))
            .collect();
        assert_eq!(serving.len(), 1, "{route:?} serves {serving:?}");
    }
}

/// The limits the Rust code enforces, each against the schema or parameter of the contract
/// that states it to API Gateway and to clients.
#[test]
fn every_limit_the_functions_enforce_is_the_contracts() {
    use items_core::domain::{
        DESCRIPTION_MAX_CHARS, NAME_MAX_CHARS, TAG_MAX_CHARS, TAGS_MAX_ITEMS,
    };
    use items_core::http::{DEFAULT_LIMIT, MAX_LIMIT};
    use items_core::idempotency::MAX_KEY_LEN;

    let contract = Contract::load().expect("contract");
    let operations = contract.operations().expect("operations");
    // A component schema, or else the schema of the parameter of that name.
    let schema = |name: &str| -> Value {
        contract.schema(name).unwrap_or_else(|_| {
            let parameter = operations
                .iter()
                .flat_map(|o| &o.parameters)
                .find(|p| p.name == name);
            parameter
                .unwrap_or_else(|| panic!("no schema or parameter {name}"))
                .schema
                .clone()
        })
    };
    // Where the contract states a limit, its keyword, and the Rust constant that must equal it.
    let cases: [(&str, &str, usize); 8] = [
        ("Name", "maxLength", NAME_MAX_CHARS),
        ("Description", "maxLength", DESCRIPTION_MAX_CHARS),
        ("Tag", "maxLength", TAG_MAX_CHARS),
        ("Tags", "maxItems", TAGS_MAX_ITEMS),
        ("limit", "maximum", MAX_LIMIT as usize),
        ("limit", "minimum", 1),
        ("limit", "default", DEFAULT_LIMIT as usize),
        ("Idempotency-Key", "maxLength", MAX_KEY_LEN),
    ];
    for (name, keyword, in_rust) in cases {
        let stated = &schema(name)[keyword];
        let in_contract = stated
            .as_u64()
            .unwrap_or_else(|| panic!("{name} {keyword}: {stated}"));
        assert_eq!(in_rust as u64, in_contract, "{name} {keyword}");
    }
}

/// The README's picture of the flow names each route with its function: exactly the
/// contract's, and its table of the API lists each route.
#[test]
fn the_readme_shows_exactly_the_contracts_routes() {
    let readme = include_str!("../../README.md");
    let ops = Contract::load()
        .expect("contract")
        .operations()
        .expect("operations");
    let mut in_contract: Vec<String> = ops
        .iter()
        .map(|o| format!("{} {} ─▶ {}", o.method, o.path, o.function))
        .collect();
    let mut in_readme: Vec<String> = Vec::new();
    for line in readme.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        for w in words.windows(4) {
            if w[0].bytes().all(|b| b.is_ascii_uppercase()) && w[1].starts_with('/') && w[2] == "─▶"
            {
                in_readme.push(w.join(" "));
            }
        }
    }
    in_contract.sort();
    in_readme.sort();
    assert_eq!(in_readme, in_contract, "the README's picture of the flow");
    for op in &ops {
        let row = format!("| `{} {}", op.method, op.path);
        assert!(readme.contains(&row), "README's API table has no row {row}");
    }
}

#[test]
fn every_problem_the_functions_give_matches_the_contracts_problem_schema() {
    use items_core::http::Problem;
    use serde_json::json;

    let contract = Contract::load().expect("contract");
    let schema = contract.schema("Problem").expect("Problem schema");
    let validator = jsonschema::draft4::new(&schema).expect("a valid draft 4 schema");
    let bad_create = NewItem::from_json(
        json!({"name": "", "tags": ["a", "a"], "id": "x"})
            .as_object()
            .expect("object"),
    )
    .expect_err("invalid");
    // The functions' own parameter parsers where they need no request, and the refusals the
    // routes and header readers make by name.
    let refused = |r: Result<(), Problem>| r.expect_err("refused");
    let problems = [
        (
            "a bad limit",
            refused(items_core::http::limit(Some("0")).map(|_| ())),
        ),
        (
            "a bad cursor",
            Problem::parameter("cursor", "is not a cursor"),
        ),
        (
            "a bad id",
            refused(items_core::http::item_id(Some("NOPE")).map(|_| ())),
        ),
        ("a bad If-Match", Problem::header("If-Match", "must be *")),
        (
            "a bad Idempotency-Key",
            Problem::header("Idempotency-Key", "must be"),
        ),
        (
            "the body as a whole",
            Problem::field("", "must be an object"),
        ),
        ("bad body fields", Problem::validation(bad_create)),
    ];
    for (case, problem) in problems {
        let body = serde_json::to_value(problem.with_request_id("r-1")).expect("serializes");
        let errors: Vec<String> = validator
            .iter_errors(&body)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{case}: {body} {errors:?}");
    }

    // And the schema refuses what is not located exactly once, or a name where a pointer goes.
    let entry = contract.schema("FieldError").expect("FieldError schema");
    let entry = jsonschema::draft4::new(&entry).expect("a valid draft 4 schema");
    for (case, bad) in [
        (
            "a name as a pointer",
            json!({"pointer": "limit", "detail": "d"}),
        ),
        ("no location", json!({"detail": "d"})),
        (
            "two locations",
            json!({"pointer": "/name", "header": "If-Match", "detail": "d"}),
        ),
        (
            "an unknown parameter",
            json!({"parameter": "page", "detail": "d"}),
        ),
    ] {
        assert!(!entry.is_valid(&bad), "{case}: {bad}");
    }
}

/// The names `errors[].parameter` and `errors[].header` may take are the contract's declared
/// path/query and header parameters: the enums in FieldError restate them, so they must agree.
#[test]
fn field_error_names_are_the_contracts_declared_parameters() {
    use std::collections::BTreeSet;

    let contract = Contract::load().expect("contract");
    let declared = |want: &[Location]| -> BTreeSet<String> {
        contract
            .operations()
            .expect("operations")
            .iter()
            .flat_map(|op| op.parameters.iter())
            .filter(|p| want.contains(&p.location))
            .map(|p| p.name.clone())
            .collect()
    };
    let listed = |member: &str| -> BTreeSet<String> {
        let schema = contract.schema("FieldError").expect("FieldError schema");
        schema["properties"][member]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("FieldError.{member} has an enum"))
            .iter()
            .map(|v| v.as_str().expect("string").to_owned())
            .collect()
    };
    assert_eq!(
        listed("parameter"),
        declared(&[Location::Path, Location::Query])
    );
    assert_eq!(listed("header"), declared(&[Location::Header]));
}

/// The API reference (`make docs`, `/_local/docs`) shows an example for every request body and
/// every response with a body, errors included, and each example is what its schema allows.
#[test]
fn every_body_in_the_contract_has_an_example_its_schema_accepts() {
    let contract = Contract::load().expect("contract");
    let doc: Value = serde_json::from_str(api_contract::OPENAPI_JSON).expect("openapi.json");
    let resolve = |v: &Value| -> Value {
        match v["$ref"].as_str() {
            Some(r) => doc
                .pointer(r.trim_start_matches('#'))
                .unwrap_or_else(|| panic!("{r} resolves"))
                .clone(),
            None => v.clone(),
        }
    };
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let mut bodies = Vec::new();
            if let Some(body) = op.get("requestBody") {
                bodies.push(("request".to_owned(), resolve(body)));
            }
            for (status, response) in op["responses"].as_object().expect("responses") {
                bodies.push((status.clone(), resolve(response)));
            }
            for (which, body) in bodies {
                let Some(content) = body.get("content").and_then(Value::as_object) else {
                    continue;
                };
                for (media, m) in content {
                    let at = format!("{method} {path} {which} {media}");
                    let example = m
                        .get("example")
                        .unwrap_or_else(|| panic!("{at}: no example"));
                    let name = m["schema"]["$ref"]
                        .as_str()
                        .and_then(|r| r.strip_prefix("#/components/schemas/"))
                        .unwrap_or_else(|| panic!("{at}: the schema is a component"));
                    let mut schema = contract.schema(name).expect("schema");
                    nullable_as_draft4(&mut schema);
                    let validator = jsonschema::draft4::new(&schema).expect("draft 4 schema");
                    let errors: Vec<String> = validator
                        .iter_errors(example)
                        .map(|e| e.to_string())
                        .collect();
                    assert!(
                        errors.is_empty(),
                        "{at}: the example fails {name}: {errors:?}"
                    );
                    if media == "application/problem+json" {
                        assert_eq!(
                            example["status"].as_u64().map(|s| s.to_string()),
                            Some(which.clone()),
                            "{at}: the example's status"
                        );
                    }
                    checked += 1;
                }
            }
        }
    }
    assert!(checked >= 40, "only {checked} examples checked");
}

/// OpenAPI 3.0's `nullable: true` beside `type: T` means `type: [T, "null"]` in draft 4.
fn nullable_as_draft4(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if map.get("nullable") == Some(&Value::Bool(true))
                && let Some(t) = map.get("type").cloned()
            {
                map.insert("type".into(), serde_json::json!([t, "null"]));
            }
            map.values_mut().for_each(nullable_as_draft4);
        }
        Value::Array(items) => items.iter_mut().for_each(nullable_as_draft4),
        _ => {}
    }
}

/// The per-user limit's refusal is in the contract: every operation may answer 429 with the
/// `TooManyRequests` response, which declares `Retry-After` and shows the functions' own problem
/// type and title, in a body the Problem schema accepts.
#[test]
fn the_user_limits_429_is_on_every_operation_and_matches_the_functions() {
    use items_core::http::{Problem, ProblemKind};

    let raw: Value =
        serde_json::from_str(include_str!("../openapi.json")).expect("api/openapi.json");
    let reference = serde_json::json!({ "$ref": "#/components/responses/TooManyRequests" });
    let mut operations = 0;
    for (path, item) in raw["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("a path item") {
            if op.get("x-function").is_none() {
                continue;
            }
            operations += 1;
            assert_eq!(op["responses"]["429"], reference, "{method} {path}");
        }
    }
    assert_eq!(operations, Route::ALL.len());

    let response = &raw["components"]["responses"]["TooManyRequests"];
    assert_eq!(
        response["headers"]["Retry-After"]["$ref"],
        "#/components/headers/RetryAfter"
    );
    let kind = ProblemKind::UserRateLimited;
    let example = &response["content"]["application/problem+json"]["example"];
    assert_eq!(example["type"], kind.type_uri());
    assert_eq!(example["title"], kind.title());
    assert_eq!(example["status"], kind.status().as_u16());
    assert!(
        response["description"]
            .as_str()
            .is_some_and(|d| d.contains(&kind.type_uri())),
        "the description names the problem type"
    );

    let contract = Contract::load().expect("contract");
    let schema = contract.schema("Problem").expect("Problem schema");
    let validator = jsonschema::draft4::new(&schema).expect("a valid draft 4 schema");
    let refusal = Problem::user_rate_limited(300, 60, 17).with_request_id("r-1");
    assert_eq!(refusal.retry_after, Some(17));
    for body in [
        example.clone(),
        serde_json::to_value(refusal).expect("serializes"),
    ] {
        let errors: Vec<String> = validator
            .iter_errors(&body)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{body} {errors:?}");
    }
}

/// The headers a browser may read are named once for the gateway (api/gateway-responses.json's
/// `cors`) and once in the functions (`items_core::cors::EXPOSE_HEADERS`): the same list; and
/// the preflight allows every request header the contract's operations take.
#[test]
fn cors_lists_agree_with_the_functions_and_the_contract() {
    let spec = api_contract::GatewayResponses::load()
        .expect("gateway responses")
        .cors;
    assert_eq!(
        spec.expose_headers,
        items_core::cors::EXPOSE_HEADERS.to_vec()
    );
    let contract = Contract::load().expect("contract");
    for op in contract.operations().expect("operations") {
        for p in op
            .parameters
            .iter()
            .filter(|p| p.location == Location::Header)
        {
            assert!(
                spec.allow_headers
                    .iter()
                    .any(|h| h.eq_ignore_ascii_case(&p.name)),
                "{} {}: the preflight allows {}",
                op.method,
                op.path,
                p.name
            );
        }
    }
}
