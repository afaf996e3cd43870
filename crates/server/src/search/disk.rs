//! Where a user's index lives on disk and the sync state kept beside it.
//!
//! Layout under the index directory (`NEXTCLOUD_MCP_SEARCH_INDEX_DIR`), every folder 0700 and
//! every file we write 0600:
//!
//! ```text
//! <dir>/<hash of (Nextcloud host, login)>/index/   tantivy's files
//! <dir>/<hash of (Nextcloud host, login)>/state.json  markers and cursors of the last sync
//! <dir>/<hash of (Nextcloud host, login)>/vectors.bin semantic search's embeddings
//! <dir>/<hash of (Nextcloud host, login)>.lock        held by the process using the folder
//! ```
//!
//! Two processes writing one folder would corrupt it (tantivy's segments, the state, the
//! vectors), so a process takes an exclusive advisory lock on the folder's `.lock` file
//! before it opens the folder and keeps it while the folder may be written ([`lock`]). The
//! lock file sits beside the folder, not in it, so wiping the folder keeps the lock.
//!
//! The folder name is a hash so no user id appears in a path. `state.json` exists only while
//! it describes the index exactly: it is removed before the index is written and written
//! again (atomically) once the sync that wrote it has finished. An index without a readable
//! state of this version is therefore rebuilt from Nextcloud, never trusted.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Bumped whenever the index schema or the state's meaning changes: older indexes are rebuilt.
pub const STATE_VERSION: u32 = 1;
pub const STATE_FILE: &str = "state.json";
pub const INDEX_DIR: &str = "index";
/// Semantic search's vectors (see `semantic::vectors`).
pub const VECTORS_FILE: &str = "vectors.bin";

/// One source's state as persisted.
#[derive(Default, Serialize, Deserialize)]
pub struct SavedSource {
    pub known: HashMap<String, String>,
    pub cursor: HashMap<String, String>,
    /// Unix seconds of its last completed sync.
    pub synced_at: Option<i64>,
}

#[derive(Serialize, Deserialize)]
pub struct SavedState {
    pub version: u32,
    /// Stemming languages the index was built with (each is a field of the schema).
    pub languages: Vec<String>,
    /// By kind name.
    pub sources: HashMap<String, SavedSource>,
}

/// The folder of one user's index: a hash of the Nextcloud host and login, never the login.
pub fn user_dir(root: &Path, host: &str, login: &str) -> PathBuf {
    let mut h = Sha256::new();
    h.update(host.trim_end_matches('/').as_bytes());
    h.update([0]);
    h.update(login.as_bytes());
    let digest = h.finalize();
    let name: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    root.join(name)
}

/// Whether a folder name is one [`user_dir`] makes (so purging never touches anything else).
pub fn is_user_dir_name(name: &std::ffi::OsStr) -> bool {
    name.to_str()
        .is_some_and(|n| n.len() == 32 && n.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Creates `dir` and any missing parents, each we create owner-only, and makes `dir` itself
/// owner-only even when it existed.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    if !dir.exists() {
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            private_dir(parent)?;
        }
        match std::fs::create_dir(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        restrict(dir, 0o700)?;
    }
    Ok(())
}

/// Makes the index folder and the user folder owner-only (also when they already existed).
pub fn prepare(user_dir: &Path) -> std::io::Result<()> {
    private_dir(user_dir)?;
    restrict(user_dir, 0o700)?;
    if let Some(root) = user_dir.parent() {
        restrict(root, 0o700)?;
    }
    let index = user_dir.join(INDEX_DIR);
    private_dir(&index)?;
    restrict(&index, 0o700)
}

#[cfg(unix)]
fn restrict(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let current = std::fs::metadata(path)?.permissions().mode() & 0o777;
    if current != mode {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn restrict(_path: &Path, _mode: u32) -> std::io::Result<()> {
    Ok(())
}

/// Makes the files tantivy wrote owner-only (it creates them with the process umask).
pub fn restrict_files(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_file())
            && let Err(e) = restrict(&entry.path(), 0o600)
        {
            tracing::debug!(error = %e, "could not make a search index file owner-only");
        }
    }
}

/// The state saved beside the index, when it is readable, of this version and built with
/// `languages`; otherwise `None` (and why, for the log).
pub fn load(user_dir: &Path, languages: &[String]) -> Result<SavedState, String> {
    let path = user_dir.join(STATE_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err("no saved sync state".into());
        }
        Err(e) => return Err(format!("the saved sync state is unreadable: {e}")),
    };
    let state: SavedState = serde_json::from_slice(&bytes)
        .map_err(|e| format!("the saved sync state is unreadable: {e}"))?;
    if state.version != STATE_VERSION {
        return Err(format!(
            "the saved sync state is of version {}, this server writes {STATE_VERSION}",
            state.version
        ));
    }
    if state.languages != languages {
        return Err("the index was built for other languages".into());
    }
    Ok(state)
}

/// Writes the state atomically (a temporary file renamed over the old one), owner-only.
pub fn save(user_dir: &Path, state: &SavedState) -> std::io::Result<()> {
    let bytes = serde_json::to_vec(state).map_err(std::io::Error::other)?;
    write_atomically(user_dir, STATE_FILE, &bytes)
}

