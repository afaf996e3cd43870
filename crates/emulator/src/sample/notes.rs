//! Sample notes: several categories, one with emoji/CJK/RTL text and one with an image
//! attachment in `.attachments.<noteId>/`, with modification times spread over a month.

use base64::Engine;
use bytes::Bytes;

use crate::notes::seed_note;
use crate::state::AppState;

/// A valid 1×1 PNG.
const PNG_B64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

/// The PNG used as the sample attachment.
pub fn sample_png() -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(PNG_B64)
        .unwrap_or_default()
}

/// Seeds every user's notes folder.
pub fn seed(state: &AppState) {
    let now = state.now();
    let ids: Vec<String> = state.world().users.keys().cloned().collect();
    for uid in ids {
        let mut world = state.world();
        let Some(user) = world.users.get_mut(&uid) else {
            continue;
        };
        let day = 86_400;
        seed_note(
            state,
            user,
            "",
            "Welcome to Notes",
            "Welcome to Notes\n\nThis is your notes app. Notes are plain Markdown files in the *Notes* folder of your files.\n\n- Organise notes in categories\n- Mark important notes as favorites\n",
            false,
            now - 30 * day,
        );
        seed_note(
            state,
            user,
            "Work",
            "Meeting notes 2025-01-14",
            "# Meeting notes 2025-01-14\n\nAttendees: Anna, Ben, Chiara\n\n## Decisions\n- Release 2.3 moves to February\n- Ben owns the migration guide\n\n## Action items\n- [ ] Anna: update the roadmap\n- [x] Chiara: book the review room\n",
            false,
            now - 10 * day,
        );
        seed_note(
            state,
            user,
            "Work",
            "Project Apollo roadmap",
            "# Project Apollo roadmap\n\nQ1: discovery and interviews\nQ2: prototype\nQ3: beta with three pilot customers\nQ4: general availability\n",
            true,
            now - 5 * day,
        );
        seed_note(
            state,
            user,
            "Personal",
            "Reading list",
            "# Reading list\n\n1. The Left Hand of Darkness\n2. Piranesi\n3. A Psalm for the Wild-Built\n",
            false,
            now - 3 * day,
        );
        seed_note(
            state,
            user,
            "",
            "Multilingual 🌍",
            "# Multilingual 🌍\n\nEmoji: 🎉🚀✨ 👩‍💻\nJapanese: 今日は良い天気ですね。\nChinese: 你好，世界！\nArabic: مرحبا بالعالم\nHebrew: שלום עולם\nGerman: Grüße aus Köln – „Anführungszeichen“\n",
            false,
            now - 2 * day,
        );
        let pancakes = seed_note(
            state,
            user,
            "Personal/Recipes",
            "Pancakes",
            "",
            true,
            now - day,
        );
        if let Some(id) = pancakes {
            let folder = user.notes_settings.notes_path.clone();
            let dir = format!("{folder}/Personal/Recipes/.attachments.{id}");
            let _ = user.files.mkdir_p(&dir, &mut || state.next_id(), now);
            let img_id = state.next_id();
            let _ = user.files.put(
                &format!("{dir}/pancakes.png"),
                Bytes::from(sample_png()),
                img_id,
                now - day,
                now,
            );
            let content = format!(
                "# Pancakes\n\n![pancakes](.attachments.{id}/pancakes.png)\n\n## Ingredients\n- 200 g flour\n- 2 eggs\n- 300 ml milk\n- 1 pinch of salt\n\n## Steps\n1. Whisk everything into a smooth batter.\n2. Rest for 10 minutes.\n3. Fry thin pancakes in a hot buttered pan.\n"
            );
            let path = format!("{folder}/Personal/Recipes/Pancakes.md");
            let _ = user
                .files
                .put(&path, Bytes::from(content), id, now - day, now);
        }
    }
}
