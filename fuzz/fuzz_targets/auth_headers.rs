//! `Authorization` header values as any HTTP client may send them: Basic and Bearer.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(header) = std::str::from_utf8(data) else {
        return;
    };
    if let Some((user, password)) = nextcloud_mcp::api::parse_basic(header) {
        assert!(!user.is_empty() && !password.is_empty());
    }
    if let Some(token) = nextcloud_mcp::auth::bearer_token(header) {
        assert!(!token.is_empty());
    }
});
