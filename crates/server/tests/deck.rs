//! The Deck tools end to end: each tool is called over MCP and the result is checked in Deck
//! through a direct client.

mod common;

use common::*;
use nextcloud::{Credentials, Nextcloud};
use serde_json::{Value, json};

const DECK_TOOLS: [&str; 38] = [
    "deck_get_boards",
    "deck_get_board",
    "deck_get_stacks",
    "deck_get_stack",
    "deck_get_archived_stacks",
    "deck_get_cards",
    "deck_get_board_overview",
    "deck_get_card",
    "deck_get_labels",
    "deck_get_label",
    "deck_create_board",
    "deck_create_stack",
    "deck_update_stack",
    "deck_delete_stack",
    "deck_create_card",
    "deck_update_card",
    "deck_delete_card",
    "deck_archive_card",
    "deck_unarchive_card",
    "deck_reorder_card",
    "deck_move_card_to_board",
    "deck_create_label",
    "deck_update_label",
    "deck_delete_label",
    "deck_assign_label_to_card",
    "deck_remove_label_from_card",
    "deck_assign_user_to_card",
    "deck_unassign_user_from_card",
    "deck_assign_dependent_card",
    "deck_remove_dependent_card",
    "deck_get_card_comments",
    "deck_create_card_comment",
    "deck_update_card_comment",
    "deck_delete_card_comment",
    "deck_attach_file",
    "deck_attach_note",
    "deck_list_attachments",
    "deck_delete_attachment",
];

fn id(v: &Value) -> u64 {
    v["id"].as_u64().unwrap_or_else(|| panic!("no id in {v}"))
}

