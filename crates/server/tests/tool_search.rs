//! Discovery mode's tool finder against the evaluation set (`data/tool_search_eval.tsv`):
//! plain-language tasks and the tool each needs. Ranking is deterministic, so recall is a
//! test: at least 95 % of the tasks must find their tool among the first three.

use std::collections::BTreeSet;

use nextcloud_mcp::mcp::discover::ToolFinder;

const EVAL: &str = include_str!("data/tool_search_eval.tsv");

fn cases() -> Vec<(&'static str, &'static str)> {
    EVAL.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (task, tool) = l.split_once('\t').unwrap_or_else(|| panic!("no tab: {l}"));
            (task.trim(), tool.trim())
        })
        .collect()
}

#[test]
fn recall_at_3_is_at_least_95_percent() {
    let tools = nextcloud_mcp::tools::catalogue().list_all();
    let names: BTreeSet<String> = tools.iter().map(|t| t.name.to_string()).collect();
    let finder = ToolFinder::new(&tools).expect("index");
    let cases = cases();
    assert!(cases.len() >= 150, "{} tasks", cases.len());
    let (mut at1, mut at3) = (0, 0);
    let mut misses = Vec::new();
    for (task, expected) in &cases {
        assert!(names.contains(*expected), "no tool `{expected}` ({task})");
        let found: Vec<String> = finder.find(task).into_iter().map(|f| f.name).collect();
        let rank = found.iter().position(|n| n == expected);
        if rank == Some(0) {
            at1 += 1;
        }
        if rank.is_some_and(|r| r < 3) {
            at3 += 1;
        } else {
            misses.push(format!(
                "{task} -> {expected} (rank {}), got {:?}",
                rank.map_or("-".to_string(), |r| (r + 1).to_string()),
                &found[..found.len().min(3)]
            ));
        }
    }
    let n = cases.len() as f64;
    let (r1, r3) = (at1 as f64 / n, at3 as f64 / n);
    println!(
        "tool search: {} tasks, recall@1 {:.1} %, recall@3 {:.1} %",
        cases.len(),
        r1 * 100.0,
        r3 * 100.0
    );
    for miss in &misses {
        println!("  miss: {miss}");
    }
    assert!(r3 >= 0.95, "recall@3 {:.1} % < 95 %", r3 * 100.0);
}

#[test]
fn every_tool_is_the_answer_to_some_task() {
    let covered: BTreeSet<&str> = cases().into_iter().map(|(_, tool)| tool).collect();
    for tool in nextcloud_mcp::tools::catalogue().list_all() {
        assert!(
            covered.contains(tool.name.as_ref()),
            "no task in the evaluation set needs `{}`",
            tool.name
        );
    }
}

#[test]
fn nonsense_finds_nothing() {
    let finder = ToolFinder::new(&nextcloud_mcp::tools::catalogue().list_all()).unwrap();
    assert!(finder.find("").is_empty());
    assert!(finder.find("the of and").is_empty());
    assert!(finder.find("xyzzy plugh").is_empty());
}
