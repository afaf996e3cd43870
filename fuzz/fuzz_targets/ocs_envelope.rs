//! OCS JSON answers (`{"ocs": {"meta": ..., "data": ...}}`) with any status and data.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = nextcloud::ocs::parse_response::<serde_json::Value>(data, "fuzz");
    let _ = nextcloud::ocs::parse_response::<nextcloud::ocs::CurrentUser>(data, "fuzz");
});
