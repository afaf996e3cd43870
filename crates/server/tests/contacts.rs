//! Contacts tools end to end against a real CardDAV server (Radicale behind the emulator, or
//! the configured Nextcloud), checking what landed in the backend through the client.

mod common;
mod dav_backend;

use common::{Client, Transport, call_err, call_ok, connect, unique_category};
use dav_backend::DavBackend;
use futures::StreamExt;
use nextcloud::NextcloudUser;
use nextcloud::calendar::Precondition;
use nextcloud::ical::Document;
use serde_json::{Value, json};

async fn setup(backend: DavBackend) -> (DavBackend, Client) {
    let client = connect(&backend.nc, Transport::HttpSession, &Default::default()).await;
    (backend, client)
}

/// A fresh address book with a unique name.
async fn new_book(client: &Client, test: &str) -> String {
    let name = unique_category(test).replace('.', "-");
    call_ok(
        client,
        "nc_contacts_create_addressbook",
        json!({"name": name, "display_name": format!("Test {test}")}),
    )
    .await;
    name
}

async fn drop_book(client: &Client, name: &str) {
    call_ok(
        client,
        "nc_contacts_delete_addressbook",
        json!({"name": name}),
    )
    .await;
}

/// The stored vCard text and ETag of a contact, read with the client.
async fn stored(user: &NextcloudUser, book: &str, uid: &str) -> Option<(String, String)> {
    let book = user.contacts().find(book).await.expect("address book");
    user.contacts()
        .find_by_uid(&book, uid)
        .await
        .expect("query")
        .map(|c| (c.data, c.etag.unwrap_or_default()))
}

/// Writes a vCard as another client would.
async fn put_card(user: &NextcloudUser, book: &str, name: &str, text: &str) {
    let book = user.contacts().find(book).await.expect("address book");
    user.contacts()
        .put(&format!("{}{name}", book.href), text, Precondition::Create)
        .await
        .expect("put vCard");
}

/// The unfolded lines of the VCARD with this property name (group ignored).
fn lines_named(text: &str, name: &str) -> Vec<String> {
    let doc = Document::parse(text);
    let span = doc.components("VCARD")[0];
    doc.get_all(span, name)
        .into_iter()
        .map(|l| l.raw().replace("\r\n ", "").replace("\r\n\t", ""))
        .collect()
}

