//! Bearer tokens presented to the resource server, checked as JWTs against a known key.
#![no_main]

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let _ = jsonwebtoken::decode_header(token);
    let key = DecodingKey::from_secret(b"fuzzing-key");
    let mut validation = Validation::new(Algorithm::HS256);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.set_required_spec_claims(&["sub"]);
    let _ = nextcloud_mcp::auth::oauth::caller_from_jwt(token, &key, &validation, "sub");
});
