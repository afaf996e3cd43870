//! WebDAV `207 Multi-Status` bodies, as Nextcloud (or anything posing as it) sends them.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(xml) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(responses) = nextcloud::dav::parse_multistatus(xml) {
        for r in &responses {
            // Walk what the client reads of every response.
            let _ = format!("{r:?}");
        }
    }
});
