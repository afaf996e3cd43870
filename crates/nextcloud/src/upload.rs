//! Nextcloud's chunked upload v2 (`/remote.php/dav/uploads/{user}/{id}`), for files too large
//! to send in one PUT without hitting proxy body limits or PHP timeouts:
//!
//! 1. `MKCOL uploads/{user}/{id}` with `Destination` (the final file URL);
//! 2. `PUT uploads/{user}/{id}/{n}` for n = 1, 2, ... (at most 10000 chunks), each with
//!    `Destination` and `OC-Total-Length` (so the quota is checked up front);
//! 3. `MOVE uploads/{user}/{id}/.file` to the destination, which assembles the chunks.
//!
//! The version guard of [`WriteMode`] is applied twice: before any byte is sent (so a stale
//! ETag costs no transfer) and atomically at the final MOVE: `Overwrite: F` for create-only,
//! an RFC 4918 `If: <destination> (["etag"])` tagged list for an ETag (as Nextcloud's desktop
//! client does; a plain `If-Match` on that MOVE would be checked against the upload folder).
//! On failure the upload folder is deleted, so no half upload lingers for 24 hours.

use bytes::Bytes;
use reqwest::Method;
use reqwest::header::{ETAG, HeaderName};

use crate::client::Request;
use crate::dav::{encode_segment, method};
use crate::files::{Files, Uploaded, WriteMode, header_str, normalize_etag, normalize_path, what};
use crate::{Error, Result};

/// How far a transfer has got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Bytes transferred so far.
    pub done: u64,
    /// Bytes in all.
    pub total: u64,
}

/// Nextcloud accepts chunk numbers 1 to 10000.
pub const MAX_CHUNKS: u64 = 10_000;

fn destination() -> HeaderName {
    HeaderName::from_static("destination")
}

fn total_length() -> HeaderName {
    HeaderName::from_static("oc-total-length")
}

impl Files<'_> {
    /// Uploads `content` to `path` in chunks of `chunk_size` bytes (raised if the file would
    /// need more than [`MAX_CHUNKS`]). `progress` receives an update after each chunk.
    pub async fn upload_chunked(
        &self,
        path: &str,
        content: Bytes,
        mode: WriteMode,
        chunk_size: u64,
        progress: Option<&tokio::sync::mpsc::UnboundedSender<Progress>>,
    ) -> Result<Uploaded> {
        let path = normalize_path("path", path)?;
        if path.is_empty() {
            return Err(Error::invalid_argument(
                "path",
                "needs a file name; the home folder itself cannot be written",
            ));
        }
        self.check_before_upload(&path, &mode).await?;
        let total = content.len() as u64;
        let chunk_size = chunk_size.max(1).max(total.div_ceil(MAX_CHUNKS));
        let user_id = self.user.user_id().await?;
        let folder = format!(
            "/remote.php/dav/uploads/{}/nc-mcp-{:016x}{:016x}",
            encode_segment(&user_id),
            rand::random::<u64>(),
            rand::random::<u64>()
        );
        let dest_url = self.absolute_url(&path).await?;
        let label = what(&path);

        let mkcol = Request::new(method("MKCOL"), folder.clone(), label.clone())
            .header(destination(), &dest_url)?;
        self.user.send(mkcol).await?;
        let result = self
            .send_chunks_and_assemble(
                &path, &folder, &dest_url, &label, content, &mode, chunk_size, progress,
            )
            .await;
        if result.is_err() {
            // Best effort: abort the upload so its chunks don't wait 24 hours for expiry.
            let abort = Request::new(Method::DELETE, folder, label);
            let _ = self.user.send(abort).await;
        }
        result
    }

    /// Refuses early, before any byte is sent, what the final MOVE would refuse anyway.
    async fn check_before_upload(&self, path: &str, mode: &WriteMode) -> Result<()> {
        let current = match self.stat(path).await {
            Ok(info) => Some(info),
            Err(Error::NotFound { .. }) => None,
            Err(e) => return Err(e),
        };
        let label = what(path);
        match (mode, &current) {
            (WriteMode::CreateOnly, Some(info)) => Err(Error::Conflict {
                what: label,
                current_etag: info.etag.clone(),
            }),
            (WriteMode::IfMatch(_), None) => Err(Error::Conflict {
                what: label,
                current_etag: None,
            }),
            (WriteMode::IfMatch(etag), Some(info))
                if etag.trim() != "*" && info.etag.as_deref() != Some(&normalize_etag(etag)) =>
            {
                Err(Error::Conflict {
                    what: label,
                    current_etag: info.etag.clone(),
                })
            }
            (_, Some(info)) if info.is_dir => Err(Error::invalid_argument(
                "path",
                format!("`{path}` is a folder; a file cannot replace it"),
            )),
            (_, None) => {
                let parent = path.rsplit_once('/').map_or("", |(p, _)| p);
                match self.stat(parent).await {
                    Ok(info) if info.is_dir => Ok(()),
                    Ok(_) | Err(Error::NotFound { .. }) => Err(Error::invalid_argument(
                        "path",
                        format!(
                            "the folder for `{path}` does not exist; create it first with nc_webdav_create_directory"
                        ),
                    )),
                    Err(e) => Err(e),
                }
            }
            _ => Ok(()),
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn send_chunks_and_assemble(
        &self,
        path: &str,
        folder: &str,
        dest_url: &str,
        label: &str,
        content: Bytes,
        mode: &WriteMode,
        chunk_size: u64,
        progress: Option<&tokio::sync::mpsc::UnboundedSender<Progress>>,
    ) -> Result<Uploaded> {
        let total = content.len() as u64;
        let report = |done: u64| {
            if let Some(tx) = progress {
                let _ = tx.send(Progress { done, total });
            }
        };
        report(0);
        let mut offset = 0u64;
        let mut number = 1u64;
        while offset < total {
            let end = (offset + chunk_size).min(total);
            let mut put = Request::new(
                Method::PUT,
                format!("{folder}/{number:05}"),
                label.to_string(),
            )
            .header(destination(), dest_url)?
            .header(total_length(), &total.to_string())?;
            put.body = Some(content.slice(offset as usize..end as usize));
            self.user.send(put).await?;
            offset = end;
            number += 1;
            report(offset);
        }
        let mut mv = Request::new(method("MOVE"), format!("{folder}/.file"), label.to_string())
            .header(destination(), dest_url)?
            .header(total_length(), &total.to_string())?;
        mv = match mode {
            WriteMode::CreateOnly => mv.header(HeaderName::from_static("overwrite"), "F")?,
            WriteMode::IfMatch(etag) if etag.trim() != "*" => mv.header(
                HeaderName::from_static("if"),
                &format!("<{dest_url}> ([\"{}\"])", normalize_etag(etag)),
            )?,
            _ => mv.header(HeaderName::from_static("overwrite"), "T")?,
        };
        let resp = self.user.send(mv).await?;
        let created = resp.status().as_u16() == 201;
        let etag = header_str(&resp, HeaderName::from_static("oc-etag"))
            .or_else(|| header_str(&resp, ETAG))
            .map(|e| normalize_etag(&e));
        let file_id = header_str(&resp, HeaderName::from_static("oc-fileid"));
        // Nextcloud's v2 path answers without ETag headers; ask for the new version then.
        let (etag, file_id) = match etag {
            Some(e) => (Some(e), file_id),
            None => {
                let info = self.stat(path).await?;
                (info.etag, file_id.or(info.id.map(|i| i.to_string())))
            }
        };
        Ok(Uploaded {
            created,
            etag,
            file_id,
        })
    }
}
