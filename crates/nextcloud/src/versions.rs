//! Earlier versions of a file (`/remote.php/dav/versions/{user}/versions/{fileId}`), and
//! rolling a file back to one of them (`MOVE` to `/versions/{user}/restore/target`).

use reqwest::header::HeaderName;

use crate::client::Request;
use crate::dav::{DAV, NC, encode_segment};
use crate::files::normalize_etag;
use crate::{Error, NextcloudUser, Result};

const PROPS: &str = "<d:getcontentlength/><d:getcontenttype/><d:getlastmodified/><d:getetag/>\
<nc:version-label/><nc:version-author/>";

/// One version of a file. Nextcloud lists the current content as a version too.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileVersion {
    /// The version's id (the file's mtime when it was current); pass it to restore.
    pub id: String,
    pub size: u64,
    /// As sent (an HTTP date).
    pub last_modified: Option<String>,
    pub content_type: Option<String>,
    pub etag: Option<String>,
    /// A name a person gave the version, if any.
    pub label: Option<String>,
    /// Who wrote it (user id), when Nextcloud knows.
    pub author: Option<String>,
}

impl FileVersion {
    pub fn modified_unix(&self) -> Option<i64> {
        let s = self.last_modified.as_deref()?;
        chrono::DateTime::parse_from_rfc2822(s)
            .ok()
            .map(|d| d.timestamp())
    }
}

/// The versions API; get it with [`NextcloudUser::versions`].
pub struct Versions<'a> {
    user: &'a NextcloudUser,
}

impl NextcloudUser {
    pub fn versions(&self) -> Versions<'_> {
        Versions { user: self }
    }
}

fn check_id(id: &str) -> Result<&str> {
    let id = id.trim();
    if id.is_empty() || id.contains('/') || id == "." || id == ".." {
        return Err(Error::invalid_argument(
            "version_id",
            "expected a version id from nc_webdav_list_versions, such as `1700000000`",
        ));
    }
    Ok(id)
}

impl Versions<'_> {
    async fn root(&self) -> Result<String> {
        Ok(format!(
            "/remote.php/dav/versions/{}",
            encode_segment(&self.user.user_id().await?)
        ))
    }

    /// A file's versions, newest first.
    pub async fn list(&self, file_id: u64) -> Result<Vec<FileVersion>> {
        let root = self.root().await?;
        let body = format!(
            r#"<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns" xmlns:nc="http://nextcloud.org/ns"><d:prop>{PROPS}</d:prop></d:propfind>"#
        );
        let collection = format!("{root}/versions/{file_id}");
        let responses = self
            .user
            .dav_multistatus(
                "PROPFIND",
                &collection,
                Some("1"),
                &body,
                &format!("The versions of file {file_id}"),
            )
            .await?;
        let mut out: Vec<FileVersion> = responses
            .iter()
            .filter_map(|r| {
                let href = r.path();
                let tail = href.split(&format!("/versions/{file_id}/")).nth(1)?;
                let id = tail.trim_end_matches('/');
                if id.is_empty() {
                    return None;
                }
                Some(FileVersion {
                    id: id.to_string(),
                    size: r
                        .text(DAV, "getcontentlength")
                        .and_then(|s| s.trim().parse().ok())
                        .unwrap_or(0),
                    last_modified: r.text(DAV, "getlastmodified").map(str::to_string),
                    content_type: r.text(DAV, "getcontenttype").map(str::to_string),
                    etag: r.text(DAV, "getetag").map(normalize_etag),
                    label: r.text(NC, "version-label").map(str::to_string),
                    author: r.text(NC, "version-author").map(str::to_string),
                })
            })
            .collect();
        out.sort_by_key(|v| std::cmp::Reverse(v.id.parse::<i64>().unwrap_or(0)));
        Ok(out)
    }

    /// Makes a version the file's current content; the content it replaces becomes a version.
    pub async fn restore(&self, file_id: u64, version_id: &str) -> Result<()> {
        let id = check_id(version_id)?;
        let root = self.root().await?;
        let destination = format!("{}{root}/restore/target", self.user.client().base_url());
        let req = Request::new(
            crate::dav::method("MOVE"),
            format!("{root}/versions/{file_id}/{}", encode_segment(id)),
            format!("Version `{id}` of file {file_id}"),
        )
        .header(HeaderName::from_static("destination"), &destination)?;
        self.user.send(req).await?;
        Ok(())
    }
}
