//! Files into and out of a container, as the engine moves them: tar archives. Large ones
//! are streamed (64 KiB at a time in, chunk by chunk out), never held in memory whole.

use std::path::Path;

use bollard::query_parameters::{
    DownloadFromContainerOptionsBuilder, UploadToContainerOptionsBuilder,
};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};

use super::{Engine, api_error};
use crate::error::{Error, Result};

impl Engine {
    /// Writes small private files (`(relative path, body)`, mode 0600, parent directories
    /// created) into `dir` of container `id` before it starts: how secrets and certificates
    /// reach a container without its command or environment.
    pub(crate) async fn copy_private_in(
        &self,
        id: &str,
        name: &str,
        dir: &str,
        files: &[(&str, &[u8])],
    ) -> Result<()> {
        let tar = tar_of(files, 0o600)?;
        let opts = UploadToContainerOptionsBuilder::default().path(dir).build();
        let r = self
            .api
            .upload_to_container(id, Some(opts), bollard::body_full(tar.into()));
        r.await
            .map_err(api_error(format!("copy private files into {name}")))
    }

    /// Streams the tar archive at `tar` (on this host) into `dir` of container `id`,
    /// 64 KiB at a time, its files owned by the container's user (`copyUIDGID`).
    pub(crate) async fn copy_tar_in(
        &self,
        id: &str,
        name: &str,
        dir: &str,
        tar: &Path,
    ) -> Result<()> {
        let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Vec<u8>>>(8);
        let path = tar.to_path_buf();
        let reader = tokio::task::spawn_blocking(move || {
            let mut f = match std::fs::File::open(&path) {
                Ok(f) => f,
                Err(e) => return drop(tx.blocking_send(Err(e))),
            };
            loop {
                let mut buf = vec![0u8; 1 << 16];
                match std::io::Read::read(&mut f, &mut buf) {
                    Ok(0) => return,
                    Ok(n) => {
                        buf.truncate(n);
                        if tx.blocking_send(Ok(buf)).is_err() {
                            return;
                        }
                    }
                    Err(e) => return drop(tx.blocking_send(Err(e))),
                }
            }
        });
        let body = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|chunk| (chunk.map(Into::into), rx))
        });
        let opts = UploadToContainerOptionsBuilder::default()
            .path(dir)
            .copy_uidgid("1")
            .build();
        let r = self
            .api
            .upload_to_container(id, Some(opts), bollard::body_try_stream(body))
            .await
            .map_err(api_error(format!(
                "copy a tar into {dir} of container {name}"
            )));
        reader.await.map_err(|e| Error::Task {
            what: "reading the upload".into(),
            detail: e.to_string(),
        })?;
        r
    }

    /// Streams `from` (a file or directory in container `id`) out as a tar archive, chunk
    /// by chunk. An item `Ok(None)` means `from` does not exist (and ends the stream).
    pub(crate) fn copy_out(
        &self,
        id: &str,
        from: &str,
    ) -> impl Stream<Item = Result<Option<Bytes>>> + use<> {
        let opts = DownloadFromContainerOptionsBuilder::default()
            .path(from)
            .build();
        let from = from.to_string();
        self.api
            .download_from_container(id, Some(opts))
            .map(move |chunk| match chunk {
                Ok(bytes) => Ok(Some(bytes)),
                Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 404, ..
                }) => Ok(None),
                Err(e) => Err(api_error(format!("download {from}"))(e)),
            })
    }
}

/// A tar of `files` (relative paths; parents are created on unpacking), each `mode`.
fn tar_of(files: &[(&str, &[u8])], mode: u32) -> Result<Vec<u8>> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, body) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(body.len() as u64);
        header.set_mode(mode);
        header.set_cksum();
        b.append_data(&mut header, name, *body)
            .map_err(Error::io(name))?;
    }
    b.into_inner().map_err(Error::io("tar"))
}