#[tokio::test]
async fn deck_tools_end_to_end() {
    let nc = TestNextcloud::start().await;
    let client = connect(&nc, Transport::HttpSession, &Default::default()).await;
    let direct = nc.direct();
    let deck = direct.deck();
    let me = direct.current_user().await.expect("current user").id;

    let tools = client.list_all_tools().await.expect("tools/list");
    for name in DECK_TOOLS {
        let tool = tools
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("{name} missing"));
        assert!(tool.title.is_some(), "{name} has no title");
        let a = tool.annotations.as_ref().expect("annotations");
        assert!(a.read_only_hint.is_some() && a.destructive_hint.is_some());
        assert!(a.idempotent_hint.is_some() && a.open_world_hint == Some(true));
        assert!(tool.output_schema.is_some(), "{name} has no output schema");
    }

    // Board, stacks, label.
    let title = unique_category("deck board");
    let board = call_ok(
        &client,
        "deck_create_board",
        json!({"title": title, "color": "#0082C9"}),
    )
    .await;
    let board_id = id(&board);
    assert_eq!(deck.board(board_id).await.expect("board").title, title);
    let boards = call_ok(&client, "deck_get_boards", json!({})).await;
    assert!(
        boards["boards"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["id"] == board_id)
    );
    let todo = id(&call_ok(
        &client,
        "deck_create_stack",
        json!({"board_id": board_id, "title": "To do", "order": 0}),
    )
    .await);
    let done = id(&call_ok(
        &client,
        "deck_create_stack",
        json!({"board_id": board_id, "title": "Done", "order": 1}),
    )
    .await);
    call_ok(
        &client,
        "deck_update_stack",
        json!({"board_id": board_id, "stack_id": done, "title": "Finished"}),
    )
    .await;
    let s = deck.stack(board_id, done).await.expect("stack");
    assert_eq!((s.title.as_str(), s.order), ("Finished", 1));
    let label = id(&call_ok(
        &client,
        "deck_create_label",
        json!({"board_id": board_id, "title": "urgent-x", "color": "ff0000"}),
    )
    .await);
    call_ok(
        &client,
        "deck_update_label",
        json!({"board_id": board_id, "label_id": label, "color": "00ff00"}),
    )
    .await;
    let l = deck.label(board_id, label).await.expect("label");
    assert_eq!((l.title.as_str(), l.color.as_str()), ("urgent-x", "00ff00"));
    let got = call_ok(
        &client,
        "deck_get_label",
        json!({"board_id": board_id, "label_id": label}),
    )
    .await;
    assert_eq!(got["title"], "urgent-x");
    let labels = call_ok(&client, "deck_get_labels", json!({"board_id": board_id})).await;
    assert!(labels["total"].as_u64().unwrap() >= 1);

    // Cards.
    let long_description = "Ünïcode description ✓ ".repeat(20);
    let card = call_ok(
        &client,
        "deck_create_card",
        json!({"board_id": board_id, "stack_id": todo, "title": "Write report",
               "description": long_description, "duedate": "2030-05-01T17:00:00+02:00"}),
    )
    .await;
    let card_id = id(&card);
    let c = deck.card(board_id, todo, card_id).await.expect("card");
    assert_eq!(c.description.as_deref(), Some(long_description.as_str()));
    assert!(
        c.duedate
            .as_deref()
            .unwrap()
            .starts_with("2030-05-01T15:00:00")
    );
    let other = id(&call_ok(
        &client,
        "deck_create_card",
        json!({"board_id": board_id, "stack_id": todo, "title": "Collect data"}),
    )
    .await);

    call_ok(
        &client,
        "deck_update_card",
        json!({"board_id": board_id, "stack_id": todo, "card_id": card_id, "title": "Write the report"}),
    )
    .await;
    let c = deck.card(board_id, todo, card_id).await.expect("card");
    assert_eq!(c.title, "Write the report");
    assert_eq!(
        c.description.as_deref(),
        Some(long_description.as_str()),
        "kept"
    );
    assert!(c.duedate.is_some(), "due date kept");

    let full = call_ok(
        &client,
        "deck_get_card",
        json!({"board_id": board_id, "stack_id": todo, "card_id": card_id}),
    )
    .await;
    assert_eq!(full["title"], "Write the report");

    // Labels and users on cards.
    let changed = call_ok(
        &client,
        "deck_assign_label_to_card",
        json!({"board_id": board_id, "stack_id": todo, "card_id": card_id, "label_id": label}),
    )
    .await;
    assert_eq!(changed["labels"][0]["title"], "urgent-x");
    assert_eq!(
        deck.card(board_id, todo, card_id).await.unwrap().labels[0].id,
        label
    );
    call_ok(
        &client,
        "deck_assign_user_to_card",
        json!({"board_id": board_id, "stack_id": todo, "card_id": card_id, "user_id": me}),
    )
    .await;
    let c = deck.card(board_id, todo, card_id).await.unwrap();
    assert_eq!(c.assigned_users[0].participant.uid, me);

    // Compact listings and filters.
    let stacks = call_ok(
        &client,
        "deck_get_stacks",
        json!({"board_id": board_id, "description_preview_length": 10}),
    )
    .await;
    let first = &stacks["stacks"][0];
    assert_eq!(first["card_count"], 2);
    let preview = first["cards"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == card_id)
        .unwrap()["description_preview"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(preview.chars().count(), 11, "10 characters and an ellipsis");
    let by_label = call_ok(
        &client,
        "deck_get_cards",
        json!({"board_id": board_id, "stack_id": todo, "label": "URGENT-X"}),
    )
    .await;
    assert_eq!(by_label["total"], 1);
    let by_user = call_ok(
        &client,
        "deck_get_cards",
        json!({"board_id": board_id, "stack_id": todo, "assigned_to": me, "detail": "full",
               "description_max_length": 5}),
    )
    .await;
    assert_eq!(by_user["total"], 1);
    assert_eq!(
        by_user["cards"][0]["description"]
            .as_str()
            .unwrap()
            .chars()
            .count(),
        6
    );
    let stack = call_ok(
        &client,
        "deck_get_stack",
        json!({"board_id": board_id, "stack_id": todo}),
    )
    .await;
    assert_eq!(stack["cards"].as_array().unwrap().len(), 2);

    call_ok(
        &client,
        "deck_remove_label_from_card",
        json!({"board_id": board_id, "stack_id": todo, "card_id": card_id, "label_id": label}),
    )
    .await;
    call_ok(
        &client,
        "deck_unassign_user_from_card",
        json!({"board_id": board_id, "stack_id": todo, "card_id": card_id, "user_id": me}),
    )
    .await;
    let c = deck.card(board_id, todo, card_id).await.unwrap();
    assert!(c.labels.is_empty() && c.assigned_users.is_empty());

    // Dependencies (Deck ≥ 1.18; hidden otherwise).
    if tools.iter().any(|t| t.name == "deck_assign_dependent_card") {
        call_ok(
            &client,
            "deck_assign_dependent_card",
            json!({"board_id": board_id, "stack_id": todo, "card_id": card_id, "dependent_card_id": other}),
        )
        .await;
        let c = deck.card(board_id, todo, card_id).await.unwrap();
        assert_eq!(c.dependent_cards.len(), 1);
        call_ok(
            &client,
            "deck_remove_dependent_card",
            json!({"board_id": board_id, "stack_id": todo, "card_id": card_id, "dependent_card_id": other}),
        )
        .await;
        let c = deck.card(board_id, todo, card_id).await.unwrap();
        assert!(c.dependent_cards.is_empty());
    }

    // Done, archive, reorder.
    call_ok(
        &client,
        "deck_update_card",
        json!({"board_id": board_id, "stack_id": todo, "card_id": other, "done": "2030-01-01T00:00:00Z"}),
    )
    .await;
    assert!(deck.card(board_id, todo, other).await.unwrap().is_done());
    let open = call_ok(
        &client,
        "deck_get_cards",
        json!({"board_id": board_id, "stack_id": todo}),
    )
    .await;
    assert_eq!(open["total"], 1, "the done card is not open");
    let done_cards = call_ok(
        &client,
        "deck_get_cards",
        json!({"board_id": board_id, "stack_id": todo, "status": "done"}),
    )
    .await;
    assert_eq!(done_cards["cards"][0]["id"], other);

    call_ok(
        &client,
        "deck_archive_card",
        json!({"board_id": board_id, "stack_id": todo, "card_id": other}),
    )
    .await;
    assert!(deck.card(board_id, todo, other).await.unwrap().archived);
    let archived = call_ok(
        &client,
        "deck_get_archived_stacks",
        json!({"board_id": board_id}),
    )
    .await;
    assert!(archived["stacks"].as_array().unwrap().iter().any(|s| {
        s["cards"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == other)
    }));
    call_ok(
        &client,
        "deck_unarchive_card",
        json!({"board_id": board_id, "stack_id": todo, "card_id": other}),
    )
    .await;
    assert!(!deck.card(board_id, todo, other).await.unwrap().archived);

    let moved = call_ok(
        &client,
        "deck_reorder_card",
        json!({"board_id": board_id, "stack_id": todo, "card_id": card_id, "order": 0,
               "target_stack_id": done}),
    )
    .await;
    assert_eq!(moved["stack_id"], done);
    assert_eq!(
        deck.card(board_id, done, card_id).await.unwrap().stack_id,
        done
    );
    let overview = call_ok(
        &client,
        "deck_get_board_overview",
        json!({"board_id": board_id, "status": "all"}),
    )
    .await;
    assert_eq!(overview["total_cards"], 2);

    // Comments.
    let comment = call_ok(
        &client,
        "deck_create_card_comment",
        json!({"card_id": card_id, "message": "First!"}),
    )
    .await;
    let comment_id = comment["comment"]["id"].as_u64().unwrap();
    let too_long = "word ".repeat(300);
    let err = call_err(
        &client,
        "deck_create_card_comment",
        json!({"card_id": card_id, "message": too_long}),
    )
    .await;
    assert!(err.contains("message") && err.contains("split"), "{err}");
    let split = call_ok(
        &client,
        "deck_create_card_comment",
        json!({"card_id": card_id, "message": too_long, "overflow": "split",
               "parent_id": comment_id}),
    )
    .await;
    assert_eq!(split["part_count"], 2);
    call_ok(
        &client,
        "deck_update_card_comment",
        json!({"card_id": card_id, "comment_id": comment_id, "message": "First, edited"}),
    )
    .await;
    let backend = deck.comments(card_id, 50, 0).await.unwrap();
    assert_eq!(backend.len(), 3);
    assert!(backend.iter().any(|c| c.message == "First, edited"));
    let oldest = call_ok(
        &client,
        "deck_get_card_comments",
        json!({"card_id": card_id, "order": "oldest", "limit": 1, "message_max_length": 5}),
    )
    .await;
    assert_eq!(oldest["results"][0]["id"], comment_id);
    assert_eq!(oldest["results"][0]["message"], "First…");
    call_ok(
        &client,
        "deck_delete_card_comment",
        json!({"card_id": card_id, "comment_id": comment_id}),
    )
    .await;
    assert_eq!(deck.comments(card_id, 50, 0).await.unwrap().len(), 2);

    // Attachments: none yet; a path must be absolute.
    let list = call_ok(
        &client,
        "deck_list_attachments",
        json!({"board_id": board_id, "stack_id": done, "card_id": card_id}),
    )
    .await;
    assert_eq!(list["count"], 0);
    let err = call_err(
        &client,
        "deck_attach_file",
        json!({"card_id": card_id, "path": "relative.txt"}),
    )
    .await;
    assert!(err.contains("`path`"), "{err}");

    // Move to another board: labels follow by title.
    call_ok(
        &client,
        "deck_assign_label_to_card",
        json!({"board_id": board_id, "stack_id": done, "card_id": card_id, "label_id": label}),
    )
    .await;
    let board2 = deck
        .create_board(&unique_category("deck target"), "00ff00")
        .await
        .unwrap();
    let target = deck.create_stack(board2.id, "Inbox", 0).await.unwrap();
    call_ok(
        &client,
        "deck_move_card_to_board",
        json!({"source_board_id": board_id, "source_stack_id": done, "card_id": card_id,
               "target_board_id": board2.id, "target_stack_id": target.id}),
    )
    .await;
    let c = deck.card(board2.id, target.id, card_id).await.unwrap();
    assert_eq!(c.stack_id, target.id);
    assert_eq!(c.labels.len(), 1);
    assert_eq!(c.labels[0].title, "urgent-x");
    assert_eq!(c.labels[0].board_id, Some(board2.id));

    // Deleting.
    call_ok(
        &client,
        "deck_delete_card",
        json!({"board_id": board_id, "stack_id": todo, "card_id": other}),
    )
    .await;
    let stacks = deck.stacks(board_id).await.unwrap();
    assert!(stacks.iter().all(|s| s.cards.iter().all(|c| c.id != other)));
    call_ok(
        &client,
        "deck_delete_label",
        json!({"board_id": board_id, "label_id": label}),
    )
    .await;
    assert!(deck.label(board_id, label).await.is_err());
    call_ok(
        &client,
        "deck_delete_stack",
        json!({"board_id": board_id, "stack_id": todo}),
    )
    .await;
    assert!(
        deck.stacks(board_id)
            .await
            .unwrap()
            .iter()
            .all(|s| s.id != todo)
    );

    deck.delete_board(board_id).await.unwrap();
    deck.delete_board(board2.id).await.unwrap();
}

