//! OAuth Client ID Metadata Documents fetched from a client's URL.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nextcloud_mcp::auth::authorization_server::client_from_metadata_document;

const CLIENT_ID: &str = "https://client.example/oauth/metadata.json";

fuzz_target!(|data: &[u8]| {
    if let Ok(client) = client_from_metadata_document(CLIENT_ID, data, 0) {
        assert_eq!(client.client_id, CLIENT_ID);
        assert!(!client.redirect_uris.is_empty());
    }
});
