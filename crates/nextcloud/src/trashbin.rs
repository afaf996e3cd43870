//! The trash bin (`/remote.php/dav/trashbin/{user}/trash`): what was deleted, from where and
//! when, and putting it back (`MOVE` to `/trashbin/{user}/restore/{name}`).

use percent_encoding::percent_decode_str;
use reqwest::Method;
use reqwest::header::HeaderName;

use crate::client::Request;
use crate::dav::{DAV, NC, OC, encode_segment};
use crate::{Error, NextcloudUser, Result};

const PROPS: &str = "<d:resourcetype/><d:getcontentlength/><d:getcontenttype/><d:getlastmodified/>\
<oc:fileid/><oc:size/><nc:trashbin-filename/><nc:trashbin-original-location/><nc:trashbin-deletion-time/>";

/// One deleted file or folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrashItem {
    /// The item's name inside the trash bin (`report.pdf.d1700000000`); pass it to restore.
    pub id: String,
    /// Its name before it was deleted.
    pub name: String,
    /// Where it was, relative to the user's root, name included.
    pub original_location: String,
    /// Unix seconds.
    pub deleted_at: Option<i64>,
    pub is_dir: bool,
    pub size: u64,
    pub content_type: Option<String>,
    pub file_id: Option<u64>,
}

/// The trash bin API; get it with [`NextcloudUser::trashbin`].
pub struct Trashbin<'a> {
    user: &'a NextcloudUser,
}

impl NextcloudUser {
    pub fn trashbin(&self) -> Trashbin<'_> {
        Trashbin { user: self }
    }
}

/// A trash item id is one path segment as the listing reports it.
fn check_id(id: &str) -> Result<&str> {
    let id = id.trim();
    if id.is_empty() || id.contains('/') || id == "." || id == ".." {
        return Err(Error::invalid_argument(
            "entry_id",
            "expected an item id from nc_webdav_list_trash, such as `report.pdf.d1700000000`",
        ));
    }
    Ok(id)
}

impl Trashbin<'_> {
    async fn base(&self) -> Result<(String, String)> {
        let user_id = self.user.user_id().await?;
        let seg = encode_segment(&user_id);
        Ok((
            format!("/remote.php/dav/trashbin/{seg}/trash"),
            format!("/remote.php/dav/trashbin/{seg}/restore"),
        ))
    }

    /// Everything in the trash bin, most recently deleted first.
    pub async fn list(&self) -> Result<Vec<TrashItem>> {
        let (trash, _) = self.base().await?;
        let body = format!(
            r#"<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns" xmlns:nc="http://nextcloud.org/ns"><d:prop>{PROPS}</d:prop></d:propfind>"#
        );
        let responses = self
            .user
            .dav_multistatus("PROPFIND", &trash, Some("1"), &body, "The trash bin")
            .await?;
        let mut items: Vec<TrashItem> = responses
            .iter()
            .filter_map(|r| {
                let href = r.href.trim_end_matches('/');
                let (parent, last) = href.rsplit_once('/')?;
                // The trash folder itself.
                if !parent.ends_with("/trash") || last.is_empty() {
                    return None;
                }
                let id = percent_decode_str(last).decode_utf8_lossy().into_owned();
                let name = r
                    .text(NC, "trashbin-filename")
                    .map(str::to_string)
                    .unwrap_or_else(|| {
                        id.rsplit_once(".d")
                            .map_or(id.clone(), |(n, _)| n.to_string())
                    });
                Some(TrashItem {
                    original_location: r
                        .text(NC, "trashbin-original-location")
                        .map(|l| l.trim_start_matches('/').to_string())
                        .unwrap_or_else(|| name.clone()),
                    name,
                    deleted_at: r
                        .text(NC, "trashbin-deletion-time")
                        .and_then(|t| t.trim().parse().ok()),
                    is_dir: r.is_collection(),
                    size: r
                        .text(OC, "size")
                        .or_else(|| r.text(DAV, "getcontentlength"))
                        .and_then(|s| s.trim().parse().ok())
                        .unwrap_or(0),
                    content_type: r.text(DAV, "getcontenttype").map(str::to_string),
                    file_id: r.text(OC, "fileid").and_then(|s| s.trim().parse().ok()),
                    id,
                })
            })
            .collect();
        items.sort_by_key(|t| std::cmp::Reverse(t.deleted_at));
        Ok(items)
    }

    /// Puts an item back where it was deleted from (Nextcloud picks another name or the root
    /// folder when that place is taken or gone).
    pub async fn restore(&self, id: &str) -> Result<()> {
        let id = check_id(id)?;
        let (trash, restore) = self.base().await?;
        let seg = encode_segment(id);
        let destination = format!("{}{restore}/{seg}", self.user.client().base_url());
        let req = Request::new(
            crate::dav::method("MOVE"),
            format!("{trash}/{seg}"),
            format!("The trash item `{id}`"),
        )
        .header(HeaderName::from_static("destination"), &destination)?;
        self.user.send(req).await?;
        Ok(())
    }

    /// Deletes an item for good.
    pub async fn delete(&self, id: &str) -> Result<()> {
        let id = check_id(id)?;
        let (trash, _) = self.base().await?;
        let req = Request::new(
            Method::DELETE,
            format!("{trash}/{}", encode_segment(id)),
            format!("The trash item `{id}`"),
        );
        self.user.send(req).await?;
        Ok(())
    }
}
