use rmcp::{ServerHandler, ServiceExt};

/// Serves one client over stdin/stdout until it disconnects.
pub async fn serve(server: impl ServerHandler) -> anyhow::Result<()> {
    tracing::info!("serving MCP over stdio");
    let running = server.serve(rmcp::transport::stdio()).await?;
    running.waiting().await?;
    Ok(())
}
