//! `nextcloud-emulator`: run the emulator as a standalone server for manual testing, demos and
//! out-of-process tests (faults via `PUT /__emulator/faults`).

use std::net::{IpAddr, SocketAddr};

use clap::Parser;
use nextcloud_emulator::Emulator;

/// A stateful stand-in for a Nextcloud 34 server.
#[derive(Parser, Debug)]
#[command(name = "nextcloud-emulator", version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port to listen on (0 = any free port).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// A user as `id:password` or `id:login:password`; repeatable. Default: `alice:secret`.
    #[arg(long = "user", value_name = "ID:PASSWORD")]
    users: Vec<String>,
    /// A user id to put in the `admin` group; repeatable.
    #[arg(long = "admin", value_name = "ID")]
    admins: Vec<String>,
    /// Comma-separated installed apps (default: notes,deck,tables,cookbook,files_sharing,...).
    #[arg(long, value_delimiter = ',')]
    apps: Option<Vec<String>>,
    /// Seed every user with sample notes.
    #[arg(long)]
    sample_data: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let mut builder = Emulator::builder().bind(SocketAddr::new(args.host, args.port));
    let users = if args.users.is_empty() {
        vec!["alice:secret".to_string()]
    } else {
        args.users
    };
    for spec in &users {
        let parts: Vec<&str> = spec.splitn(3, ':').collect();
        builder = match parts.as_slice() {
            [id, password] => builder.user(id, password),
            [id, login, password] => builder.user_with_login(id, login, password),
            _ => anyhow::bail!("--user expects ID:PASSWORD or ID:LOGIN:PASSWORD, got {spec:?}"),
        };
    }
    for id in &args.admins {
        builder = builder.admin(id);
    }
    if let Some(apps) = &args.apps {
        let apps: Vec<&str> = apps.iter().map(String::as_str).collect();
        builder = builder.installed_apps(&apps);
    }
    if args.sample_data {
        builder = builder.sample_data();
    }
    let emulator = builder.start().await?;
    println!("{}", emulator.base_url());
    tokio::signal::ctrl_c().await?;
    tracing::info!("shutting down");
    emulator.shutdown().await;
    Ok(())
}
