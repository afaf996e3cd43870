//! Release executables for glibc 2.36+ get packed relative relocations (`DT_RELR`).
//!
//! A position-independent executable carries one 24-byte `R_X86_64_RELATIVE` entry for every
//! pointer in its read-only data (about 2 MB for this server). The dynamic loader reads the
//! whole table at every start, so it stays resident for the life of the process. `DT_RELR`
//! encodes the same relocations as a bitmap of a few kilobytes: smaller binary, less resident
//! memory, faster start, same address-space randomisation.
//!
//! Loaders before glibc 2.36 cannot read `DT_RELR` (the linker records the requirement, so such
//! a system refuses the binary with a clear message instead of crashing). The option is therefore
//! only used when building natively on a glibc that has it, and only for release builds, so test
//! builds link exactly as before. `NEXTCLOUD_MCP_NO_RELR=1` turns it off, for example when the
//! release binary is copied to an older system.

use std::env;

fn main() {
    println!("cargo:rerun-if-env-changed=NEXTCLOUD_MCP_NO_RELR");
    if wants_packed_relocations() {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

fn wants_packed_relocations() -> bool {
    let var = |name: &str| env::var(name).unwrap_or_default();
    var("PROFILE") == "release"
        && env::var_os("NEXTCLOUD_MCP_NO_RELR").is_none()
        && var("HOST") == var("TARGET")
        && var("CARGO_CFG_TARGET_OS") == "linux"
        && var("CARGO_CFG_TARGET_ENV") == "gnu"
        && host_glibc().is_some_and(|(major, minor)| (major, minor) >= (2, 36))
}

/// The glibc this build script runs on, which is the target's when host and target agree.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn host_glibc() -> Option<(u32, u32)> {
    unsafe extern "C" {
        fn gnu_get_libc_version() -> *const std::ffi::c_char;
    }
    // SAFETY: glibc returns a pointer to a static NUL-terminated version string.
    let version = unsafe { std::ffi::CStr::from_ptr(gnu_get_libc_version()) };
    let mut parts = version.to_str().ok()?.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn host_glibc() -> Option<(u32, u32)> {
    None
}
