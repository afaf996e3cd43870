//! The Talk tools end to end: each tool is called over MCP and what it did is checked in the
//! emulator's Talk state (messages, read markers, participants, reactions). They need a
//! second account and direct access to the state, so they run against the emulator only.

mod common;
mod multi_common;

use std::collections::BTreeSet;

use common::*;
use serde_json::{Value, json};

const BOB: &str = "bob";
const BOB_PASSWORD: &str = "bob-password-0123456789";

const TOOLS: [&str; 11] = [
    "talk_list_conversations",
    "talk_get_conversation",
    "talk_get_messages",
    "talk_list_participants",
    "talk_send_message",
    "talk_mark_as_read",
    "talk_create_conversation",
    "talk_add_participant",
    "talk_list_reactions",
    "talk_react",
    "talk_remove_reaction",
];

const REACTION_TOOLS: [&str; 3] = ["talk_list_reactions", "talk_react", "talk_remove_reaction"];

fn names(tools: &[rmcp::model::Tool]) -> BTreeSet<String> {
    tools.iter().map(|t| t.name.to_string()).collect()
}

fn ids(out: &Value) -> Vec<i64> {
    out["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["id"].as_i64().expect("id"))
        .collect()
}

async fn with_bob() -> Option<(TestNextcloud, nextcloud_emulator::EmulatorHandle)> {
    let nc = TestNextcloud::start_with(|b| b.user(BOB, BOB_PASSWORD)).await;
    match nc.emulator() {
        Some(emu) => Some((nc, emu)),
        None => {
            eprintln!("skipped: needs a second account and the emulator's Talk state");
            None
        }
    }
}

/// A group conversation of alice's with bob in it, made through the tools.
async fn group_with_bob(client: &Client, emu: &nextcloud_emulator::EmulatorHandle) -> String {
    let out = call_ok(
        client,
        "talk_create_conversation",
        json!({"room_name": "Apollo", "room_type": 2}),
    )
    .await;
    assert_eq!(out["created"], true);
    let token = out["conversation"]["token"].as_str().unwrap().to_string();
    call_ok(
        client,
        "talk_add_participant",
        json!({"token": token, "participant": BOB}),
    )
    .await;
    assert!(
        emu.talk_read_markers(&token).iter().any(|(u, _)| u == BOB),
        "bob was added"
    );
    token
}

#[tokio::test]
async fn talk_tools_end_to_end() {
    let Some((nc, emu)) = with_bob().await else {
        return;
    };
    let client = connect(&nc, Transport::HttpSession, &Default::default()).await;
    let listed = client.list_all_tools().await.expect("tools/list");
    for name in TOOLS {
        let tool = listed
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("{name} missing"));
        assert!(
            tool.title.is_some() && tool.output_schema.is_some(),
            "{name}"
        );
    }

    // Create, add, list.
    let token = group_with_bob(&client, &emu).await;
    let room = nc.direct().talk().room(&token).await.unwrap();
    assert_eq!((room.name.as_str(), room.kind), ("Apollo", 2));
    let out = call_ok(
        &client,
        "talk_list_participants",
        json!({"token": token, "include_status": true}),
    )
    .await;
    assert_eq!(out["participants"].as_array().unwrap().len(), 2);
    let bob = out["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["actor_id"] == BOB)
        .expect("bob listed");
    assert_eq!(bob["participant_type"], 3);
    assert!(bob["status"].is_string(), "{bob}");
    let out = call_ok(&client, "talk_list_conversations", json!({})).await;
    assert!(
        out["conversations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["token"] == token.as_str())
    );

    // A mention from bob reads as text; the store keeps Talk's placeholder.
    let from_bob = emu
        .talk_post_as(&token, BOB, "Hi @alice, the budget is ready")
        .unwrap();
    let (_, _, stored, params) = emu.talk_message(from_bob).unwrap();
    assert_eq!(stored, "Hi {mention-user1}, the budget is ready");
    assert_eq!(params["mention-user1"]["id"], "alice");
    let out = call_ok(&client, "talk_get_messages", json!({"token": token})).await;
    let newest = &out["messages"][0];
    assert_eq!(newest["id"], from_bob);
    assert_eq!(newest["text"], "Hi @alice, the budget is ready");
    assert_eq!(newest["author_id"], BOB);
    let unread = call_ok(&client, "talk_get_conversation", json!({"token": token})).await;
    assert_eq!(unread["conversation"]["unread_messages"], 1, "{unread}");
    assert_eq!(unread["conversation"]["unread_mention"], true);

    // A silent reply with a mention.
    let out = call_ok(
        &client,
        "talk_send_message",
        json!({"token": token, "message": "Thanks @bob!", "reply_to": from_bob, "silent": true}),
    )
    .await;
    let reply = out["message"]["id"].as_i64().unwrap();
    assert_eq!(out["message"]["reply_to"], from_bob);
    assert_eq!(out["message"]["text"], "Thanks @bob!");
    let (room_of, author, stored, params) = emu.talk_message(reply).unwrap();
    assert_eq!(
        (room_of.as_str(), author.as_str()),
        (token.as_str(), "alice")
    );
    assert_eq!(stored, "Thanks {mention-user1}!");
    assert_eq!(params["mention-user1"]["id"], BOB);

    // Read markers: up to bob's message, then everything.
    let out = call_ok(
        &client,
        "talk_mark_as_read",
        json!({"token": token, "last_read_message": from_bob}),
    )
    .await;
    assert_eq!(out["last_read_message"], from_bob);
    let alice_marker = |emu: &nextcloud_emulator::EmulatorHandle| {
        emu.talk_read_markers(&token)
            .into_iter()
            .find(|(u, _)| u == "alice")
            .unwrap()
            .1
    };
    assert_eq!(alice_marker(&emu), from_bob);
    let later = emu.talk_post_as(&token, BOB, "one more thing").unwrap();
    let out = call_ok(&client, "talk_mark_as_read", json!({"token": token})).await;
    assert_eq!(out["last_read_message"], later);
    assert_eq!(out["unread_messages"], 0);
    assert_eq!(alice_marker(&emu), later);

    // Reactions.
    let out = call_ok(
        &client,
        "talk_react",
        json!({"token": token, "message_id": from_bob, "reaction": "👍"}),
    )
    .await;
    assert_eq!(out["changed"], true);
    assert_eq!(
        emu.talk_reactions(from_bob),
        vec![("👍".to_string(), "alice".to_string())]
    );
    let again = call_ok(
        &client,
        "talk_react",
        json!({"token": token, "message_id": from_bob, "reaction": "👍"}),
    )
    .await;
    assert_eq!(again["changed"], false);
    assert_eq!(emu.talk_reactions(from_bob).len(), 1);
    let out = call_ok(
        &client,
        "talk_list_reactions",
        json!({"token": token, "message_id": from_bob}),
    )
    .await;
    assert_eq!(out["reactions"]["👍"][0]["actor_id"], "alice");
    let out = call_ok(&client, "talk_get_messages", json!({"token": token})).await;
    let reacted = out["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == from_bob)
        .unwrap();
    assert_eq!(reacted["reactions"]["👍"], 1);
    call_ok(
        &client,
        "talk_remove_reaction",
        json!({"token": token, "message_id": from_bob, "reaction": "👍"}),
    )
    .await;
    assert!(emu.talk_reactions(from_bob).is_empty());
    let e = call_err(
        &client,
        "talk_remove_reaction",
        json!({"token": token, "message_id": from_bob, "reaction": "👍"}),
    )
    .await;
    assert!(e.contains("404"), "{e}");

    // One-to-one: made once, found the second time.
    let first = call_ok(
        &client,
        "talk_create_conversation",
        json!({"room_type": 1, "invite": BOB}),
    )
    .await;
    assert_eq!(first["created"], true);
    assert_eq!(first["conversation"]["type"], 1);
    assert_eq!(first["conversation"]["name"], BOB);
    let second = call_ok(
        &client,
        "talk_create_conversation",
        json!({"room_type": 1, "invite": BOB}),
    )
    .await;
    assert_eq!(second["created"], false);
    assert_eq!(
        second["conversation"]["token"],
        first["conversation"]["token"]
    );
}

#[tokio::test]
async fn history_pages_back_with_last_given() {
    let Some((nc, emu)) = with_bob().await else {
        return;
    };
    let client = connect(&nc, Transport::HttpSession, &Default::default()).await;
    let token = group_with_bob(&client, &emu).await;
    for i in 0..7 {
        emu.talk_post_as(&token, BOB, &format!("message {i}"))
            .unwrap();
    }
    let mut all = emu.talk_message_ids(&token);
    all.reverse();
    assert!(all.len() >= 9, "7 posts plus system messages: {all:?}");

    let mut seen = Vec::new();
    let mut cursor: Option<i64> = None;
    loop {
        let mut args = json!({"token": token, "limit": 3});
        if let Some(c) = cursor {
            args["last_known_message_id"] = c.into();
        }
        let out = call_ok(&client, "talk_get_messages", args).await;
        let page = ids(&out);
        if page.is_empty() {
            assert!(out.get("last_given").is_none(), "{out}");
            break;
        }
        assert!(page.len() <= 3);
        assert!(
            page.windows(2).all(|w| w[0] > w[1]),
            "newest first: {page:?}"
        );
        assert_eq!(out["last_given"], *page.last().unwrap());
        cursor = out["last_given"].as_i64();
        seen.extend(page);
    }
    assert_eq!(seen, all, "every message once, newest first");

    // include_last_known repeats the cursor's message.
    let out = call_ok(
        &client,
        "talk_get_messages",
        json!({"token": token, "limit": 2, "last_known_message_id": all[2], "include_last_known": true}),
    )
    .await;
    assert_eq!(ids(&out), vec![all[2], all[3]]);
}

#[tokio::test]
async fn bad_tokens_ids_and_arguments_are_clear_errors() {
    let Some((nc, emu)) = with_bob().await else {
        return;
    };
    let client = connect(&nc, Transport::HttpSession, &Default::default()).await;
    let e = call_err(
        &client,
        "talk_get_conversation",
        json!({"token": "nope2345"}),
    )
    .await;
    assert!(
        e.contains("404") && e.contains("nope2345") && e.contains("not found"),
        "{e}"
    );
    let e = call_err(
        &client,
        "talk_send_message",
        json!({"token": "nope2345", "message": "hello"}),
    )
    .await;
    assert!(e.contains("not found"), "{e}");
    let e = call_err(&client, "talk_get_messages", json!({"token": "../x"})).await;
    assert!(e.contains("Invalid argument `token`"), "{e}");

    let token = group_with_bob(&client, &emu).await;
    let before = emu.talk_message_ids(&token);
    let e = call_err(
        &client,
        "talk_send_message",
        json!({"token": token, "message": "  "}),
    )
    .await;
    assert!(e.contains("Invalid argument `message`"), "{e}");
    let e = call_err(
        &client,
        "talk_get_messages",
        json!({"token": token, "limit": 0}),
    )
    .await;
    assert!(e.contains("Invalid argument `limit`"), "{e}");
    let e = call_err(
        &client,
        "talk_react",
        json!({"token": token, "message_id": 987654, "reaction": "🎉"}),
    )
    .await;
    assert!(e.contains("404") && e.contains("987654"), "{e}");
    let e = call_err(
        &client,
        "talk_react",
        json!({"token": token, "message_id": before[0], "reaction": "not an emoji"}),
    )
    .await;
    assert!(e.contains("Invalid argument `reaction`"), "{e}");
    let e = call_err(
        &client,
        "talk_add_participant",
        json!({"token": token, "participant": "nobody-here"}),
    )
    .await;
    assert!(e.contains("404") && e.contains("nobody-here"), "{e}");
    let e = call_err(
        &client,
        "talk_add_participant",
        json!({"token": token, "participant": BOB, "source": "pigeons"}),
    )
    .await;
    assert!(e.contains("Invalid argument `source`"), "{e}");
    let e = call_err(
        &client,
        "talk_create_conversation",
        json!({"room_type": 7, "room_name": "x"}),
    )
    .await;
    assert!(e.contains("Invalid argument `room_type`"), "{e}");
    let e = call_err(&client, "talk_create_conversation", json!({"room_type": 1})).await;
    assert!(e.contains("Invalid argument `invite`"), "{e}");
    let e = call_err(
        &client,
        "talk_create_conversation",
        json!({"room_type": 1, "invite": "nobody-here"}),
    )
    .await;
    assert!(e.contains("404") && e.contains("nobody-here"), "{e}");
    assert_eq!(emu.talk_message_ids(&token), before, "nothing was posted");
}

#[tokio::test]
async fn talk_tools_are_hidden_without_talk() {
    let nc = TestNextcloud::start_with(|b| b.installed_apps(&["notes"])).await;
    if nc.emulator().is_none() {
        eprintln!("skipped: choosing installed apps needs the emulator");
        return;
    }
    let client = connect(&nc, Transport::HttpSession, &Default::default()).await;
    let tools = names(&client.list_all_tools().await.expect("tools/list"));
    assert!(tools.contains("nc_notes_get_note"));
    assert!(!tools.iter().any(|t| t.starts_with("talk_")), "{tools:?}");
    let e = call_err(&client, "talk_list_conversations", json!({})).await;
    assert!(e.contains("Talk app is not installed"), "{e}");
}

#[tokio::test]
async fn reaction_tools_need_the_reactions_feature() {
    let nc = TestNextcloud::start().await;
    let Some(emu) = nc.emulator() else {
        eprintln!("skipped: switching Talk features needs the emulator");
        return;
    };
    emu.set_talk_features(Some(&["chat-v2", "conversation-v4", "chat-read-marker"]));
    let client = connect(&nc, Transport::HttpSession, &Default::default()).await;
    let tools = names(&client.list_all_tools().await.expect("tools/list"));
    for name in TOOLS {
        assert_eq!(
            tools.contains(name),
            !REACTION_TOOLS.contains(&name),
            "{name}: {tools:?}"
        );
    }
    let e = call_err(
        &client,
        "talk_react",
        json!({"token": "abcd2345", "message_id": 1, "reaction": "👍"}),
    )
    .await;
    assert!(e.contains("does not offer `reactions`"), "{e}");
}

#[tokio::test]
async fn writing_needs_the_talk_write_scope() {
    let nc = TestNextcloud::start().await;
    let Some(emu) = nc.emulator() else {
        eprintln!("skipped: needs the emulator (stores an app password for a test user)");
        return;
    };
    let scoped = multi_common::scoped_client(
        &nc.base_url,
        &nc.username,
        &nc.password,
        &["talk.read"],
        "talk.read talk.write",
    )
    .await;
    let (client, tools) = (&scoped.client, &scoped.listed);
    assert!(tools.contains("talk_get_messages"), "{tools:?}");
    assert!(!tools.contains("talk_send_message"), "{tools:?}");

    let room = nc
        .direct()
        .talk()
        .create_room(&nextcloud::talk::NewRoom {
            kind: 2,
            name: Some("Scoped".into()),
            invite: None,
        })
        .await
        .unwrap()
        .0;
    let before = emu.talk_message_ids(&room.token);
    let e = call_err(
        client,
        "talk_send_message",
        json!({"token": room.token, "message": "hello"}),
    )
    .await;
    assert!(e.contains("needs the `talk.write` scope"), "{e}");
    assert_eq!(emu.talk_message_ids(&room.token), before);
    call_ok(client, "talk_get_messages", json!({"token": room.token})).await;
    scoped.cleanup().await;
}
