//! Where a materialized view's files live: a local directory, or a prefix in an object
//! store (`s3://bucket/path`, through `object_store`), behind one small synchronous
//! interface. Every write replaces a whole file at once, which a rename does locally (after
//! an fsync, so that a committed epoch survives a crash of the machine) and a PUT does in
//! an object store; a reader therefore sees a file whole or not at all either way.
//!
//! Object stores have no directories: a view's prefix exists while its `_view` object
//! does, written when the view is created and deleted last when it is dropped.

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use eddy_runtime::{Result, RuntimeError};

/// The object marking that a view's prefix exists.
const MARKER: &str = "_view";

/// A view's files.
#[derive(Debug, Clone)]
pub(super) enum Blobs {
    Local(PathBuf),
    Remote {
        store: Arc<dyn ObjectStore>,
        prefix: ObjectPath,
        url: String,
    },
}

fn io(context: String) -> impl FnOnce(std::io::Error) -> RuntimeError {
    move |source| RuntimeError::Io { context, source }
}

/// An object store's error as an I/O error: a slow-down or a dropped connection is worth
/// a restart of the job, as a failing disk is, not a user's mistake.
fn remote(context: String) -> impl FnOnce(object_store::Error) -> RuntimeError {
    move |e| RuntimeError::Io {
        context,
        source: std::io::Error::other(e.to_string()),
    }
}

/// Runs an object-store request on a runtime of its own and waits for it: the callers are
/// sink threads and blocking tasks, never that runtime's own workers.
fn block<T: Send + 'static>(
    request: impl std::future::Future<Output = T> + Send + 'static,
) -> Result<T> {
    static RUNTIME: OnceLock<std::io::Result<tokio::runtime::Runtime>> = OnceLock::new();
    let runtime = RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("eddy-view-store")
            .enable_all()
            .build()
    });
    let runtime = runtime.as_ref().map_err(|e| {
        RuntimeError::Internal(format!("no runtime for materialized view storage: {e}"))
    })?;
    let (tx, rx) = std::sync::mpsc::channel();
    runtime.spawn(async move {
        let _ = tx.send(request.await);
    });
    rx.recv()
        .map_err(|_| RuntimeError::Internal("a storage request was dropped".into()))
}

impl Blobs {
    /// The files under `location`: a local path or `file://` URL, or an object store URL
    /// (`s3://bucket/path`; credentials, region and endpoint from the `AWS_*` environment
    /// variables, as for checkpoints).
    pub fn open(location: &str) -> Result<Blobs> {
        let url = match url::Url::parse(location) {
            // A plain path (or a Windows drive letter, parsed as a one-letter scheme).
            Ok(u) if u.scheme().len() > 1 => u,
            _ => return Ok(Blobs::Local(PathBuf::from(location))),
        };
        if url.scheme() == "file" {
            let path = url.to_file_path().map_err(|()| {
                RuntimeError::User(format!("'{location}' is not a local path Eddy can use"))
            })?;
            return Ok(Blobs::Local(path));
        }
        let env: Vec<(String, String)> = std::env::vars()
            .filter(|(k, _)| k.starts_with("AWS_"))
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        let (store, prefix) = object_store::parse_url_opts(&url, env).map_err(|e| {
            RuntimeError::User(format!(
                "'{location}' is not a place Eddy can keep a materialized view: {e}"
            ))
        })?;
        Ok(Blobs::Remote {
            store: Arc::from(store),
            prefix,
            url: location.trim_end_matches('/').to_string(),
        })
    }

    /// `name` as messages show it.
    pub fn describe(&self, name: &str) -> String {
        match self {
            Blobs::Local(dir) => dir.join(name).display().to_string(),
            Blobs::Remote { url, .. } => format!("{url}/{name}"),
        }
    }

    fn object(prefix: &ObjectPath, name: &str) -> ObjectPath {
        prefix.clone().join(name)
    }