#[tokio::test]
async fn bad_ids_and_arguments_are_reported_clearly() {
    let nc = TestNextcloud::start().await;
    let client = connect(&nc, Transport::HttpSession, &Default::default()).await;
    let err = call_err(&client, "deck_get_board", json!({"board_id": 987654321})).await;
    assert!(
        err.contains("Deck board 987654321") && err.contains("does not exist"),
        "{err}"
    );
    let err = call_err(
        &client,
        "deck_get_card",
        json!({"board_id": 987654321, "stack_id": 1, "card_id": 987654322}),
    )
    .await;
    assert!(err.contains("Deck card 987654322"), "{err}");
    let err = call_err(
        &client,
        "deck_get_card_comments",
        json!({"card_id": 987654322}),
    )
    .await;
    assert!(err.contains("Deck card 987654322"), "{err}");
    let err = call_err(
        &client,
        "deck_create_board",
        json!({"title": "x", "color": "blue"}),
    )
    .await;
    assert!(err.contains("`color`") && err.contains("hex"), "{err}");
    let err = call_err(
        &client,
        "deck_create_card",
        json!({"board_id": 1, "stack_id": 1, "title": "x", "duedate": "next friday"}),
    )
    .await;
    assert!(
        err.contains("`duedate`") && err.contains("ISO 8601"),
        "{err}"
    );
}

