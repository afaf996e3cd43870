//! A team handbook collective with nested pages, their markdown written over WebDAV as the
//! Collectives editor saves it, and a tag on one page.

use serde_json::{Value, json};

use super::{SeedError, Seeder, id_of};
use crate::dav::encode_path;

const API: &str = "/ocs/v2.php/apps/collectives/api/v1.0/collectives";

/// Writes a page's markdown to its file.
async fn write(s: &Seeder, page: &Value, markdown: &str) -> Result<(), SeedError> {
    let path = [
        page["collectivePath"].as_str().unwrap_or_default(),
        page["filePath"].as_str().unwrap_or_default(),
        page["fileName"].as_str().unwrap_or_default(),
    ]
    .iter()
    .filter(|p| !p.is_empty())
    .copied()
    .collect::<Vec<_>>()
    .join("/");
    s.send(
        "PUT",
        &format!(
            "/remote.php/dav/files/{}/{}",
            encode_path(&s.user),
            encode_path(&path)
        ),
        Some("text/markdown"),
        markdown.to_string(),
    )
    .await
    .map(drop)
}

async fn page(s: &Seeder, cid: u64, parent: u64, title: &str) -> Result<Value, SeedError> {
    let out = s
        .json(
            "POST",
            &format!("{API}/{cid}/pages/{parent}?format=json"),
            json!({ "title": title }),
        )
        .await?;
    Ok(out["page"].clone())
}

pub(super) async fn seed(s: &Seeder) -> Result<(), SeedError> {
    let out = s
        .json(
            "POST",
            &format!("{API}?format=json"),
            json!({"name": "Team handbook", "emoji": "📘"}),
        )
        .await?;
    let cid = id_of(&out["collective"], "the collective")?;
    let pages = s
        .json("GET", &format!("{API}/{cid}/pages?format=json"), json!({}))
        .await?;
    let landing = pages["pages"][0].clone();
    let landing_id = id_of(&landing, "the landing page")?;
    write(
        s,
        &landing,
        "# Team handbook\n\nHow we work: start with **Onboarding**, then read **Meetings**.\n",
    )
    .await?;

    let onboarding = page(s, cid, landing_id, "Onboarding").await?;
    let onboarding_id = id_of(&onboarding, "Onboarding")?;
    let first_week = page(s, cid, onboarding_id, "First week").await?;
    let accounts = page(s, cid, onboarding_id, "Accounts and access").await?;
    let meetings = page(s, cid, landing_id, "Meetings").await?;
    // The parent became a folder when it got subpages: read it again for its file's place.
    let onboarding = s
        .json(
            "GET",
            &format!("{API}/{cid}/pages/{onboarding_id}?format=json"),
            json!({}),
        )
        .await?["page"]
        .clone();
    write(
        s,
        &onboarding,
        "# Onboarding\n\nWelcome aboard! The subpages walk you through your first days.\n",
    )
    .await?;
    write(
        s,
        &first_week,
        "# First week\n\n- Meet your buddy\n- Set up your laptop\n- Join the Monday stand-up\n",
    )
    .await?;
    write(
        s,
        &accounts,
        "# Accounts and access\n\nAsk IT for a Nextcloud account, VPN access and a badge.\n",
    )
    .await?;
    write(
        s,
        &meetings,
        "# Meetings\n\nStand-up every weekday at 9:30. Retrospective every other Friday.\n",
    )
    .await?;

    let tag = s
        .json(
            "POST",
            &format!("{API}/{cid}/tags?format=json"),
            json!({"name": "howto", "color": "0082c9"}),
        )
        .await?;
    let tag_id = id_of(&tag["tag"], "the tag")?;
    let first_week_id = id_of(&first_week, "First week")?;
    s.json(
        "PUT",
        &format!("{API}/{cid}/pages/{first_week_id}/tags/{tag_id}?format=json"),
        json!({}),
    )
    .await?;
    Ok(())
}