    /// Makes the view's place exist.
    pub fn create(&self) -> Result<()> {
        match self {
            Blobs::Local(dir) => {
                std::fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))
            }
            Blobs::Remote { .. } => self.put(MARKER, b""),
        }
    }

    /// Whether the view's place exists (it goes when the view is dropped).
    pub fn exists(&self) -> Result<bool> {
        match self {
            Blobs::Local(dir) => Ok(dir.exists()),
            Blobs::Remote { .. } => self.contains(MARKER),
        }
    }

    /// The names of the files there (none when there is no such place).
    pub fn names(&self) -> Result<Vec<String>> {
        match self {
            Blobs::Local(dir) => {
                let entries = match std::fs::read_dir(dir) {
                    Ok(entries) => entries,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
                    Err(e) => return Err(io(format!("listing {}", dir.display()))(e)),
                };
                let mut names = Vec::new();
                for entry in entries {
                    let entry = entry.map_err(io(format!("listing {}", dir.display())))?;
                    names.push(entry.file_name().to_string_lossy().into_owned());
                }
                Ok(names)
            }
            Blobs::Remote { store, prefix, url } => {
                let (store, prefix) = (store.clone(), prefix.clone());
                let listed = block(async move {
                    store
                        .list_with_delimiter(Some(&prefix))
                        .await
                        .map(|l| l.objects)
                })?
                .map_err(remote(format!("listing {url}")))?;
                Ok(listed
                    .into_iter()
                    .filter_map(|o| o.location.filename().map(str::to_string))
                    .collect())
            }
        }
    }

    /// The bytes of `name`, None when there is no such file.
    pub fn get(&self, name: &str) -> Result<Option<Vec<u8>>> {
        match self {
            Blobs::Local(dir) => match std::fs::read(dir.join(name)) {
                Ok(bytes) => Ok(Some(bytes)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(io(format!("reading {}", self.describe(name)))(e)),
            },
            Blobs::Remote { store, prefix, .. } => {
                let (store, object) = (store.clone(), Self::object(prefix, name));
                let got = block(async move {
                    match store.get(&object).await {
                        Ok(r) => r.bytes().await.map(Some),
                        Err(object_store::Error::NotFound { .. }) => Ok(None),
                        Err(e) => Err(e),
                    }
                })?;
                Ok(got
                    .map_err(remote(format!("reading {}", self.describe(name))))?
                    .map(|b| b.to_vec()))
            }
        }
    }

    /// Whether `name` exists.
    pub fn contains(&self, name: &str) -> Result<bool> {
        match self {
            Blobs::Local(dir) => Ok(dir.join(name).exists()),
            Blobs::Remote { store, prefix, .. } => {
                let (store, object) = (store.clone(), Self::object(prefix, name));
                let head = block(async move {
                    match store.head(&object).await {
                        Ok(_) => Ok(true),
                        Err(object_store::Error::NotFound { .. }) => Ok(false),
                        Err(e) => Err(e),
                    }
                })?;
                head.map_err(remote(format!("reading {}", self.describe(name))))
            }
        }
    }

    /// Writes `name` whole, replacing what was there.
    pub fn put(&self, name: &str, bytes: &[u8]) -> Result<()> {
        match self {
            Blobs::Local(dir) => {
                let path = dir.join(name);
                let tmp = dir.join(format!("{name}.tmp-{}", uuid::Uuid::new_v4().simple()));
                let write = || -> std::io::Result<()> {
                    let mut file = File::create(&tmp)?;
                    file.write_all(bytes)?;
                    file.sync_all()?;
                    std::fs::rename(&tmp, &path)?;
                    // The rename itself reaches the disk with the directory.
                    File::open(dir)?.sync_all()
                };
                write()
                    .inspect_err(|_| {
                        let _ = std::fs::remove_file(&tmp);
                    })
                    .map_err(io(format!("writing {}", path.display())))
            }
            Blobs::Remote { store, prefix, .. } => {
                let (store, object) = (store.clone(), Self::object(prefix, name));
                let payload = PutPayload::from(bytes.to_vec());
                block(async move { store.put(&object, payload).await })?
                    .map(|_| ())
                    .map_err(remote(format!("writing {}", self.describe(name))))
            }
        }
    }

    /// Deletes `name`, if it is there.
    pub fn delete(&self, name: &str) -> Result<()> {
        match self {
            Blobs::Local(dir) => match std::fs::remove_file(dir.join(name)) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(io(format!("deleting {}", self.describe(name)))(e)),
            },
            Blobs::Remote { store, prefix, .. } => {
                let (store, object) = (store.clone(), Self::object(prefix, name));
                let deleted = block(async move {
                    match store.delete(&object).await {
                        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                        Err(e) => Err(e),
                    }
                })?;
                deleted.map_err(remote(format!("deleting {}", self.describe(name))))
            }
        }
    }

    /// Deletes every file, the place itself last.
    pub fn clear(&self) -> Result<()> {
        match self {
            Blobs::Local(dir) => match std::fs::remove_dir_all(dir) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(io(format!("deleting {}", dir.display()))(e)),
            },
            Blobs::Remote { .. } => {
                for name in self.names()? {
                    if name != MARKER {
                        self.delete(&name)?;
                    }
                }
                self.delete(MARKER)
            }
        }
    }
}
