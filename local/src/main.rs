//! `local-server`: the items API on 127.0.0.1 as API Gateway serves it. `--help` lists the
//! options. Prints `local-server listening on http://127.0.0.1:PORT` once it answers.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use local_server::config::{Cli, Settings};

fn main() -> ExitCode {
    // `--help`, and a usage error (exit 2), are clap's.
    let cli = Cli::parse();
    let settings = match Settings::from_cli(cli, |k| std::env::var(k).ok()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("local-server: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("local-server: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(settings))
}

async fn run(settings: Settings) -> ExitCode {
    items_core::telemetry::init();
    let started = match local_server::start(&settings).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("local-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    let limits = &settings.limits;
    tracing::info!(
        table = %settings.table,
        tableCreated = started.table_created,
        dynamodbEndpoint = %settings.dynamodb_endpoint,
        stagesFile = %settings.stages_file.display(),
        stage = %settings.stage,
        stageRate = limits.throttle.rate_limit,
        stageBurst = limits.throttle.burst_limit,
        clients = %limits.clients.names().collect::<Vec<_>>().join(","),
        "local-server ready"
    );
    // The line scripts and tests wait for.
    println!("local-server listening on http://{}", started.address);
    let _ = std::io::stdout().flush();
    local_server::serve(started.listener, started.gateway, shutdown_signal()).await;
    tracing::info!("local-server stopped");
    ExitCode::SUCCESS
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
