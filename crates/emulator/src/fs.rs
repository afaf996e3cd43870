//! The per-user in-memory file tree. Every app that stores files in Nextcloud (Notes, WebDAV,
//! later sharing, versions, trash) works on this one tree, so what one API writes the others see.

use std::collections::BTreeMap;

use bytes::Bytes;

/// One file or folder, as Nextcloud's file cache knows it.
#[derive(Clone, Debug)]
pub struct Node {
    /// The global file id (`oc:fileid`, note id).
    pub id: u64,
    pub is_dir: bool,
    pub content: Bytes,
    /// Unix mtime in seconds.
    pub mtime: i64,
    /// Unquoted ETag, 13 hex chars like PHP's `uniqid()`.
    pub etag: String,
}

/// Why a tree operation failed; DAV and the apps map these to their own answers.
#[derive(Debug, PartialEq, Eq)]
pub enum FsError {
    NotFound,
    ParentMissing,
    AlreadyExists,
    IsDirectory,
    NotDirectory,
}

/// Folder tree keyed by normalised relative path (`""` is the user's root, no leading slash).
#[derive(Debug)]
pub struct FileTree {
    nodes: BTreeMap<String, Node>,
    /// Files whose content is generated on the fly instead of stored (file id → length), so a
    /// test can serve a gigabyte without holding it: see [`synthetic_chunk`].
    synthetic: BTreeMap<u64, u64>,
}

/// The repeating 64-byte line synthetic files are made of: byte `i` is `PATTERN[i % 64]`.
pub const SYNTHETIC_PATTERN: &[u8; 64] =
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-\n";

/// Block size a synthetic file is streamed in (a multiple of the pattern's length).
pub const SYNTHETIC_BLOCK: usize = 64 * 1024;

/// One 64 KiB block of synthetic content; every block starts at a pattern boundary.
pub fn synthetic_block() -> Bytes {
    Bytes::from(SYNTHETIC_PATTERN.repeat(SYNTHETIC_BLOCK / SYNTHETIC_PATTERN.len()))
}

/// A fresh `uniqid()`-looking etag.
pub fn new_etag() -> String {
    format!("{:013x}", rand::random::<u64>() & 0x000f_ffff_ffff_ffff)
}

/// Normalises a user path: trims slashes, drops empty and `.` segments. `None` when it tries to
/// climb out with `..` (Nextcloud refuses such paths).
pub fn normalize(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => return None,
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

/// The parent of a normalised path (`None` for the root).
pub fn parent_of(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    Some(path.rfind('/').map_or("", |i| &path[..i]))
}

/// The last segment of a normalised path.
pub fn name_of(path: &str) -> &str {
    path.rfind('/').map_or(path, |i| &path[i + 1..])
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// Content type as Nextcloud's mimetype detector guesses it from the extension.
pub fn mime_for(name: &str, is_dir: bool) -> &'static str {
    if is_dir {
        return "httpd/unix-directory";
    }
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("md" | "markdown") => "text/markdown",
        Some("txt" | "org" | "note") => "text/plain",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("svg") => "image/svg+xml",
        Some("pdf") => "application/pdf",
        Some("json") => "application/json",
        Some("html" | "htm") => "text/html",
        Some("csv") => "text/csv",
        _ => "application/octet-stream",
    }
}

impl FileTree {
    /// A tree with only the root folder.
    pub fn new(root_id: u64, now: i64) -> Self {
        let mut nodes = BTreeMap::new();
        nodes.insert(
            String::new(),
            Node {
                id: root_id,
                is_dir: true,
                content: Bytes::new(),
                mtime: now,
                etag: new_etag(),
            },
        );
        Self {
            nodes,
            synthetic: BTreeMap::new(),
        }
    }

    /// Marks an existing file as synthetic with `len` bytes of generated content.
    pub fn set_synthetic(&mut self, path: &str, len: u64) -> bool {
        match self.nodes.get_mut(path) {
            Some(n) if !n.is_dir => {
                n.content = Bytes::new();
                let id = n.id;
                self.synthetic.insert(id, len);
                true
            }
            _ => false,
        }
    }

    /// The generated length of a synthetic file.
    pub fn synthetic_len(&self, id: u64) -> Option<u64> {
        self.synthetic.get(&id).copied()
    }

    /// Bytes of a file's content, stored or synthetic.
    pub fn content_len(&self, node: &Node) -> u64 {
        self.synthetic_len(node.id)
            .unwrap_or(node.content.len() as u64)
    }

    pub fn get(&self, path: &str) -> Option<&Node> {
        self.nodes.get(path)
    }

    pub fn exists(&self, path: &str) -> bool {
        self.nodes.contains_key(path)
    }

    pub fn is_dir(&self, path: &str) -> bool {
        self.nodes.get(path).is_some_and(|n| n.is_dir)
    }

    /// Path of the node with this file id.
    pub fn path_of_id(&self, id: u64) -> Option<&str> {
        self.nodes
            .iter()
            .find(|(_, n)| n.id == id)
            .map(|(p, _)| p.as_str())
    }

