//! Directory sink: rolling NDJSON files for a USB stick or a shared folder (sneakernet).
//!
//! A batch goes whole into the current file `<stream>-<first seq, 20 digits>.ndjson` (the
//! name sorts in sequence order) and is `Delivered` only after the file is synced, and the
//! directory too when the file was new. Once a file reaches `max_file_bytes` the next batch
//! starts a new one. After a restart the newest file of the stream is continued, cut back
//! first to its last complete line: a line torn by a crash was never acknowledged, and the
//! records in it come again with the retried batch. A line written twice (a crash after the
//! write, before the acknowledgement) is fine: readers deduplicate by `seq`.
//!
//! Any io error is a `Retry`; `link_down` when the directory is gone (a stick pulled out), so
//! the worker probes until it is back. The directory is created when the exporter starts and
//! when it is missing but its parent exists (a fresh stick mounted at the same place), never
//! a whole missing path at send time, so a pulled stick does not silently turn into a folder
//! on the device's own disk.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::{Outcome, Sink};
use crate::error::{Error, Result};
use crate::forward::config::DirectorySink;
use crate::forward::wire::Batch;

pub(crate) struct DirectoryWriter {
    dir: PathBuf,
    max_file_bytes: u64,
    current: Option<Current>,
    /// fsyncs done (files, directories): what the tests check the durable path with.
    syncs: (u64, u64),
}

/// The file batches are appended to now.
struct Current {
    stream: String,
    path: PathBuf,
    file: File,
    len: u64,
}

impl DirectoryWriter {
    pub(crate) fn new(config: &DirectorySink) -> Result<DirectoryWriter> {
        if config.path.is_empty() || config.max_file_bytes == 0 {
            return Err(Error::InvalidArgument("directory exporter: path and max_file_bytes > 0 are required".into()));
        }
        let dir = PathBuf::from(&config.path);
        // Best effort: a stick that is not there yet is waited for by send/probe.
        let _ = std::fs::create_dir_all(&dir);
        Ok(DirectoryWriter { dir, max_file_bytes: config.max_file_bytes, current: None, syncs: (0, 0) })
    }

    /// The directory, created if only its last component is missing.
    fn ensure_dir(&mut self) -> std::io::Result<()> {
        if self.dir.is_dir() {
            return Ok(());
        }
        match self.dir.parent() {
            Some(parent) if parent.as_os_str().is_empty() || parent.is_dir() => match std::fs::create_dir(&self.dir) {
                Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(e),
                _ => {
                    self.syncs.1 += 1;
                    sync_dir(parent)
                }
            },
            _ => Err(std::io::Error::new(std::io::ErrorKind::NotFound, "the directory and its parent are missing")),
        }
    }

    /// The file this batch goes to: the current one while it has room, else the stream's
    /// newest file on disk if it has room, else a new file named after the batch.
    fn file_for(&mut self, batch: &Batch) -> std::io::Result<&mut Current> {
        let stale = match &self.current {
            Some(c) => c.stream != batch.stream || c.len >= self.max_file_bytes || !c.path.exists(),
            None => true,
        };
        if stale {
            self.current = None;
            // After a rollover the newest file is the full one, so this starts a new file; after
            // a restart or an error it continues the file on disk.
            let path = match newest_file(&self.dir, &batch.stream)? {
                Some((path, len)) if len < self.max_file_bytes => path,
                _ => self.dir.join(file_name(&batch.stream, batch.first_seq())),
            };
            let (current, created) = open_for_append(&path, &batch.stream)?;
            self.syncs.1 += created as u64;
            self.current = Some(current);
        }
        self.current.as_mut().ok_or_else(|| std::io::Error::other("no current file"))
    }
}

/// `<stream>-<first_seq as 20 digits>.ndjson`.
pub(crate) fn file_name(stream: &str, first_seq: u64) -> String {
    format!("{stream}-{first_seq:020}.ndjson")
}

/// The stream's file with the highest first sequence number, with its length.
fn newest_file(dir: &Path, stream: &str) -> std::io::Result<Option<(PathBuf, u64)>> {
    let prefix = format!("{stream}-");
    let mut best: Option<(u64, PathBuf)> = None;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(digits) = name.strip_prefix(&prefix).and_then(|r| r.strip_suffix(".ndjson")) else { continue };
        if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(seq) = digits.parse::<u64>() else { continue };
        if best.as_ref().is_none_or(|(s, _)| seq > *s) {
            best = Some((seq, entry.path()));
        }
    }
    match best {
        Some((_, path)) => {
            let len = std::fs::metadata(&path)?.len();
            Ok(Some((path, len)))
        }
        None => Ok(None),
    }
}