#[tokio::test]
async fn a_board_shared_read_only_refuses_changes() {
    let nc = TestNextcloud::start_with(|b| b.user("bob", "bob-password-0123456789")).await;
    if nc.emulator().is_none() {
        eprintln!("skipped: needs a second account, which only the emulator provides");
        return;
    }
    let bob = Nextcloud::new(nc.client_config())
        .unwrap()
        .user(Credentials::new("bob", "bob-password-0123456789"));
    let board = bob
        .deck()
        .create_board("Bob's board", "ff0000")
        .await
        .unwrap();
    let stack = bob.deck().create_stack(board.id, "Ideas", 0).await.unwrap();
    let card = bob
        .deck()
        .create_card(
            board.id,
            stack.id,
            &nextcloud::deck::NewCard {
                title: "Bob's idea".into(),
                kind: "plain".into(),
                order: 0,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    bob.deck()
        .add_acl(board.id, EMU_USER, false, false, false)
        .await
        .unwrap();

    let client = connect(&nc, Transport::HttpSession, &Default::default()).await;
    let got = call_ok(&client, "deck_get_board", json!({"board_id": board.id})).await;
    assert_eq!(got["permissions"]["PERMISSION_EDIT"], false);
    let boards = call_ok(&client, "deck_get_boards", json!({})).await;
    let listed = boards["boards"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == board.id)
        .expect("shared board listed")
        .clone();
    assert_eq!(listed["can_edit"], false);

    let err = call_err(
        &client,
        "deck_create_card",
        json!({"board_id": board.id, "stack_id": stack.id, "title": "Sneaky"}),
    )
    .await;
    assert!(err.contains("403") && err.contains("read-only"), "{err}");
    let err = call_err(
        &client,
        "deck_update_card",
        json!({"board_id": board.id, "stack_id": stack.id, "card_id": card.id, "title": "Changed"}),
    )
    .await;
    assert!(err.contains("403"), "{err}");
    let unchanged = bob.deck().card(board.id, stack.id, card.id).await.unwrap();
    assert_eq!(unchanged.title, "Bob's idea");
    assert_eq!(
        bob.deck().stacks(board.id).await.unwrap()[0].cards.len(),
        1,
        "no card was added"
    );
    // Reading and commenting is allowed on a read-only share.
    call_ok(
        &client,
        "deck_create_card_comment",
        json!({"card_id": card.id, "message": "Nice idea"}),
    )
    .await;
    assert_eq!(bob.deck().comments(card.id, 10, 0).await.unwrap().len(), 1);
}

#[tokio::test]
async fn deck_tools_are_hidden_when_deck_is_not_installed() {
    let nc = TestNextcloud::start_with(|b| b.installed_apps(&["notes"])).await;
    if nc.emulator().is_none() {
        eprintln!("skipped: choosing installed apps needs the emulator");
        return;
    }
    let client = connect(&nc, Transport::HttpSession, &Default::default()).await;
    let tools = client.list_all_tools().await.expect("tools/list");
    assert!(tools.iter().any(|t| t.name.starts_with("nc_notes_")));
    assert!(!tools.iter().any(|t| t.name.starts_with("deck_")));
}

#[tokio::test]
async fn files_and_notes_attach_to_cards() {
    let nc = TestNextcloud::start().await;
    let client = connect(&nc, Transport::HttpSession, &Default::default()).await;
    let direct = nc.direct();
    let deck = direct.deck();
    let board = deck
        .create_board(&unique_category("deck attach"), "0082c9")
        .await
        .unwrap();
    let stack = deck.create_stack(board.id, "Docs", 0).await.unwrap();
    let card = deck
        .create_card(
            board.id,
            stack.id,
            &nextcloud::deck::NewCard {
                title: "Spec".into(),
                kind: "plain".into(),
                order: 0,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let note = direct
        .notes()
        .create(&nextcloud::notes::NewNote {
            title: unique_category("deck note"),
            content: "spec text".into(),
            category: String::new(),
            favorite: false,
        })
        .await
        .unwrap();

    let attached = call_ok(
        &client,
        "deck_attach_note",
        json!({"card_id": card.id, "note_id": note.id}),
    )
    .await;
    let note_attachment = attached["attachment_id"].as_u64().unwrap();
    let path = attached["path"].as_str().unwrap().to_string();
    assert!(path.ends_with(&format!("/{}.md", note.title)), "{path}");
    call_ok(
        &client,
        "deck_attach_file",
        json!({"card_id": card.id, "path": path}),
    )
    .await;
    let backend = deck.attachments(board.id, stack.id, card.id).await.unwrap();
    assert_eq!(backend.len(), 2);
    assert!(backend.iter().all(|a| a.kind == "file"));
    let listed = call_ok(
        &client,
        "deck_list_attachments",
        json!({"board_id": board.id, "stack_id": stack.id, "card_id": card.id}),
    )
    .await;
    assert_eq!(listed["count"], 2);
    assert_eq!(listed["results"][0]["name"], format!("{}.md", note.title));

    call_ok(
        &client,
        "deck_delete_attachment",
        json!({"board_id": board.id, "stack_id": stack.id, "card_id": card.id,
               "attachment_id": note_attachment, "attachment_type": "file"}),
    )
    .await;
    let backend = deck.attachments(board.id, stack.id, card.id).await.unwrap();
    assert_eq!(backend.len(), 1);
    assert!(backend.iter().all(|a| a.id != note_attachment));

    let err = call_err(
        &client,
        "deck_attach_file",
        json!({"card_id": card.id, "path": "/no/such/file.txt"}),
    )
    .await;
    assert!(
        err.contains("404") && err.contains("/no/such/file.txt"),
        "{err}"
    );

    direct.notes().delete(note.id).await.unwrap();
    deck.delete_board(board.id).await.unwrap();
}