    /// Direct children of a folder, sorted by name.
    pub fn children(&self, dir: &str) -> Vec<(&str, &Node)> {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        self.nodes
            .range(prefix.clone()..)
            .take_while(|(p, _)| p.starts_with(&prefix))
            .filter(|(p, _)| !p.is_empty() && !p[prefix.len()..].contains('/'))
            .map(|(p, n)| (p.as_str(), n))
            .collect()
    }

    /// Everything below `dir` (not including it).
    fn descendants(&self, dir: &str) -> Vec<String> {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        self.nodes
            .range(prefix.clone()..)
            .take_while(|(p, _)| p.starts_with(&prefix))
            .filter(|(p, _)| !p.is_empty())
            .map(|(p, _)| p.clone())
            .collect()
    }

    /// Size as `oc:size` reports it: bytes for a file, the recursive sum for a folder.
    pub fn size(&self, path: &str) -> u64 {
        match self.nodes.get(path) {
            None => 0,
            Some(n) if !n.is_dir => self.content_len(n),
            Some(_) => self
                .descendants(path)
                .iter()
                .filter_map(|p| self.nodes.get(p))
                .filter(|n| !n.is_dir)
                .map(|n| self.content_len(n))
                .sum(),
        }
    }

    /// New etag and mtime for every ancestor, as Nextcloud's change propagator does.
    fn propagate(&mut self, path: &str, now: i64) {
        let mut cur = parent_of(path);
        while let Some(p) = cur {
            if let Some(n) = self.nodes.get_mut(p) {
                n.etag = new_etag();
                n.mtime = now;
            }
            cur = parent_of(p);
        }
    }

    /// Creates one folder; its parent must exist.
    pub fn mkdir(&mut self, path: &str, id: u64, now: i64) -> Result<(), FsError> {
        if self.nodes.contains_key(path) {
            return Err(FsError::AlreadyExists);
        }
        let parent = parent_of(path).ok_or(FsError::AlreadyExists)?;
        match self.nodes.get(parent) {
            None => return Err(FsError::ParentMissing),
            Some(n) if !n.is_dir => return Err(FsError::NotDirectory),
            Some(_) => {}
        }
        self.nodes.insert(
            path.to_string(),
            Node {
                id,
                is_dir: true,
                content: Bytes::new(),
                mtime: now,
                etag: new_etag(),
            },
        );
        self.propagate(path, now);
        Ok(())
    }

    /// Creates a folder and any missing ancestors; `next_id` hands out file ids.
    pub fn mkdir_p(
        &mut self,
        path: &str,
        next_id: &mut dyn FnMut() -> u64,
        now: i64,
    ) -> Result<(), FsError> {
        let mut cur = String::new();
        for seg in path.split('/').filter(|s| !s.is_empty()) {
            cur = join(&cur, seg);
            match self.nodes.get(&cur) {
                Some(n) if n.is_dir => {}
                Some(_) => return Err(FsError::NotDirectory),
                None => self.mkdir(&cur, next_id(), now)?,
            }
        }
        Ok(())
    }

    /// Writes a file (creating it with `id` if new). Returns whether it was created.
    pub fn put(
        &mut self,
        path: &str,
        content: Bytes,
        id: u64,
        mtime: i64,
        now: i64,
    ) -> Result<bool, FsError> {
        let parent = parent_of(path).ok_or(FsError::IsDirectory)?;
        match self.nodes.get(parent) {
            None => return Err(FsError::ParentMissing),
            Some(n) if !n.is_dir => return Err(FsError::ParentMissing),
            Some(_) => {}
        }
        let created = match self.nodes.get_mut(path) {
            Some(n) if n.is_dir => return Err(FsError::IsDirectory),
            Some(n) => {
                n.content = content;
                n.mtime = mtime;
                n.etag = new_etag();
                let id = n.id;
                self.synthetic.remove(&id);
                false
            }
            None => {
                self.nodes.insert(
                    path.to_string(),
                    Node {
                        id,
                        is_dir: false,
                        content,
                        mtime,
                        etag: new_etag(),
                    },
                );
                true
            }
        };
        self.propagate(path, now);
        Ok(created)
    }

    /// Sets the mtime (new etag, as `touch` does in Nextcloud).
    pub fn touch(&mut self, path: &str, mtime: i64, now: i64) -> Result<(), FsError> {
        let n = self.nodes.get_mut(path).ok_or(FsError::NotFound)?;
        n.mtime = mtime;
        n.etag = new_etag();
        self.propagate(path, now);
        Ok(())
    }

    /// Deletes a file or a folder with everything in it.
    pub fn delete(&mut self, path: &str, now: i64) -> Result<(), FsError> {
        if path.is_empty() || !self.nodes.contains_key(path) {
            return Err(FsError::NotFound);
        }
        for p in self.descendants(path) {
            self.nodes.remove(&p);
        }
        self.nodes.remove(path);
        self.propagate(path, now);
        Ok(())
    }

