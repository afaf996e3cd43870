//! The tool catalogue's cost in a client's context. MCP clients put the whole `tools/list`
//! into the model's context on every turn, so its size is a budget, checked for every mode and
//! profile with every app installed. The sizes are deterministic, so this is a test, not a
//! benchmark; it prints the table the README shows:
//! `cargo test -p nextcloud-mcp --test catalogue_budget -- --nocapture`.

use nextcloud_mcp::NextcloudMcp;
use nextcloud_mcp::cli::{Profile, ToolMode};
use nextcloud_mcp::config::ToolSelection;
use rmcp::model::Tool;

/// Names + descriptions + input schemas: what the model reads to choose a tool.
const LISTING_BUDGET: usize = 64 * 1024;
/// All output schemas together.
const OUTPUT_BUDGET: usize = 128 * 1024;
/// Discovery mode's meta tools, everything included.
const DISCOVERY_BUDGET: usize = 6 * 1024;

fn listing_bytes(tools: &[Tool]) -> usize {
    tools
        .iter()
        .map(|t| {
            t.name.len()
                + t.description.as_deref().map_or(0, str::len)
                + serde_json::to_string(&*t.input_schema)
                    .expect("schema")
                    .len()
        })
        .sum()
}

fn output_bytes(tools: &[Tool]) -> usize {
    tools
        .iter()
        .filter_map(|t| t.output_schema.as_ref())
        .map(|s| serde_json::to_string(&**s).expect("schema").len())
        .sum()
}

/// A rough token estimate for JSON-heavy text: about four bytes a token.
fn tokens(bytes: usize) -> usize {
    bytes.div_ceil(4)
}

fn listed(profiles: &[Profile], mode: ToolMode) -> Vec<Tool> {
    let selection = nextcloud_mcp::profiles::apply(profiles, ToolSelection::default());
    NextcloudMcp::listed_tools(&selection, mode).expect("a valid selection")
}

#[test]
fn every_mode_and_profile_fits_its_budgets() {
    let rows: [(&str, Vec<Tool>); 5] = [
        ("default (every app)", listed(&[], ToolMode::All)),
        (
            "`--profile personal`",
            listed(&[Profile::Personal], ToolMode::All),
        ),
        ("`--profile team`", listed(&[Profile::Team], ToolMode::All)),
        (
            "`--profile read-only`",
            listed(&[Profile::ReadOnly], ToolMode::All),
        ),
        ("`--tool-mode discover`", listed(&[], ToolMode::Discover)),
    ];
    println!("| configuration | tools | names + descriptions + inputs | output schemas |");
    println!("|---|---:|---:|---:|");
    let mut over = Vec::new();
    for (name, tools) in &rows {
        let (listing, outputs) = (listing_bytes(tools), output_bytes(tools));
        println!(
            "| {name} | {} | {listing} B (≈ {} tokens) | {outputs} B (≈ {} tokens) |",
            tools.len(),
            tokens(listing),
            tokens(outputs)
        );
        if listing > LISTING_BUDGET {
            over.push(format!("{name}: inputs {listing} B > {LISTING_BUDGET} B"));
        }
        if outputs > OUTPUT_BUDGET {
            over.push(format!("{name}: outputs {outputs} B > {OUTPUT_BUDGET} B"));
        }
    }
    let discover = &rows[4].1;
    let whole = listing_bytes(discover) + output_bytes(discover);
    if whole > DISCOVERY_BUDGET {
        over.push(format!("discovery tools: {whole} B > {DISCOVERY_BUDGET} B"));
    }
    assert!(over.is_empty(), "over budget: {over:#?}");
}

/// One tool's share: none may take more than 4 % of the listing budget (the richest, event
/// creation with 22 parameters, takes about 2.2 KB).
#[test]
fn no_tool_is_a_heavyweight() {
    let tools = listed(&[], ToolMode::All);
    let mut heavy: Vec<(usize, String)> = tools
        .iter()
        .map(|t| (listing_bytes(std::slice::from_ref(t)), t.name.to_string()))
        .filter(|(bytes, _)| *bytes > LISTING_BUDGET / 25)
        .collect();
    heavy.sort_unstable_by(|a, b| b.cmp(a));
    assert!(heavy.is_empty(), "tools over 4 % of the budget: {heavy:?}");
}
