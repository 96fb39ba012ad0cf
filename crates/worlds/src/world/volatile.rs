//! A file system whose writes stay in the process's memory until they are synced: a node
//! process killed with SIGKILL then loses what it had not synced, as a machine that loses
//! power would (the kernel's page cache would otherwise keep every write of a killed process).
//! What `ballot node --volatile-writes` runs on, in the processes world.

use ballot_node::{FileSystem, StdFileSystem};
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// A file's writes since it was last synced.
enum Unsynced {
    /// The file was written whole: these are its contents.
    Replaced(Vec<u8>),
    /// These bytes were added to the end of what the disk holds.
    Appended(Vec<u8>),
}

/// The operating system's file system, with every write held back until its file is synced
/// (or renamed: a rename takes the file as it stands).
#[derive(Default)]
pub struct VolatileWrites {
    unsynced: Mutex<BTreeMap<PathBuf, Unsynced>>,
}

impl VolatileWrites {
    fn take(&self, path: &Path) -> Option<Unsynced> {
        self.unsynced.lock().expect("unsynced lock").remove(path)
    }

    /// Hands the file's held writes to the operating system (not synced).
    async fn write_out(&self, path: &Path) -> io::Result<()> {
        match self.take(path) {
            Some(Unsynced::Replaced(bytes)) => StdFileSystem.write(path, bytes).await,
            Some(Unsynced::Appended(bytes)) => StdFileSystem.append(path, &bytes).await,
            None => Ok(()),
        }
    }
}

impl FileSystem for VolatileWrites {
    fn read(&self, path: &Path) -> io::Result<Option<Vec<u8>>> {
        let on_disk = || StdFileSystem.read(path);
        match self.unsynced.lock().expect("unsynced lock").get(path) {
            None => on_disk(),
            Some(Unsynced::Replaced(bytes)) => Ok(Some(bytes.clone())),
            Some(Unsynced::Appended(bytes)) => Ok(on_disk()?.map(|mut held| {
                held.extend_from_slice(bytes);
                held
            })),
        }
    }

    async fn write(&self, path: &Path, bytes: Vec<u8>) -> io::Result<()> {
        self.unsynced.lock().expect("unsynced lock").insert(path.into(), Unsynced::Replaced(bytes));
        Ok(())
    }

    async fn append(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let mut unsynced = self.unsynced.lock().expect("unsynced lock");
        match unsynced.get_mut(path) {
            Some(Unsynced::Replaced(held) | Unsynced::Appended(held)) => {
                held.extend_from_slice(bytes)
            }
            None if path.exists() => {
                unsynced.insert(path.into(), Unsynced::Appended(bytes.to_vec()));
            }
            None => {
                return Err(io::Error::new(io::ErrorKind::NotFound, "append to a missing file"))
            }
        }
        Ok(())
    }

    async fn overwrite(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let mut contents = self.read(path)?.ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, "overwrite of a missing file")
        })?;
        if contents.len() < bytes.len() {
            contents.resize(bytes.len(), 0);
        }
        contents[..bytes.len()].copy_from_slice(bytes);
        self.unsynced
            .lock()
            .expect("unsynced lock")
            .insert(path.into(), Unsynced::Replaced(contents));
        Ok(())
    }

    async fn sync_file(&self, path: &Path) -> io::Result<()> {
        self.write_out(path).await?;
        StdFileSystem.sync_file(path).await
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        // The file is renamed as it stands; its writes not yet synced go with it, still held.
        let mut unsynced = self.unsynced.lock().expect("unsynced lock");
        unsynced.remove(to);
        if let Some(held) = unsynced.remove(from) {
            if let Unsynced::Replaced(_) = held {
                // A file written whole and never synced may not exist on disk yet.
                std::fs::write(from, b"")?;
            }
            unsynced.insert(to.into(), held);
        }
        StdFileSystem.rename(from, to)
    }

    async fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        StdFileSystem.sync_dir(dir).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ballot_node::{complete_now, write_atomic};

    /// The outcome of an operation that does not wait (the operating system's calls).
    fn now<T>(operation: impl std::future::Future<Output = T>) -> T {
        complete_now(operation).expect("completes at once")
    }

    /// What was synced survives the process (a fresh file system reads it from disk); what
    /// was written or appended after, and not synced, does not, though the process itself
    /// read it back.
    #[test]
    fn a_killed_process_keeps_only_what_it_synced() {
        let dir = std::env::temp_dir().join(format!("ballot-volatile-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let (state, log) = (dir.join("state"), dir.join("state.log"));
        let fs = VolatileWrites::default();
        now(write_atomic(&fs, &state, b"term 3".to_vec())).unwrap();
        now(fs.write(&log, b"entry 1;".to_vec())).unwrap();
        now(fs.sync_file(&log)).unwrap();
        now(fs.append(&log, b"entry 2;")).unwrap();
        now(write_atomic(&fs, &state, b"term 4".to_vec())).unwrap();
        now(fs.write(&state, b"term 5, not synced".to_vec())).unwrap();
        assert_eq!(fs.read(&log).unwrap().unwrap(), b"entry 1;entry 2;");
        assert_eq!(fs.read(&state).unwrap().unwrap(), b"term 5, not synced");
        drop(fs); // killed
        let after = VolatileWrites::default();
        assert_eq!(after.read(&log).unwrap().unwrap(), b"entry 1;");
        assert_eq!(after.read(&state).unwrap().unwrap(), b"term 4");
        let missing = now(after.append(&dir.join("none"), b"x")).unwrap_err();
        assert_eq!(missing.kind(), io::ErrorKind::NotFound);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
