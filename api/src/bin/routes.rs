//! `routes`: the route table as the contract defines it, one line per operation: operation id,
//! method, path, the function serving it and the only DynamoDB actions its role holds.
//!
//!   cargo run -q -p api-contract --bin routes                 the compiled-in api/openapi.json
//!   cargo run -q -p api-contract --bin routes -- FILE         another contract file
//!   cargo run -q -p api-contract --bin routes -- --json FILE  as JSON (what the CDK agreement
//!                                                             test compares with its own reading)
//!
//! A contract that breaks the reading rules prints the rule's sentence and exits 1.

use std::process::ExitCode;

use api_contract::{Contract, ContractError, Operation};

fn table(ops: &[Operation]) -> String {
    let rows: Vec<[String; 5]> = ops
        .iter()
        .map(|o| {
            [
                o.operation_id.clone(),
                o.method.clone(),
                o.path.clone(),
                o.function.clone(),
                o.dynamodb_actions.join(", "),
            ]
        })
        .collect();
    let header = [
        "operation",
        "method",
        "path",
        "function",
        "DynamoDB actions",
    ]
    .map(str::to_owned);
    let widths: Vec<usize> = (0..5)
        .map(|i| {
            std::iter::once(&header)
                .chain(&rows)
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

fn main() -> ExitCode {
    let mut json = false;
    let mut file = None;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--json" => json = true,
            "-h" | "--help" => {
                println!("usage: routes [--json] [CONTRACT_FILE]  (default: api/openapi.json)");
                return ExitCode::SUCCESS;
            }
            _ if file.is_none() && !arg.starts_with('-') => file = Some(arg),
            _ => {
                eprintln!("routes: unexpected argument {arg:?} (try --help)");
                return ExitCode::from(2);
            }
        }
    }
    let contract = match &file {
        None => Contract::load(),
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| ContractError::Malformed(format!("cannot read {path}: {e}")))
            .and_then(|text| Contract::parse(&text)),
    };
    let operations = match contract.and_then(|c| c.operations()) {
        Ok(ops) => ops,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    if json {
        match serde_json::to_string_pretty(&operations) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("routes: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        print!("{}", table(&operations));
    }
    ExitCode::SUCCESS
}