/// Opens (creating if needed, then syncing the directory) for appending, after cutting a
/// torn last line; whether it created the file.
fn open_for_append(path: &Path, stream: &str) -> std::io::Result<(Current, bool)> {
    let existed = path.exists();
    let mut file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path)?;
    let mut len = file.metadata()?.len();
    if existed && len > 0 {
        let keep = complete_prefix(&mut file, len)?;
        if keep != len {
            file.set_len(keep)?;
            file.sync_all()?;
            len = keep;
        }
    }
    if !existed {
        if let Some(dir) = path.parent() {
            sync_dir(dir)?;
        }
    }
    file.seek(SeekFrom::Start(len))?;
    Ok((Current { stream: stream.to_owned(), path: path.to_owned(), file, len }, !existed))
}

/// The length of the file up to and including its last `\n` (0 if it has none).
fn complete_prefix(file: &mut File, len: u64) -> std::io::Result<u64> {
    let mut end = len;
    let mut buf = vec![0u8; 64 << 10];
    while end > 0 {
        let start = end.saturating_sub(buf.len() as u64);
        let chunk = &mut buf[..(end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(chunk)?;
        if let Some(i) = chunk.iter().rposition(|b| *b == b'\n') {
            return Ok(start + i as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(if dir.as_os_str().is_empty() { Path::new(".") } else { dir })?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> std::io::Result<()> {
    // Windows cannot open a directory as a file; NTFS journals the entry itself.
    Ok(())
}

impl Sink for DirectoryWriter {
    fn send(&mut self, batch: &Batch) -> Outcome {
        if batch.records.is_empty() {
            return Outcome::Delivered;
        }
        let body = batch.to_ndjson();
        let result = self.ensure_dir().and_then(|()| {
            let current = self.file_for(batch)?;
            let before = current.len;
            let written = current.file.write_all(&body).and_then(|()| current.file.sync_all());
            match written {
                Ok(()) => {
                    current.len = before + body.len() as u64;
                    self.syncs.0 += 1;
                    Ok(())
                }
                Err(e) => {
                    // Cut what was written of this batch (best effort), and start over from
                    // the file on disk next time.
                    let _ = current.file.set_len(before);
                    self.current = None;
                    Err(e)
                }
            }
        });
        match result {
            Ok(()) => Outcome::Delivered,
            Err(e) => {
                self.current = None;
                Outcome::Retry {
                    error: format!("writing to {}: {e}", self.dir.display()),
                    after: None,
                    link_down: !self.dir.is_dir(),
                }
            }
        }
    }

    fn probe(&mut self) -> bool {
        self.dir.is_dir() || self.dir.parent().is_some_and(|p| p.as_os_str().is_empty() || p.is_dir())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forward::config::PayloadFormat;
    use crate::forward::wire::Record;

    fn batch(stream: &str, seqs: std::ops::RangeInclusive<u64>) -> Batch {
        Batch {
            store: "store-1".into(),
            device: "reg-1".into(),
            stream: stream.into(),
            format: PayloadFormat::Json,
            records: seqs.map(|s| Record { seq: s, at_ms: 1_700_000_000_000 + s as i64, payload: format!("{{\"n\":{s}}}").into_bytes() }).collect(),
        }
    }

    fn writer(path: &Path, max_file_bytes: u64) -> DirectoryWriter {
        DirectoryWriter::new(&DirectorySink { path: path.to_string_lossy().into_owned(), max_file_bytes }).unwrap()
    }

    /// The directory's `.ndjson` files, sorted, with their contents.
    fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
        let mut out: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".ndjson"))
            .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap()))
            .collect();
        out.sort();
        out
    }

    #[test]
    fn appends_whole_batches_and_rolls_files_at_the_size_cap() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("usb").join("aisle"); // created, parents too
        let one_batch = batch("sales", 1..=3).to_ndjson().len() as u64;
        let mut w = writer(&dir, one_batch * 2); // two batches per file

        let batches: Vec<Batch> = (0..5).map(|i| batch("sales", i * 3 + 1..=i * 3 + 3)).collect();
        let mut expected_syncs = (0, 0);
        for (i, b) in batches.iter().enumerate() {
            assert_eq!(w.send(b), Outcome::Delivered);
            // Each batch is synced before it counts as delivered; each new file's directory entry too.
            expected_syncs.0 += 1;
            expected_syncs.1 += (i % 2 == 0) as u64;
            assert_eq!(w.syncs, expected_syncs, "after batch {i}");
        }
        let got = files(&dir);
        let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["sales-00000000000000000001.ndjson", "sales-00000000000000000007.ndjson", "sales-00000000000000000013.ndjson"]);
        // Each file holds whole batches, in order, and reads back as one batch.
        let mut all = Vec::new();
        for (name, body) in &got {
            let b = Batch::decode(body).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!((b.store.as_str(), b.device.as_str(), b.stream.as_str()), ("store-1", "reg-1", "sales"));
            all.extend(b.records);
        }
        assert_eq!(all, batches.iter().flat_map(|b| b.records.clone()).collect::<Vec<_>>());

        // The last file has room for one more batch; then a batch bigger than the cap still
        // goes whole into one new file.
        assert_eq!(w.send(&batch("sales", 16..=18)), Outcome::Delivered);
        assert_eq!(files(&dir).len(), 3);
        let big = batch("sales", 19..=60);
        assert!(big.to_ndjson().len() as u64 > one_batch * 2);
        assert_eq!(w.send(&big), Outcome::Delivered);
        let got = files(&dir);
        assert_eq!(got.last().unwrap().0, "sales-00000000000000000019.ndjson");
        assert_eq!(Batch::decode(&got.last().unwrap().1).unwrap(), big);
        assert_eq!(w.syncs, (7, 4));
    }

    #[test]
    fn a_restarted_writer_continues_the_newest_file_without_its_torn_line() {
        let tmp = tempfile::tempdir().unwrap();
        let mut w = writer(tmp.path(), 1 << 20);
        let first = batch("sales", 1..=2);
        assert_eq!(w.send(&first), Outcome::Delivered);
        assert_eq!(w.send(&batch("other", 1..=1)), Outcome::Delivered, "another stream gets its own file");
        drop(w);
        // A crash mid-write left half a line (never acknowledged).
        let path = tmp.path().join(file_name("sales", 1));
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(br#"{"store":"store-1","device":"reg-1","stream":"sales","seq":3,"at_"#).unwrap();
        drop(f);

        let mut w = writer(tmp.path(), 1 << 20);
        let again = batch("sales", 3..=4);
        assert_eq!(w.send(&again), Outcome::Delivered);
        assert_eq!(w.syncs.1, 0, "no new file");
        let body = std::fs::read(&path).unwrap();
        let mut expected = first.to_ndjson();
        expected.extend(again.to_ndjson());
        assert_eq!(body, expected);
        assert_eq!(files(tmp.path()).len(), 2);

        // The same batch written twice (a crash before the acknowledgement) is harmless to a
        // reader that deduplicates by seq; here it is just appended again.
        assert_eq!(w.send(&again), Outcome::Delivered);
        assert_eq!(std::fs::read(&path).unwrap().len(), expected.len() + again.to_ndjson().len());
    }

    #[test]
    fn a_pulled_stick_is_link_down_until_it_is_back() {
        let tmp = tempfile::tempdir().unwrap();
        let stick = tmp.path().join("stick");
        let dir = stick.join("aisle");
        let mut w = writer(&dir, 1 << 20);
        assert_eq!(w.send(&batch("sales", 1..=2)), Outcome::Delivered);

        std::fs::remove_dir_all(&stick).unwrap();
        match w.send(&batch("sales", 3..=4)) {
            Outcome::Retry { error, after: None, link_down: true } => assert!(error.contains("aisle"), "{error}"),
            other => panic!("expected Retry with link_down, got {other:?}"),
        }
        assert!(!w.probe());
        assert!(!stick.exists(), "the missing path is not recreated on the device's own disk");

        // A blank stick mounted at the same place: the folder is created in it.
        std::fs::create_dir(&stick).unwrap();
        assert!(w.probe());
        assert_eq!(w.send(&batch("sales", 3..=4)), Outcome::Delivered);
        assert_eq!(files(&dir).iter().map(|f| f.0.clone()).collect::<Vec<_>>(), [file_name("sales", 3)]);
    }

    #[test]
    fn other_io_errors_retry_without_link_down() {
        let tmp = tempfile::tempdir().unwrap();
        // The file's name is taken by a directory.
        std::fs::create_dir(tmp.path().join(file_name("sales", 1))).unwrap();
        let mut w = writer(tmp.path(), 1 << 20);
        match w.send(&batch("sales", 1..=1)) {
            Outcome::Retry { link_down: false, .. } => {}
            other => panic!("expected Retry without link_down, got {other:?}"),
        }
        assert!(w.probe());
    }
}
