//! News: two feeds (one in a folder) with articles whose bodies are HTML, one article starred
//! and one read, and a third feed whose updates fail (for feed health).
//!
//! The feed documents are registered with the emulator (it fetches nothing from the web), then
//! subscribed to through the app's API as a client would.

use serde_json::json;

use super::{SeedError, Seeder, id_of};
use crate::news::{Source, SourceItem};
use crate::state::AppState;

const API: &str = "/index.php/apps/news/api/v1-3";

const KITCHEN: &str = "https://kitchen-notes.example.org/feed.xml";
const RELEASES: &str = "https://releases.example.com/atom.xml";
const OUTAGE: &str = "https://status.example.net/rss";

/// The feed documents, served at their URLs from now on.
pub(super) fn register(state: &AppState) {
    let now = state.now();
    let day = 86_400;
    let item = |guid: &str, title: &str, age_days: i64, body: &str| SourceItem {
        guid: guid.into(),
        title: title.into(),
        url: Some(format!("https://kitchen-notes.example.org/{guid}")),
        author: Some("Mara Lind".into()),
        pub_date: now - age_days * day,
        body: body.into(),
    };
    crate::news::register_source(
        state,
        KITCHEN,
        Source {
            title: "Kitchen Notes".into(),
            link: Some("https://kitchen-notes.example.org/".into()),
            items: vec![
                item(
                    "sourdough-basics",
                    "Sourdough basics",
                    6,
                    "<p>A starter needs <strong>flour, water and patience</strong>.</p>\
                     <ul><li>Feed it daily</li><li>Keep it at 24&nbsp;°C</li></ul>",
                ),
                item(
                    "winter-soups",
                    "Five winter soups",
                    3,
                    "<h2>Warming bowls</h2><p>From <em>lentil</em> to pumpkin, \
                     <a href=\"https://kitchen-notes.example.org/soups\">all five recipes</a>.</p>",
                ),
                item(
                    "knife-care",
                    "Caring for kitchen knives",
                    1,
                    "<p>Hone before each use, sharpen twice a year.</p>",
                ),
            ],
            failing: None,
        },
    );
    let release = |guid: &str, title: &str, age_days: i64, body: &str| SourceItem {
        guid: guid.into(),
        title: title.into(),
        url: Some(format!("https://releases.example.com/{guid}")),
        author: None,
        pub_date: now - age_days * day,
        body: body.into(),
    };
    crate::news::register_source(
        state,
        RELEASES,
        Source {
            title: "Release Radar".into(),
            link: Some("https://releases.example.com/".into()),
            items: vec![
                release(
                    "v2-0",
                    "Version 2.0 is out",
                    5,
                    "<p>Highlights:</p><ol><li>Faster sync</li><li>Dark mode</li></ol>",
                ),
                release(
                    "v2-1",
                    "Version 2.1 fixes",
                    2,
                    "<p>Bug fixes for <code>sync</code> conflicts.</p>",
                ),
            ],
            failing: None,
        },
    );
    crate::news::register_source(
        state,
        OUTAGE,
        Source {
            title: "Service status".into(),
            link: Some("https://status.example.net/".into()),
            items: Vec::new(),
            failing: None,
        },
    );
}

/// Subscribes through the API, files one feed in a folder, stars and reads an article, then
/// lets the status feed fail its updates.
pub(super) async fn seed(s: &Seeder, state: &AppState) -> Result<(), SeedError> {
    let folder = s
        .json(
            "POST",
            &format!("{API}/folders"),
            json!({"name": "Cooking"}),
        )
        .await?;
    let folder_id = id_of(&folder["folders"][0], "the News folder")?;
    s.json(
        "POST",
        &format!("{API}/feeds"),
        json!({"url": KITCHEN, "folderId": folder_id}),
    )
    .await?;
    s.json(
        "POST",
        &format!("{API}/feeds"),
        json!({"url": RELEASES, "folderId": null}),
    )
    .await?;
    s.json(
        "POST",
        &format!("{API}/feeds"),
        json!({"url": OUTAGE, "folderId": null}),
    )
    .await?;
    let items = s
        .json(
            "GET",
            &format!("{API}/items?type=3&id=0&batchSize=-1"),
            json!({}),
        )
        .await?;
    let ids: Vec<u64> = items["items"]
        .as_array()
        .map(|a| a.iter().filter_map(|i| i["id"].as_u64()).collect())
        .unwrap_or_default();
    if let (Some(newest), Some(oldest)) = (ids.first(), ids.last()) {
        s.json("POST", &format!("{API}/items/{oldest}/star"), json!({}))
            .await?;
        s.json("POST", &format!("{API}/items/{newest}/read"), json!({}))
            .await?;
    }
    for _ in 0..3 {
        crate::news::record_update_error(
            state,
            &s.user,
            OUTAGE,
            "cURL error 28: Operation timed out after 30001 milliseconds",
        );
    }
    Ok(())
}
