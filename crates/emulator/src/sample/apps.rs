//! A Deck board, a table, shopping lists, files and a public share, created through the
//! apps' APIs.

use chrono::Duration;
use serde_json::{Value, json};

use super::{SeedError, Seeder, id_of};
use crate::dav::encode_path;

pub(super) async fn seed(s: &Seeder) -> Result<(), SeedError> {
    files(s).await?;
    deck(s).await?;
    tables(s).await?;
    shopping_list(s).await
}

/// A sample item: name, quantity, unit.
type SampleItem = (&'static str, Option<&'static str>, Option<&'static str>);

/// Two shopping lists, one item of the groceries already ticked off.
async fn shopping_list(s: &Seeder) -> Result<(), SeedError> {
    let api = "/ocs/v2.php/apps/shopping_list/api/v1";
    let lists: [(&str, &[SampleItem]); 2] = [
        (
            "Groceries",
            &[
                ("Milk", Some("2"), Some("l")),
                ("Eggs", Some("12"), None),
                ("Bread", None, None),
                ("Apples", Some("1"), Some("kg")),
                ("Coffee beans", Some("500"), Some("g")),
            ],
        ),
        (
            "Hardware store",
            &[
                ("Light bulbs", Some("4"), None),
                ("Wood screws", None, None),
            ],
        ),
    ];
    for (title, items) in lists {
        let list = s
            .json(
                "POST",
                &format!("{api}/lists?format=json"),
                json!({"title": title}),
            )
            .await?;
        let list_id = id_of(&list, "the shopping list")?;
        for (name, quantity, unit) in items {
            let item = s
                .json(
                    "POST",
                    &format!("{api}/lists/{list_id}/items?format=json"),
                    json!({"name": name, "quantity": quantity, "unit": unit}),
                )
                .await?;
            if *name == "Bread" {
                let id = id_of(&item, "the item")?;
                s.json(
                    "PUT",
                    &format!("{api}/lists/{list_id}/items/{id}/check?format=json"),
                    json!({"checked": true}),
                )
                .await?;
            }
        }
    }
    Ok(())
}

async fn files(s: &Seeder) -> Result<(), SeedError> {
    let root = format!("/remote.php/dav/files/{}", encode_path(&s.user));
    for dir in ["Documents", "Photos"] {
        s.send("MKCOL", &format!("{root}/{dir}"), None, "").await?;
    }
    let plan = "# Project Apollo plan\n\n| Phase | When | Owner |\n|---|---|---|\n| Discovery | Q1 | Anna |\n| Prototype | Q2 | Ben |\n| Beta with pilots | Q3 | Chiara |\n| General availability | Q4 | Anna |\n\n## Risks\n- Pilot customers need SSO before the beta.\n- The migration guide is not written yet.\n";
    let budget = "item,quarter,amount_eur\nPrototype hosting,Q2,1200\nUser interviews,Q1,800\nBeta support,Q3,2500\n";
    let uploads: [(&str, &str, Vec<u8>); 3] = [
        ("Documents/Project plan.md", "text/markdown", plan.into()),
        ("Documents/Budget.csv", "text/csv", budget.into()),
        ("Photos/Lake.png", "image/png", super::sample_png()),
    ];
    for (path, ct, body) in uploads {
        s.send(
            "PUT",
            &format!("{root}/{}", encode_path(path)),
            Some(ct),
            body,
        )
        .await?;
    }
    let share = s
        .json(
            "POST",
            "/ocs/v2.php/apps/files_sharing/api/v1/shares?format=json",
            json!({"path": "/Documents/Project plan.md", "shareType": 3, "permissions": 1,
                   "label": "Plan for the pilots"}),
        )
        .await?;
    id_of(&share, "the public share").map(drop)
}

/// A Deck card of the sample board.
struct SampleCard {
    title: &'static str,
    description: &'static str,
    due: Option<String>,
    /// One of the labels Deck gives every new board.
    label: &'static str,
}

async fn deck(s: &Seeder) -> Result<(), SeedError> {
    let api = "/index.php/apps/deck/api/v1.0";
    let board = s
        .json(
            "POST",
            &format!("{api}/boards"),
            json!({"title": "Project Apollo", "color": "0082c9"}),
        )
        .await?;
    let board_id = id_of(&board, "the Deck board")?;
    let label = |title: &str| -> Option<u64> {
        board["labels"]
            .as_array()?
            .iter()
            .find(|l| l["title"] == title)?["id"]
            .as_u64()
    };
    let due = |days: i64| {
        (s.now + Duration::days(days))
            .format("%Y-%m-%dT16:00:00+00:00")
            .to_string()
    };
    let card = |title, description, due_in: Option<i64>, label| SampleCard {
        title,
        description,
        due: due_in.map(due),
        label,
    };
    let stacks = [
        (
            "To do",
            vec![
                card(
                    "Write the migration guide",
                    "Cover the **2.x → 3.0** changes and the new settings file.",
                    Some(5),
                    "Action needed",
                ),
                card("Plan the beta launch announcement", "", Some(12), "Later"),
            ],
        ),
        (
            "In progress",
            vec![card(
                "Interview the pilot customers",
                "Three interviews done, two to go. Notes in the *Work* notes category.",
                Some(2),
                "To review",
            )],
        ),
        (
            "Done",
            vec![card("Set up the beta environment", "", None, "Finished")],
        ),
    ];
    for (order, (title, cards)) in stacks.into_iter().enumerate() {
        let stack = s
            .json(
                "POST",
                &format!("{api}/boards/{board_id}/stacks"),
                json!({"title": title, "order": order}),
            )
            .await?;
        let stack_id = id_of(&stack, "a Deck stack")?;
        for (i, c) in cards.into_iter().enumerate() {
            let mut body = json!({"title": c.title, "type": "plain", "order": i,
                                  "description": c.description});
            if let Some(d) = c.due {
                body["duedate"] = Value::String(d);
            }
            let card = s
                .json(
                    "POST",
                    &format!("{api}/boards/{board_id}/stacks/{stack_id}/cards"),
                    body,
                )
                .await?;
            let card_id = id_of(&card, "a Deck card")?;
            if let Some(label_id) = label(c.label) {
                s.json(
                    "PUT",
                    &format!(
                        "{api}/boards/{board_id}/stacks/{stack_id}/cards/{card_id}/assignLabel"
                    ),
                    json!({"labelId": label_id}),
                )
                .await?;
            }
        }
    }
    Ok(())
}

async fn tables(s: &Seeder) -> Result<(), SeedError> {
    let api = "/index.php/apps/tables/api/1";
    let table = s
        .json(
            "POST",
            &format!("{api}/tables"),
            json!({"title": "Pilot customers", "emoji": "🚀",
                   "description": "Who takes part in the Apollo beta."}),
        )
        .await?;
    let table_id = id_of(&table, "the table")?;
    let mut columns = Vec::new();
    for column in [
        json!({"title": "Company", "type": "text", "subtype": "line", "mandatory": true}),
        json!({"title": "Contact", "type": "text", "subtype": "line"}),
        json!({"title": "Seats", "type": "number", "numberMin": 0, "numberDecimals": 0}),
        json!({"title": "Stage", "type": "text", "subtype": "line"}),
    ] {
        let c = s
            .json("POST", &format!("{api}/tables/{table_id}/columns"), column)
            .await?;
        columns.push(id_of(&c, "a table column")?);
    }
    let rows = [
        ("Pilot Customer Ltd.", "Dmitri Ivanov", 40, "Beta"),
        ("Acme GmbH", "Anna Schmidt", 120, "Interviewed"),
        ("Northwind Traders", "Chiara Rossi", 15, "Contacted"),
    ];
    for (company, contact, seats, stage) in rows {
        let data: serde_json::Map<String, Value> = columns
            .iter()
            .zip([json!(company), json!(contact), json!(seats), json!(stage)])
            .map(|(id, v)| (id.to_string(), v))
            .collect();
        s.json(
            "POST",
            &format!("{api}/tables/{table_id}/rows"),
            json!({"data": data}),
        )
        .await?;
    }
    Ok(())
}
