//! A disk made slower on demand: a slow disk as a fault, for a node on a real machine (the
//! processes world's `disk` step; `{"disk": ...}` on `ballot node`'s stdin).

use crate::storage::FileSystem;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Latencies added to a disk's own: `[min, max]` milliseconds, each drawn uniformly.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AddedLatency {
    /// Added to every write (a new file, an append, an overwrite), milliseconds.
    pub write_ms: [u64; 2],
    /// Added to every sync of a file or a directory, milliseconds.
    pub sync_ms: [u64; 2],
}

/// The latencies a [`SlowDisk`] adds, changeable while the node runs.
#[derive(Clone, Debug, Default)]
pub struct DiskDelay(Arc<Mutex<AddedLatency>>);

impl DiskDelay {
    /// Adds `latency` to every operation from now on (zero: the disk's own speed).
    pub fn set(&self, latency: AddedLatency) {
        *self.0.lock().expect("disk delay lock") = latency;
    }

    fn get(&self) -> AddedLatency {
        *self.0.lock().expect("disk delay lock")
    }
}

/// A [`FileSystem`] that waits, before each write and each sync, for a latency drawn from
/// its [`DiskDelay`] (seeded: the same draws for the same seed), then does it on `inner`.
pub struct SlowDisk<F> {
    inner: F,
    delay: DiskDelay,
    rng: Mutex<StdRng>,
}

impl<F: FileSystem> SlowDisk<F> {
    /// `inner`, slowed by what `delay` holds, drawing latencies from `seed`.
    pub fn new(inner: F, delay: DiskDelay, seed: u64) -> Self {
        SlowDisk { inner, delay, rng: Mutex::new(StdRng::seed_from_u64(seed)) }
    }

    /// Waits a latency drawn from `[min, max]` ms (nothing at zero).
    async fn wait(&self, [min, max]: [u64; 2]) {
        if max == 0 {
            return;
        }
        let ms = self.rng.lock().expect("disk rng lock").random_range(min..=max.max(min));
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
}

impl<F: FileSystem> FileSystem for SlowDisk<F> {
    fn read(&self, path: &Path) -> io::Result<Option<Vec<u8>>> {
        self.inner.read(path)
    }

    async fn write(&self, path: &Path, bytes: Vec<u8>) -> io::Result<()> {
        self.wait(self.delay.get().write_ms).await;
        self.inner.write(path, bytes).await
    }

    async fn append(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        self.wait(self.delay.get().write_ms).await;
        self.inner.append(path, bytes).await
    }

    async fn overwrite(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        self.wait(self.delay.get().write_ms).await;
        self.inner.overwrite(path, bytes).await
    }

    async fn sync_file(&self, path: &Path) -> io::Result<()> {
        self.wait(self.delay.get().sync_ms).await;
        self.inner.sync_file(path).await
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.inner.rename(from, to)
    }

    async fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.wait(self.delay.get().sync_ms).await;
        self.inner.sync_dir(dir).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StdFileSystem;

    /// Nothing added until a delay is set; then each sync waits at least its minimum (on
    /// tokio's paused clock: simulated time, not a timed test).
    #[tokio::test(start_paused = true)]
    async fn a_sync_waits_the_latency_set() {
        let dir = std::env::temp_dir().join(format!("ballot-slow-disk-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f");
        let delay = DiskDelay::default();
        let disk = SlowDisk::new(StdFileSystem, delay.clone(), 7);
        let began = tokio::time::Instant::now();
        disk.write(&path, b"x".to_vec()).await.unwrap();
        disk.sync_file(&path).await.unwrap();
        assert_eq!(began.elapsed(), Duration::ZERO);
        delay.set(AddedLatency { write_ms: [0, 0], sync_ms: [200, 300] });
        disk.sync_file(&path).await.unwrap();
        let took = began.elapsed();
        assert!(
            took >= Duration::from_millis(200) && took <= Duration::from_millis(300),
            "{took:?}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), b"x");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