#[tokio::test]
async fn address_books_are_created_listed_and_deleted() {
    let (b, client) = setup(DavBackend::start().await).await;
    let direct = b.nc.direct();
    let name = new_book(&client, "books").await;

    let books = direct.contacts().list().await.expect("list");
    let made = books
        .iter()
        .find(|x| x.name == name)
        .expect("address book in the backend");
    assert_eq!(made.display_name, "Test books");

    let out = call_ok(&client, "nc_contacts_list_addressbooks", json!({})).await;
    let listed = out["addressbooks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == name.as_str())
        .unwrap_or_else(|| panic!("{name} not listed: {out}"));
    assert_eq!(listed["display_name"], "Test books");
    assert_eq!(
        out["total_count"].as_u64().unwrap() as usize,
        out["addressbooks"].as_array().unwrap().len()
    );

    // Creating it twice is an error, not a silent success.
    let err = call_err(
        &client,
        "nc_contacts_create_addressbook",
        json!({"name": name, "display_name": "again"}),
    )
    .await;
    assert!(err.contains("`name`") && err.contains("exists"), "{err}");

    drop_book(&client, &name).await;
    let books = direct.contacts().list().await.expect("list");
    assert!(books.iter().all(|x| x.name != name), "still there");
    let err = call_err(
        &client,
        "nc_contacts_delete_addressbook",
        json!({"name": name}),
    )
    .await;
    assert!(err.contains("`name`") && err.contains(&name), "{err}");
}

/// A PNG of a few hundred bytes, so the PHOTO line has to be folded.
fn photo() -> String {
    let mut png = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    png.extend((0..300u32).map(|i| (i * 7 % 251) as u8));
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(png)
}

#[tokio::test]
async fn a_contact_with_every_common_field_round_trips() {
    let (b, client) = setup(DavBackend::start().await).await;
    let direct = b.nc.direct();
    let book = new_book(&client, "allfields").await;
    let uid = format!("{}-ada", unique_category("uid"));
    let photo = format!("data:image/png;base64,{}", photo());
    let out = call_ok(
        &client,
        "nc_contacts_create_contact",
        json!({"addressbook": book, "uid": uid, "contact_data": {
            "fn": "Ada Lovelace",
            "given_name": "Ada",
            "family_name": "Lovelace",
            "email": [{"value": "ada@work.example", "type": ["work"]}, {"value": "ada@home.example", "type": "home"}, "ada@other.example"],
            "tel": [{"value": "+44 20 7946 0001", "type": ["cell"]}, {"value": "+44 20 7946 0002", "type": ["work", "fax"]}],
            "adr": [{"street": "12 St. James's Square", "city": "London", "postal_code": "SW1Y 4LB",
                     "country": "United Kingdom", "type": "home"}],
            "org": ["Analytical Engines; Ltd", "Research"],
            "title": "Mathematician",
            "note": "Wrote the first program; also: poetry, science.\nSecond line \\ backslash",
            "bday": "1815-12-10",
            // (No comma: Radicale's vobject keeps only the part of a URL before one.)
            "url": "https://example.org/ada?x=1&y=2",
            "nickname": ["Enchantress of Numbers", "Countess"],
            "categories": "Friends, Science",
            "photo": photo,
            "x-unknown": "ignored"
        }}),
    )
    .await;
    assert_eq!(out["ignored_keys"], json!(["x-unknown"]));

    let expected = json!({
        "uid": uid,
        "fn": "Ada Lovelace",
        "given_name": "Ada",
        "family_name": "Lovelace",
        "nickname": ["Enchantress of Numbers", "Countess"],
        "organization": "Analytical Engines; Ltd; Research",
        "title": "Mathematician",
        "emails": [
            {"value": "ada@work.example", "types": ["work"]},
            {"value": "ada@home.example", "types": ["home"]},
            {"value": "ada@other.example", "types": []}
        ],
        "phones": [
            {"value": "+44 20 7946 0001", "types": ["cell"]},
            {"value": "+44 20 7946 0002", "types": ["work", "fax"]}
        ],
        "addresses": [{
            "value": "12 St. James's Square, London, SW1Y 4LB, United Kingdom",
            "types": ["home"], "po_box": "", "extended": "", "street": "12 St. James's Square",
            "city": "London", "region": "", "postal_code": "SW1Y 4LB", "country": "United Kingdom"
        }],
        "urls": [{"value": "https://example.org/ada?x=1&y=2", "types": []}],
        "note": "Wrote the first program; also: poetry, science.\nSecond line \\ backslash",
        "birthday": "1815-12-10",
        "categories": ["Friends", "Science"],
        "has_photo": true,
        "photo": photo,
        "addressbook": book,
    });
    let check = |got: &Value| {
        for (k, v) in expected.as_object().unwrap() {
            assert_eq!(&got[k], v, "field {k} in {got}");
        }
        assert!(
            !got["etag"].as_str().unwrap_or_default().is_empty(),
            "{got}"
        );
    };
    check(&out["contact"]);

    // Read back through the tool: the same fields; the photo only when asked for.
    let list = call_ok(
        &client,
        "nc_contacts_list_contacts",
        json!({"addressbook": book, "include_photos": true}),
    )
    .await;
    assert_eq!(list["total_count"], 1);
    check(&list["contacts"][0]);
    let list = call_ok(
        &client,
        "nc_contacts_list_contacts",
        json!({"addressbook": book}),
    )
    .await;
    assert!(list["contacts"][0].get("photo").is_none(), "{list}");
    assert_eq!(list["contacts"][0]["has_photo"], true);

    // In the backend: a vCard with each property typed as vCard wants it.
    let (text, _) = stored(&direct, &book, &uid).await.expect("stored");
    assert_eq!(lines_named(&text, "FN"), ["FN:Ada Lovelace"], "{text}");
    assert_eq!(lines_named(&text, "N"), ["N:Lovelace;Ada;;;"], "{text}");
    assert_eq!(
        lines_named(&text, "EMAIL"),
        [
            "EMAIL;TYPE=WORK:ada@work.example",
            "EMAIL;TYPE=HOME:ada@home.example",
            "EMAIL:ada@other.example"
        ],
        "{text}"
    );
    assert_eq!(
        lines_named(&text, "TEL"),
        [
            "TEL;TYPE=CELL:+44 20 7946 0001",
            "TEL;TYPE=WORK,FAX:+44 20 7946 0002"
        ],
        "{text}"
    );
    assert_eq!(
        lines_named(&text, "ADR"),
        ["ADR;TYPE=HOME:;;12 St. James's Square;London;;SW1Y 4LB;United Kingdom"],
        "{text}"
    );
    assert_eq!(
        lines_named(&text, "ORG"),
        ["ORG:Analytical Engines\\; Ltd;Research"],
        "{text}"
    );
    assert_eq!(
        lines_named(&text, "NOTE"),
        ["NOTE:Wrote the first program\\; also: poetry\\, science.\\nSecond line \\\\ backslash"],
        "{text}"
    );
    assert_eq!(
        lines_named(&text, "CATEGORIES"),
        ["CATEGORIES:Friends,Science"]
    );
    assert_eq!(
        lines_named(&text, "NICKNAME"),
        ["NICKNAME:Enchantress of Numbers", "NICKNAME:Countess"]
    );
    assert_eq!(lines_named(&text, "BDAY").len(), 1, "{text}");
    assert!(
        lines_named(&text, "BDAY")[0].ends_with(":1815-12-10"),
        "{text}"
    );
    assert_eq!(
        lines_named(&text, "PHOTO"),
        [format!("PHOTO;ENCODING=b;TYPE=PNG:{}", self::photo())],
        "{text}"
    );
    assert!(lines_named(&text, "X-UNKNOWN").is_empty(), "{text}");
    drop_book(&client, &book).await;
}

#[tokio::test]
async fn update_keeps_other_clients_properties_and_refuses_stale_etags() {
    let (b, client) = setup(DavBackend::start_recording().await).await;
    let direct = b.nc.direct();
    let book = new_book(&client, "update").await;
    let uid = format!("{}-grace", unique_category("uid"));
    let original = format!(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nPRODID:-//Apple Inc.//iPhone OS 17.0//EN\r\nUID:{uid}\r\nN:Hopper;Grace;Brewster Murray;Rear Admiral;\r\nFN:Grace Hopper\r\nitem1.EMAIL;type=INTERNET;type=pref:grace@navy.example\r\nitem1.X-ABLabel:_$!<Other>!$_\r\nTEL;type=CELL;type=VOICE;type=pref:+1 555 0100\r\nX-SOCIALPROFILE;type=twitter;x-user=grace:http://twitter.com/grace\r\nX-CUSTOM;X-PARAM=\"a:b\";x-other=1:value with \\, escapes\r\nNOTE:A long note that another client folded across two physical lines so t\r\n hat it stays under the limit\r\nTITLE:Computer Scientist\r\nEND:VCARD\r\n"
    );
    put_card(&direct, &book, &format!("{uid}.vcf"), &original).await;
    // What the server stored (a server may normalise on the way in) is the baseline.
    let (baseline, etag) = stored(&direct, &book, &uid).await.expect("seeded");
    for kept in [
        "X-SOCIALPROFILE",
        "X-CUSTOM",
        "item1.EMAIL",
        "item1.X-ABLabel",
    ] {
        // (Radicale re-serialises, upper-casing names: compare case-insensitively.)
        assert!(
            baseline.to_lowercase().contains(&kept.to_lowercase()),
            "{kept} not stored:\n{baseline}"
        );
    }

    let list = call_ok(
        &client,
        "nc_contacts_list_contacts",
        json!({"addressbook": book}),
    )
    .await;
    let c = &list["contacts"][0];
    assert_eq!(c["fn"], "Grace Hopper");
    assert_eq!(
        c["emails"],
        json!([{"value": "grace@navy.example", "types": []}])
    );
    assert_eq!(
        c["phones"],
        json!([{"value": "+1 555 0100", "types": ["cell"]}])
    );
    assert_eq!(
        c["note"],
        "A long note that another client folded across two physical lines so that it stays under the limit"
    );
    assert_eq!(c["etag"], etag.as_str());

    let out = call_ok(
        &client,
        "nc_contacts_update_contact",
        json!({"addressbook": book, "uid": uid, "etag": etag,
               "contact_data": {"title": "Rear Admiral", "tel": [{"value": "+1 555 0199", "type": "work"}]}}),
    )
    .await;
    assert_eq!(out["contact"]["title"], "Rear Admiral");
    assert_eq!(out["contact"]["fn"], "Grace Hopper");
    let new_etag = out["contact"]["etag"].as_str().unwrap().to_string();
    assert_ne!(new_etag, etag);

    // What the tool sent keeps every line it did not change, byte for byte, in place.
    if let Some(r) = &b.recorder {
        let puts: Vec<_> = r.take().into_iter().filter(|x| x.method == "PUT").collect();
        let sent = &puts.last().expect("the update's PUT").body;
        let kept = |text: &str| {
            Document::parse(text)
                .lines()
                .iter()
                .filter(|l| !["TITLE", "TEL", "REV"].contains(&l.name().as_str()))
                .map(|l| l.raw().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(kept(sent), kept(&baseline), "sent:\n{sent}");
    }
    let (after, stored_etag) = stored(&direct, &book, &uid).await.expect("still there");
    assert_eq!(stored_etag, new_etag, "the tool reports the stored ETag");
    let before = Document::parse(&baseline);
    let now = Document::parse(&after);
    for line in before.lines() {
        if ["TITLE", "TEL", "REV"].contains(&line.name().as_str()) {
            continue;
        }
        assert!(
            now.lines().iter().any(|l| l.raw() == line.raw()),
            "line changed or lost: {:?}\n{after}",
            line.raw()
        );
    }
    assert_eq!(lines_named(&after, "TITLE"), ["TITLE:Rear Admiral"]);
    assert_eq!(lines_named(&after, "TEL"), ["TEL;TYPE=WORK:+1 555 0199"]);

    // The first ETag is stale now: the update is refused and nothing is written.
    let err = call_err(
        &client,
        "nc_contacts_update_contact",
        json!({"addressbook": book, "uid": uid, "etag": etag, "contact_data": {"title": "Lost update"}}),
    )
    .await;
    assert!(err.contains("412"), "{err}");
    let (unchanged, _) = stored(&direct, &book, &uid).await.unwrap();
    assert_eq!(unchanged, after);

    // Without an ETag the current version is updated; "" removes a field.
    let out = call_ok(
        &client,
        "nc_contacts_update_contact",
        json!({"addressbook": book, "uid": uid, "contact_data": {"note": "", "fn": "Amazing Grace"}}),
    )
    .await;
    assert_eq!(out["contact"]["fn"], "Amazing Grace");
    assert_eq!(out["contact"]["note"], Value::Null);
    let (text, _) = stored(&direct, &book, &uid).await.unwrap();
    assert!(lines_named(&text, "NOTE").is_empty(), "{text}");
    assert!(text.contains("X-SOCIALPROFILE"), "{text}");

    call_ok(
        &client,
        "nc_contacts_delete_contact",
        json!({"addressbook": book, "uid": uid}),
    )
    .await;
    assert!(stored(&direct, &book, &uid).await.is_none(), "not deleted");
    let err = call_err(
        &client,
        "nc_contacts_delete_contact",
        json!({"addressbook": book, "uid": uid}),
    )
    .await;
    assert!(err.contains("404") && err.contains(&uid), "{err}");
    let err = call_err(
        &client,
        "nc_contacts_update_contact",
        json!({"addressbook": book, "uid": uid, "contact_data": {"title": "x"}}),
    )
    .await;
    assert!(err.contains("404") && err.contains(&uid), "{err}");
    drop_book(&client, &book).await;
}

fn simple_card(uid: &str, name: &str, email: &str, org: &str, note: &str) -> String {
    format!(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:{name}\r\nN:{name};;;;\r\nEMAIL;TYPE=WORK:{email}\r\nORG:{org}\r\nNOTE:{note}\r\nEND:VCARD\r\n"
    )
}

#[tokio::test]
async fn search_is_done_by_the_server_and_pages() {
    let (b, client) = setup(DavBackend::start_recording().await).await;
    let direct = b.nc.direct();
    let book = new_book(&client, "search").await;
    // A token no other card (or person) has; five of 80 cards carry it in different fields.
    let token = unique_category("needle").replace('.', "-");
    let cards: Vec<(String, String)> = (0..80)
        .map(|i| {
            let uid = format!("card-{i:03}");
            let name = format!("Person {i:03}");
            let (email, org, note) = match i {
                7 => (format!("{token}@example.org"), "Acme".into(), "-".into()),
                19 => (
                    "p19@example.org".into(),
                    format!("The {token} Co"),
                    "-".into(),
                ),
                33 => (
                    "p33@example.org".into(),
                    "Acme".into(),
                    format!("met at {token}"),
                ),
                _ => (
                    format!("p{i}@example.org"),
                    "Acme".to_string(),
                    "-".to_string(),
                ),
            };
            let name = match i {
                52 => format!("Zed {}", token.to_uppercase()),
                71 => format!("{token} Smith"),
                _ => name,
            };
            (uid.clone(), simple_card(&uid, &name, &email, &org, &note))
        })
        .collect();
    let bk = direct.contacts().find(&book).await.unwrap();
    let puts = cards.iter().map(|(uid, text)| {
        let direct = direct.clone();
        let href = format!("{}{uid}.vcf", bk.href);
        async move {
            direct
                .contacts()
                .put(&href, text, Precondition::Create)
                .await
        }
    });
    let results: Vec<_> = futures::stream::iter(puts)
        .buffer_unordered(8)
        .collect()
        .await;
    assert!(results.iter().all(Result::is_ok), "seeding failed");

    if let Some(r) = &b.recorder {
        r.take();
    }
    let found = call_ok(
        &client,
        "nc_contacts_search_contacts",
        json!({"query": token, "addressbook": book}),
    )
    .await;
    let uids: Vec<&str> = found["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["uid"].as_str().unwrap())
        .collect();
    // Sorted by name, case-insensitive: "mcp-test-..." < "Person 007" < ... < "Zed ...".
    assert_eq!(
        uids,
        ["card-071", "card-007", "card-019", "card-033", "card-052"],
        "{found}"
    );
    assert_eq!(found["total_count"], 5);
    assert_eq!(found["addressbook"], book.as_str());
    if let Some(r) = &b.recorder {
        // The server did the matching: one addressbook-query with text-match filters, and its
        // answer held only the five matches, not the 80 cards.
        let reports: Vec<_> = r
            .take()
            .into_iter()
            .filter(|x| x.method == "REPORT")
            .collect();
        assert_eq!(reports.len(), 1, "{reports:#?}");
        assert!(
            reports[0].body.contains("addressbook-query"),
            "{reports:#?}"
        );
        assert!(reports[0].body.contains("text-match"), "{reports:#?}");
        assert!(reports[0].body.contains(&token), "{reports:#?}");
        assert_eq!(reports[0].responses, 5, "{reports:#?}");
    } else {
        eprintln!("real Nextcloud: request recording skipped (emulator only)");
    }

    // Paging through the matches gives each once, in order.
    let mut paged = Vec::new();
    for offset in [0, 2, 4] {
        let page = call_ok(
            &client,
            "nc_contacts_search_contacts",
            json!({"query": token, "addressbook": book, "limit": 2, "offset": offset}),
        )
        .await;
        assert_eq!(page["total_count"], 5, "{page}");
        paged.extend(
            page["contacts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["uid"].as_str().unwrap().to_string()),
        );
    }
    assert_eq!(paged, uids);

    // Search over all address books finds the same (the token is unique to this book).
    let all = call_ok(
        &client,
        "nc_contacts_search_contacts",
        json!({"query": token.to_uppercase()}),
    )
    .await;
    assert_eq!(all["total_count"], 5, "{all}");
    let none = call_ok(
        &client,
        "nc_contacts_search_contacts",
        json!({"query": format!("{token}-nothing"), "addressbook": book}),
    )
    .await;
    assert_eq!(none["total_count"], 0);

    // Listing pages the whole book.
    let mut listed = Vec::new();
    for offset in [0, 30, 60] {
        let page = call_ok(
            &client,
            "nc_contacts_list_contacts",
            json!({"addressbook": book, "limit": 30, "offset": offset}),
        )
        .await;
        assert_eq!(page["total_count"], 80);
        listed.extend(
            page["contacts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["uid"].as_str().unwrap().to_string()),
        );
    }
    assert_eq!(listed.len(), 80);
    let mut unique = listed.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 80, "a contact appeared on two pages");
    drop_book(&client, &book).await;
}

#[tokio::test]
async fn bad_input_names_the_argument() {
    let (b, client) = setup(DavBackend::start().await).await;
    let direct = b.nc.direct();
    let book = new_book(&client, "bad").await;
    let missing = format!("{book}-missing");
    let uid = format!("{}-x", unique_category("uid"));
    let cases = [
        (
            "nc_contacts_create_contact",
            json!({"addressbook": book, "uid": uid, "contact_data": {"email": "a@b.example"}}),
            vec!["`contact_data`", "fn"],
        ),
        (
            "nc_contacts_create_contact",
            json!({"addressbook": book, "uid": uid, "contact_data": {"fn": "  "}}),
            vec!["`contact_data`", "fn"],
        ),
        (
            "nc_contacts_create_contact",
            json!({"addressbook": book, "uid": "", "contact_data": {"fn": "X"}}),
            vec!["`uid`"],
        ),
        (
            "nc_contacts_create_contact",
            json!({"addressbook": missing, "uid": uid, "contact_data": {"fn": "X"}}),
            vec!["`addressbook`", missing.as_str()],
        ),
        (
            "nc_contacts_create_contact",
            json!({"addressbook": book, "uid": uid, "contact_data": {"fn": "X", "email": "not-an-address"}}),
            vec!["`email`", "not-an-address"],
        ),
        (
            "nc_contacts_create_contact",
            json!({"addressbook": book, "uid": uid, "contact_data": {"fn": "X", "bday": "10.12.1815"}}),
            vec!["`bday`", "YYYY-MM-DD"],
        ),
        (
            "nc_contacts_create_contact",
            json!({"addressbook": book, "uid": uid, "contact_data": {"fn": "X", "photo": "data:image/png,notbase64"}}),
            vec!["`photo`", "base64"],
        ),
        (
            "nc_contacts_list_contacts",
            json!({"addressbook": missing}),
            vec!["`addressbook`", missing.as_str()],
        ),
        (
            "nc_contacts_list_contacts",
            json!({"addressbook": book, "limit": 0}),
            vec!["`limit`"],
        ),
        (
            "nc_contacts_search_contacts",
            json!({"query": " "}),
            vec!["`query`"],
        ),
        (
            "nc_contacts_search_contacts",
            json!({"query": "x", "addressbook": missing}),
            vec!["`addressbook`", missing.as_str()],
        ),
        (
            "nc_contacts_update_contact",
            json!({"addressbook": missing, "uid": uid, "contact_data": {"fn": "X"}}),
            vec!["`addressbook`", missing.as_str()],
        ),
        (
            "nc_contacts_delete_contact",
            json!({"addressbook": missing, "uid": uid}),
            vec!["`addressbook`", missing.as_str()],
        ),
        (
            "nc_contacts_delete_addressbook",
            json!({"name": missing}),
            vec!["`name`", missing.as_str()],
        ),
        (
            "nc_contacts_create_addressbook",
            json!({"name": "a/b", "display_name": "x"}),
            vec!["`name`"],
        ),
    ];
    for (tool, args, needles) in cases {
        let err = call_err(&client, tool, args.clone()).await;
        for n in needles {
            assert!(err.contains(n), "{tool} {args}: {n:?} not in {err:?}");
        }
    }
    // Nothing was written by the failed calls.
    assert!(stored(&direct, &book, &uid).await.is_none());

    // A second contact with the same UID is refused, naming the argument.
    call_ok(
        &client,
        "nc_contacts_create_contact",
        json!({"addressbook": book, "uid": uid, "contact_data": {"fn": "First"}}),
    )
    .await;
    let err = call_err(
        &client,
        "nc_contacts_create_contact",
        json!({"addressbook": book, "uid": uid, "contact_data": {"fn": "Second"}}),
    )
    .await;
    assert!(err.contains("`uid`"), "{err}");
    let (text, _) = stored(&direct, &book, &uid).await.unwrap();
    assert!(text.contains("FN:First"), "{text}");
    let err = call_err(
        &client,
        "nc_contacts_update_contact",
        json!({"addressbook": book, "uid": uid, "contact_data": {"fn": ""}}),
    )
    .await;
    assert!(err.contains("`fn`"), "{err}");
    drop_book(&client, &book).await;
}
