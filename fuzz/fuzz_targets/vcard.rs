//! vCards from a CardDAV server: the lossless line model and calcard's parser.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nextcloud::ical::Document;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let doc = Document::parse(text);
    for span in doc.components("VCARD") {
        for i in doc.props(span) {
            let line = &doc.lines()[i];
            let _ = (line.name(), line.params(), line.text(), line.text_list());
        }
        let _ = doc.get(span, "FN");
    }
    let _ = nextcloud::contacts::Contact::read(&doc, true);
    let _ = calcard::vcard::VCard::parse(doc.to_text());
});
