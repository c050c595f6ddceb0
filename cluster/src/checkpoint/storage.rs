//! Checkpoint storage through `object_store`: a root URL (`file:///...`, `s3://bucket/...`,
//! or a plain path for the local filesystem) under which checkpoints and savepoints are
//! written as files. A put to the local filesystem is atomic (a staging file renamed), as
//! is a put to S3, so a reader never sees a half-written `_metadata`.

use std::sync::Arc;

use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use crate::error::{ClusterError, Result};

/// One storage root.
#[derive(Clone)]
pub struct CheckpointStorage {
    store: Arc<dyn ObjectStore>,
    root: Path,
    url: String,
}

impl std::fmt::Debug for CheckpointStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.url)
    }
}

fn storage_error(what: String, e: impl std::fmt::Display) -> ClusterError {
    ClusterError::Runtime(eddy_runtime::RuntimeError::External(format!("{what}: {e}")))
}

impl CheckpointStorage {
    /// Storage rooted at `location`: a URL, or a local path (made absolute). S3 takes its
    /// credentials and region from the usual `AWS_*` environment variables.
    pub fn open(location: &str) -> Result<Self> {
        let url = match url::Url::parse(location) {
            Ok(u) if u.scheme().len() > 1 => u,
            // A plain path (or a Windows drive letter, parsed as a one-letter scheme).
            _ => {
                let path = std::path::absolute(location)
                    .map_err(|e| storage_error(format!("checkpoint directory '{location}'"), e))?;
                std::fs::create_dir_all(&path)
                    .map_err(|e| storage_error(format!("cannot create '{}'", path.display()), e))?;
                url::Url::from_directory_path(&path).map_err(|_| {
                    ClusterError::Runtime(eddy_runtime::RuntimeError::User(format!(
                        "'{location}' is not a usable checkpoint directory"
                    )))
                })?
            }
        };
        if url.scheme() == "file" {
            if let Ok(path) = url.to_file_path() {
                std::fs::create_dir_all(&path)
                    .map_err(|e| storage_error(format!("cannot create '{}'", path.display()), e))?;
            }
        }
        let env: Vec<(String, String)> = std::env::vars()
            .filter(|(k, _)| k.starts_with("AWS_"))
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        let (store, root) = object_store::parse_url_opts(&url, env).map_err(|e| {
            ClusterError::Runtime(eddy_runtime::RuntimeError::User(format!(
                "'{location}' is not a checkpoint location Eddy can use: {e}"
            )))
        })?;
        Ok(Self {
            store: Arc::from(store),
            root,
            url: url.to_string().trim_end_matches('/').to_string(),
        })
    }

    /// The root as a URL, for messages and for other processes to open.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn path(&self, relative: &str) -> Path {
        relative
            .split('/')
            .filter(|p| !p.is_empty())
            .fold(self.root.clone(), |p, part| p.join(part))
    }

    /// A URL for a path under the root.
    pub fn url_of(&self, relative: &str) -> String {
        format!("{}/{}", self.url, relative.trim_matches('/'))
    }

    /// Writes a file.
    pub async fn put(&self, relative: &str, bytes: Vec<u8>) -> Result<u64> {
        let size = bytes.len() as u64;
        self.store
            .put(&self.path(relative), PutPayload::from(bytes))
            .await
            .map_err(|e| storage_error(format!("cannot write {}", self.url_of(relative)), e))?;
        Ok(size)
    }

    /// Reads a file; `None` when it does not exist.
    pub async fn get(&self, relative: &str) -> Result<Option<Vec<u8>>> {
        match self.store.get(&self.path(relative)).await {
            Ok(r) => Ok(Some(
                r.bytes()
                    .await
                    .map_err(|e| {
                        storage_error(format!("cannot read {}", self.url_of(relative)), e)
                    })?
                    .to_vec(),
            )),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(storage_error(
                format!("cannot read {}", self.url_of(relative)),
                e,
            )),
        }
    }

    /// Deletes one file; a file that is already gone is no error.
    pub async fn delete(&self, relative: &str) -> Result<()> {
        match self.store.delete(&self.path(relative)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(storage_error(
                format!("cannot delete {}", self.url_of(relative)),
                e,
            )),
        }
    }

    /// The path under the root that a URL of this storage names, if it is one.
    pub fn relative_of(&self, url: &str) -> Option<String> {
        url.strip_prefix(self.url.as_str())
            .filter(|rest| rest.starts_with('/'))
            .map(|rest| rest.trim_start_matches('/').to_string())
    }

    /// Copies a file within the storage.
    pub async fn copy(&self, from: &str, to: &str) -> Result<()> {
        self.store
            .copy(&self.path(from), &self.path(to))
            .await
            .map_err(|e| {
                storage_error(
                    format!("cannot copy {} to {}", self.url_of(from), self.url_of(to)),
                    e,
                )
            })
    }

    /// Deletes every file under a directory.
    pub async fn delete_dir(&self, relative: &str) -> Result<()> {
        let prefix = self.path(relative);
        let files: Vec<_> = self
            .store
            .list(Some(&prefix))
            .map_ok(|m| m.location)
            .try_collect()
            .await
            .map_err(|e| storage_error(format!("cannot list {}", self.url_of(relative)), e))?;
        for f in files {
            match self.store.delete(&f).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(storage_error(format!("cannot delete {f}"), e)),
            }
        }
        if let Ok(dir) = url::Url::parse(&self.url_of(relative)).and_then(|u| {
            u.to_file_path()
                .map_err(|_| url::ParseError::RelativeUrlWithoutBase)
        }) {
            // The local filesystem keeps empty directories.
            let _ = std::fs::remove_dir_all(dir);
        }
        Ok(())
    }

    /// Names of the entries directly under a directory.
    pub async fn list_dirs(&self, relative: &str) -> Result<Vec<String>> {
        let listing = self
            .store
            .list_with_delimiter(Some(&self.path(relative)))
            .await
            .map_err(|e| storage_error(format!("cannot list {}", self.url_of(relative)), e))?;
        Ok(listing
            .common_prefixes
            .iter()
            .filter_map(|p| p.filename().map(str::to_string))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn writes_reads_lists_and_deletes_under_a_local_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("chk");
        let storage = CheckpointStorage::open(root.to_str().unwrap()).unwrap();
        assert!(storage.url().starts_with("file://"));
        storage.put("job/chk-1/a", b"x".to_vec()).await.unwrap();
        storage
            .put("job/chk-2/_metadata", b"y".to_vec())
            .await
            .unwrap();
        assert_eq!(
            storage.get("job/chk-1/a").await.unwrap(),
            Some(b"x".to_vec())
        );
        assert_eq!(storage.get("job/chk-1/none").await.unwrap(), None);
        let mut dirs = storage.list_dirs("job").await.unwrap();
        dirs.sort();
        assert_eq!(dirs, vec!["chk-1", "chk-2"]);
        storage.delete_dir("job/chk-1").await.unwrap();
        assert!(!root.join("job/chk-1").exists());
        // Opening the URL it reports reaches the same files.
        let again = CheckpointStorage::open(storage.url()).unwrap();
        assert_eq!(
            again.get("job/chk-2/_metadata").await.unwrap(),
            Some(b"y".to_vec())
        );
    }
}