    /// Moves a file or folder (ids kept); the target's parent must exist and the target must not.
    pub fn rename(&mut self, from: &str, to: &str, now: i64) -> Result<(), FsError> {
        if from == to {
            return Ok(());
        }
        if !self.nodes.contains_key(from) || from.is_empty() {
            return Err(FsError::NotFound);
        }
        if self.nodes.contains_key(to) {
            return Err(FsError::AlreadyExists);
        }
        if to.starts_with(&format!("{from}/")) {
            return Err(FsError::AlreadyExists);
        }
        let parent = parent_of(to).ok_or(FsError::AlreadyExists)?;
        if !self.is_dir(parent) {
            return Err(FsError::ParentMissing);
        }
        let mut moved = vec![(from.to_string(), to.to_string())];
        for p in self.descendants(from) {
            let rest = &p[from.len()..];
            moved.push((p.clone(), format!("{to}{rest}")));
        }
        for (old, new) in moved {
            if let Some(n) = self.nodes.remove(&old) {
                self.nodes.insert(new, n);
            }
        }
        self.propagate(from, now);
        self.propagate(to, now);
        Ok(())
    }

    /// Copies a file or folder tree to a free `to` (new ids, new etags, same mtimes).
    pub fn copy(
        &mut self,
        from: &str,
        to: &str,
        next_id: &mut dyn FnMut() -> u64,
        now: i64,
    ) -> Result<(), FsError> {
        if from.is_empty() || !self.nodes.contains_key(from) {
            return Err(FsError::NotFound);
        }
        if self.nodes.contains_key(to) || to.starts_with(&format!("{from}/")) {
            return Err(FsError::AlreadyExists);
        }
        let parent = parent_of(to).ok_or(FsError::AlreadyExists)?;
        if !self.is_dir(parent) {
            return Err(FsError::ParentMissing);
        }
        let mut copies = vec![(to.to_string(), from.to_string())];
        for p in self.descendants(from) {
            copies.push((format!("{to}{}", &p[from.len()..]), p));
        }
        for (new, old) in copies {
            if let Some(n) = self.nodes.get(&old).cloned() {
                self.nodes.insert(
                    new,
                    Node {
                        id: next_id(),
                        etag: new_etag(),
                        ..n
                    },
                );
            }
        }
        self.propagate(to, now);
        Ok(())
    }

    /// Removes a node and everything below it (trash bin), returning them with paths relative
    /// to `path` (`""` for the node itself); ids and etags are kept for a later [`Self::graft`].
    pub fn take(&mut self, path: &str, now: i64) -> Result<Vec<(String, Node)>, FsError> {
        if path.is_empty() {
            return Err(FsError::NotFound);
        }
        let node = self.nodes.remove(path).ok_or(FsError::NotFound)?;
        let mut out = vec![(String::new(), node)];
        for p in self.descendants(path) {
            if let Some(n) = self.nodes.remove(&p) {
                out.push((p[path.len() + 1..].to_string(), n));
            }
        }
        self.propagate(path, now);
        Ok(out)
    }

    /// Puts nodes removed with [`Self::take`] back at `path`; its parent must be a folder and
    /// `path` itself free.
    pub fn graft(
        &mut self,
        path: &str,
        nodes: Vec<(String, Node)>,
        now: i64,
    ) -> Result<(), FsError> {
        if self.nodes.contains_key(path) {
            return Err(FsError::AlreadyExists);
        }
        let parent = parent_of(path).ok_or(FsError::AlreadyExists)?;
        if !self.is_dir(parent) {
            return Err(FsError::ParentMissing);
        }
        for (rel, node) in nodes {
            let p = if rel.is_empty() {
                path.to_string()
            } else {
                format!("{path}/{rel}")
            };
            self.nodes.insert(p, node);
        }
        self.propagate(path, now);
        Ok(())
    }

    /// Every node below `dir` (not `dir` itself), with its path, in path order.
    pub fn walk(&self, dir: &str) -> Vec<(&str, &Node)> {
        self.descendants(dir)
            .iter()
            .filter_map(|p| self.nodes.get_key_value(p.as_str()))
            .map(|(p, n)| (p.as_str(), n))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_ops() {
        let mut id = 10;
        let mut next = || {
            id += 1;
            id
        };
        let mut t = FileTree::new(1, 0);
        t.mkdir_p("a/b", &mut next, 5).unwrap();
        assert!(
            t.put("a/b/x.md", Bytes::from_static(b"hi"), 99, 5, 5)
                .unwrap()
        );
        assert!(
            !t.put("a/b/x.md", Bytes::from_static(b"hey"), 100, 6, 6)
                .unwrap()
        );
        assert_eq!(t.get("a/b/x.md").unwrap().id, 99);
        assert_eq!(t.size("a"), 3);
        assert_eq!(t.children("a").len(), 1);
        assert_eq!(t.children("").len(), 1);
        t.rename("a/b", "a/c", 7).unwrap();
        assert_eq!(t.path_of_id(99), Some("a/c/x.md"));
        assert_eq!(
            t.put("zz/q", Bytes::new(), 5, 0, 0),
            Err(FsError::ParentMissing)
        );
        t.delete("a", 8).unwrap();
        assert_eq!(t.children("").len(), 0);
        assert_eq!(normalize("/a//./b/"), Some("a/b".into()));
        assert_eq!(normalize("a/../b"), None);
    }
}
