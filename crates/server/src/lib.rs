//! `nextcloud-mcp`: a Model Context Protocol server for Nextcloud.
//!
//! Layout: [`cli`] declares every setting, [`settings`] reads them from flags, environment and
//! a TOML file, and [`config`] resolves them into a [`Config`];
//! [`mcp`] is the MCP handler (tool visibility, routing, resources); [`tools`] has one
//! module per Nextcloud app, each a thin layer over the `nextcloud` client crate;
//! [`transport`] serves the handler over stdio or streamable HTTP; [`search`] keeps local
//! full-text indexes. See `docs/ARCHITECTURE.md`.

pub mod api;
pub mod apps;
pub mod astrolabe;
pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
#[cfg(feature = "demo")]
pub mod demo;
pub mod logging;
pub mod mcp;
pub mod memory;
pub mod metrics;
pub mod profiles;
pub mod search;
pub mod settings;
pub mod telemetry;
pub mod tools;
pub mod transport;

pub use config::Config;
pub use mcp::NextcloudMcp;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

/// Builds the server from a resolved configuration and serves it until shutdown.
pub async fn run(config: Config) -> anyhow::Result<()> {
    run_with(config, |server| server).await
}

/// As [`run`], serving `wrap(server)`: a handler that adds to the product's (the conformance
/// crate's fixtures) is served the same way, without the product carrying it.
pub async fn run_with<H>(config: Config, wrap: impl FnOnce(NextcloudMcp) -> H) -> anyhow::Result<()>
where
    H: rmcp::ServerHandler + Clone + AsRef<NextcloudMcp>,
{
    let server = if config.auth.is_multi_user() {
        let server = build_multi_user_server(&config).await?;
        if let Some(multi) = &server.state().multi {
            multi
                .store
                .spawn_cleanup(config.auth.audit_retention, CancellationToken::new());
        }
        server
    } else {
        let server = build_server(&config)?;
        spawn_credentials_check(&server);
        server
    };
    // Start-up's garbage (schema generation, configuration) goes back now, a load peak's
    // once the server has gone quiet after it.
    memory::trim();
    memory::spawn_idle_trim(memory::QUIET_PERIOD);
    let server = wrap(server);
    match config.transport {
        cli::Transport::Stdio => transport::stdio::serve(server).await,
        cli::Transport::StreamableHttp => {
            let listener = tokio::net::TcpListener::bind((config.host, config.port))
                .await
                .with_context(|| format!("cannot listen on {}:{}", config.host, config.port))?;
            transport::http::serve(server, &config.http, listener, shutdown_signal()).await
        }
    }
}

/// Semantic search's embedder: loads the model folder (once, at start-up) or prepares the
/// endpoint client.
fn embedder(config: &Config) -> anyhow::Result<Option<search::semantic::Embedder>> {
    let Some(settings) = &config.embedding else {
        return Ok(None);
    };
    let embedder = search::semantic::Embedder::new(settings, config.nextcloud.verify_ssl)?;
    tracing::info!(model = %embedder.name(), "semantic search embeds with this model");
    Ok(Some(embedder))
}

/// The shared Nextcloud client, probing only the capability-less apps the selection offers.
fn nextcloud_client(config: &Config) -> anyhow::Result<nextcloud::Nextcloud> {
    let mut client = config.nextcloud.client_config();
    client.probed_apps = mcp::selection::probed_apps(&config.selection);
    nextcloud::Nextcloud::new(client).context("cannot set up the Nextcloud client")
}

/// The MCP handler for a `single_user_basic` configuration, without starting any transport.
pub fn build_server(config: &Config) -> anyhow::Result<NextcloudMcp> {
    let nextcloud = nextcloud_client(config)?;
    let credentials = config
        .nextcloud
        .credentials()
        .context("this deployment mode serves many users: build it with build_multi_user_server")?;
    let user = nextcloud.user(credentials);
    Ok(NextcloudMcp::new(nextcloud, user, &config.selection)?
        .with_embedder(embedder(config)?)
        .with_file_settings(config.files.clone())
        .with_timezone(config.timezone.clone())
        .with_search_settings(config.search.clone())
        .with_tool_mode(config.tool_mode)?)
}

/// The MCP handler for `multi_user_basic` / `login_flow`: opens (and migrates) the credential
/// store and sets up the bearer-token verifier.
pub async fn build_multi_user_server(config: &Config) -> anyhow::Result<NextcloudMcp> {
    let nextcloud = nextcloud_client(config)?;
    let keys = config
        .auth
        .keys
        .clone()
        .context("TOKEN_ENCRYPTION_KEY is not set")?;
    let store = db::Store::open(&config.auth.store, keys).await?;
    let authorization_server = config.auth.builtin_authorization_server().then(|| {
        std::sync::Arc::new(auth::authorization_server::AuthorizationServer::new(
            &config.auth.resource_url,
            store.clone(),
            nextcloud.clone(),
            config.auth.public_url.clone(),
        ))
    });
    let verifier = (config.auth.mode == cli::DeploymentMode::LoginFlow
        && authorization_server.is_none())
    .then(|| {
        auth::oauth::Verifier::new(
            config.auth.oidc_discovery_url.clone(),
            &config.auth.resource_url,
            &config.auth.oidc_user_claim,
            config.auth.oidc_client.clone(),
            config.nextcloud.verify_ssl,
        )
    });
    let multi = std::sync::Arc::new(auth::MultiUser {
        settings: config.auth.clone(),
        provisioning: auth::provisioning::Provisioning::new(store.clone(), nextcloud.clone()),
        store,
        verifier,
        authorization_server,
    });
    Ok(
        NextcloudMcp::multi_user(nextcloud, multi, &config.selection)?
            .with_embedder(embedder(config)?)
            .with_file_settings(config.files.clone())
            .with_timezone(config.timezone.clone())
            .with_search_settings(config.search.clone())
            .with_tool_mode(config.tool_mode)?,
    )
}

/// `nextcloud-mcp rotate-keys`: re-encrypts stored secrets under the current key.
pub async fn rotate_keys(config: Config) -> anyhow::Result<usize> {
    let keys = config
        .auth
        .keys
        .clone()
        .context("TOKEN_ENCRYPTION_KEY is not set: it is the key to re-encrypt under")?;
    let store = db::Store::open(&config.auth.store, keys).await?;
    Ok(store.rotate_keys().await?)
}

/// Checks the configured credentials in the background, so a typo shows up in the log at
/// once without delaying start-up or failing when Nextcloud is briefly down.
fn spawn_credentials_check(server: &NextcloudMcp) {
    let Some(user) = server.state().user.clone() else {
        return;
    };
    tokio::spawn(async move {
        match user.current_user().await {
            Ok(me) => tracing::info!(user_id = %me.id, "Nextcloud credentials accepted"),
            Err(e) => tracing::error!(error = %e, "Nextcloud credentials check failed"),
        }
    });
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