/// Writes `name` in `dir` atomically (a temporary file, synced, renamed over the old one),
/// owner-only: a crash leaves the old file or the new one, never half of one.
pub fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = dir.join(format!("{name}.tmp"));
    {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp)?;
        restrict(&tmp, 0o600)?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, dir.join(name))
}

/// Removes the state: the index is about to change and it would no longer describe it.
pub fn invalidate(user_dir: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(user_dir.join(STATE_FILE)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Removes the keyword index and its state for a rebuild, keeping what else the folder
/// holds (semantic search's vectors stay valid: they are keyed by each document's content).
pub fn wipe_index(user_dir: &Path) -> std::io::Result<()> {
    invalidate(user_dir)?;
    match std::fs::remove_dir_all(user_dir.join(INDEX_DIR)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// The exclusive lock on one user's folder: while it lives, no other process (and no other
/// [`lock`] in this one) gets the folder. Released when dropped (or the process ends).
#[derive(Debug)]
pub struct FolderLock {
    _file: std::fs::File,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process (or another index of this one) holds the folder.
    #[error("held by another process")]
    Busy,
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// The lock file of `user_dir`: beside it, so wiping the folder keeps it.
pub fn lock_path(user_dir: &Path) -> PathBuf {
    let mut name = user_dir.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    user_dir.with_file_name(name)
}

/// Takes the exclusive advisory lock of `user_dir` without waiting (creating the root
/// folder owner-only and the lock file 0600 when missing).
pub fn lock(user_dir: &Path) -> Result<FolderLock, LockError> {
    if let Some(root) = user_dir.parent() {
        private_dir(root)?;
    }
    let path = lock_path(user_dir);
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(&path)?;
    restrict(&path, 0o600)?;
    // flock(2) on Unix, LockFileEx on Windows: released when the file is closed, also when
    // the process dies.
    match fs4::fs_std::FileExt::try_lock_exclusive(&file) {
        Ok(true) => Ok(FolderLock { _file: file }),
        Ok(false) => Err(LockError::Busy),
        Err(e) => Err(LockError::Io(e)),
    }
}

/// Empties a user's folder (index and state) for a rebuild.
pub fn wipe(user_dir: &Path) -> std::io::Result<()> {
    match std::fs::remove_dir_all(user_dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_dirs_are_hashed_private_and_state_round_trips() {
        let root = std::env::temp_dir().join(format!("ncmcp-disk-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let a = user_dir(&root.join("search"), "https://cloud.example.com/", "alice");
        assert_eq!(
            a,
            user_dir(&root.join("search"), "https://cloud.example.com", "alice")
        );
        assert_ne!(
            a,
            user_dir(&root.join("search"), "https://other.example.com", "alice")
        );
        assert!(!a.to_string_lossy().contains("alice"));
        assert!(is_user_dir_name(a.file_name().unwrap()));
        assert!(!is_user_dir_name(std::ffi::OsStr::new("Documents")));
        prepare(&a).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for d in [root.join("search"), a.clone(), a.join(INDEX_DIR)] {
                let mode = std::fs::metadata(&d).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o700, "{}", d.display());
            }
        }
        let langs = vec!["en".to_string()];
        assert!(load(&a, &langs).is_err());
        let mut sources = HashMap::new();
        sources.insert("notes".to_string(), SavedSource::default());
        save(
            &a,
            &SavedState {
                version: STATE_VERSION,
                languages: langs.clone(),
                sources,
            },
        )
        .unwrap();
        assert!(load(&a, &langs).is_ok());
        assert!(load(&a, &["de".to_string()]).is_err());
        std::fs::write(a.join(STATE_FILE), b"{not json").unwrap();
        assert!(load(&a, &langs).is_err());
        invalidate(&a).unwrap();
        assert!(load(&a, &langs).is_err());
        wipe(&a).unwrap();
        assert!(!a.exists());
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_folder_is_locked_by_one_holder_at_a_time_and_survives_a_wipe() {
        let root = std::env::temp_dir().join(format!("ncmcp-lock-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let a = user_dir(&root, "https://cloud.example.com", "alice");
        let held = lock(&a).unwrap();
        assert!(matches!(lock(&a), Err(LockError::Busy)));
        // Another user's folder is not affected.
        let b = user_dir(&root, "https://cloud.example.com", "bob");
        drop(lock(&b).unwrap());
        prepare(&a).unwrap();
        std::fs::write(a.join(VECTORS_FILE), b"v").unwrap();
        std::fs::create_dir_all(a.join(INDEX_DIR).join("x")).unwrap();
        wipe_index(&a).unwrap();
        assert!(a.join(VECTORS_FILE).is_file() && !a.join(INDEX_DIR).exists());
        wipe(&a).unwrap();
        assert!(matches!(lock(&a), Err(LockError::Busy)), "kept by a wipe");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(lock_path(&a))
                .unwrap()
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(mode, 0o600);
        }
        drop(held);
        drop(lock(&a).unwrap());
        std::fs::remove_dir_all(&root).unwrap();
    }
}
