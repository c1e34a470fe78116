//! Local mode: the items API on 127.0.0.1, behaving like the deployed API Gateway stage.
//!
//! [`gateway::Gateway`] does what API Gateway does in front of the functions, reading the same
//! contract (`api/openapi.json`, `api/gateway-responses.json`) and stage settings
//! (`config/stages.json`) as the CDK stack, then calls the same handler code the Lambda
//! functions run (`items_core::App::handle`) with the proxy event API Gateway would send.
//! [`start`] prepares everything (the DynamoDB table included) and binds the port; [`serve`]
//! answers until told to stop.

pub mod config;
pub mod cors;
pub mod credentials;
pub mod gateway;
pub mod identity;
pub mod reference;
pub mod responses;
pub mod throttle;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use api_contract::{Contract, GatewayResponses};
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use items_core::table::TableSpec;
use items_core::{App, DynamoStore};
use tokio::net::TcpListener;

use crate::config::Settings;
use crate::gateway::{Gateway, GatewayInitError};
use crate::identity::{Identity, IdentityError};
use crate::throttle::Throttles;

/// Why the server could not start, in words a person can act on.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Gateway(#[from] GatewayInitError),
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error(transparent)]
    Client(#[from] items_core::config::ConfigError),
    #[error("api/table.json cannot be read: {0}")]
    TableSpec(#[from] serde_json::Error),
    #[error(
        "DynamoDB Local does not answer at {endpoint}: {detail}\n  start it with `scripts/dynamodb-local.sh start` (or run `make dev`, which does)"
    )]
    DynamoDb { endpoint: String, detail: String },
    #[error("cannot use the table {table:?}: {detail}")]
    CreateTable { table: String, detail: String },
    #[error(
        "port {port} on 127.0.0.1 is already in use: is `make dev` already running? Stop it, or pick another port with PORT=…"
    )]
    PortInUse { port: u16 },
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Bind {
        port: u16,
        #[source]
        source: std::io::Error,
    },
}

/// Creates the table as `api/table.json` declares it, unless it exists already (a restarted
/// server keeps its data).
pub async fn ensure_table(
    client: &aws_sdk_dynamodb::Client,
    endpoint: &str,
    table: &str,
) -> Result<bool, StartError> {
    match client.describe_table().table_name(table).send().await {
        Ok(_) => return Ok(false),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) => {}
        Err(e) => {
            return Err(match e.as_service_error() {
                Some(service) => StartError::CreateTable {
                    table: table.to_owned(),
                    detail: service.meta().message().unwrap_or("refused").to_owned(),
                },
                None => StartError::DynamoDb {
                    endpoint: endpoint.to_owned(),
                    detail: DisplayErrorContext(&e).to_string(),
                },
            });
        }
    }
    match TableSpec::from_contract()?.create(client, table).await {
        Ok(()) => Ok(true),
        Err(aws_sdk_dynamodb::Error::ResourceInUseException(_)) => Ok(false),
        Err(e) => Err(StartError::CreateTable {
            table: table.to_owned(),
            detail: e
                .meta()
                .message()
                .map_or_else(|| DisplayErrorContext(&e).to_string(), str::to_owned),
        }),
    }
}

/// Everything prepared, the port bound: call [`serve`] next.
#[derive(Debug)]
pub struct Started {
    pub listener: TcpListener,
    pub address: SocketAddr,
    pub gateway: Arc<Gateway>,
    pub table_created: bool,
}

pub async fn start(settings: &Settings) -> Result<Started, StartError> {
    let contract = Contract::load().map_err(GatewayInitError::from)?;
    let responses = GatewayResponses::load().map_err(GatewayInitError::from)?;
    // One API key per client app of the stage, derived from the signing secret.
    let clients = settings.limits.clients.names();
    let identity = match &settings.jwt_secret {
        Some(secret) => Identity::from_secret(secret, clients)?,
        None => Identity::generate(clients)?,
    };
    let client = items_core::config::dynamodb_local_client(&settings.dynamodb_endpoint)?;
    let table_created = ensure_table(&client, &settings.dynamodb_endpoint, &settings.table).await?;
    let app = App::new(DynamoStore::new(client, settings.table.clone()))
        .with_user_limit(settings.user_limit)
        .with_cors(settings.cors.clone());
    let gateway = Gateway::new(
        &contract,
        responses,
        identity,
        Throttles::new(settings.limits.clone()),
        app,
    )?
    .with_docs_page(settings.docs_page.clone())
    .with_cors(settings.cors.clone());
    let listener = TcpListener::bind(("127.0.0.1", settings.port))
        .await
        .map_err(|source| match source.kind() {
            std::io::ErrorKind::AddrInUse => StartError::PortInUse {
                port: settings.port,
            },
            _ => StartError::Bind {
                port: settings.port,
                source,
            },
        })?;
    let address = listener.local_addr().map_err(|source| StartError::Bind {
        port: settings.port,
        source,
    })?;
    Ok(Started {
        listener,
        address,
        gateway: Arc::new(gateway),
        table_created,
    })
}

/// API Gateway's quota on a REST request's request line and headers together (10240 bytes).
/// hyper refuses a longer head with a bare 431 before the gateway sees it; it counts header
/// names too, so this is a close approximation.
pub const MAX_HEAD_BYTES: usize = 10 * 1024;

/// Answers HTTP/1.1 on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    gateway: Arc<Gateway>,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                continue;
            }
        };
        let gateway = Arc::clone(&gateway);
        tokio::spawn(async move {
            let service = service_fn(move |req| Arc::clone(&gateway).handle(req, peer));
            if let Err(e) = http1::Builder::new()
                .max_buf_size(MAX_HEAD_BYTES)
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(error = %e, "connection closed with an error");
            }
        });
    }
}
