//! Pure: the byte plumbing of a backup. [`Tee`] hands every byte it reads to a side writer
//! (the compressor) while hashing and counting it; [`Hashing`] hashes and counts what is
//! written through it (the stored, compressed bytes). Nothing is buffered beyond one read.

use std::io::{self, Read, Write};

use sha2::{Digest, Sha256};

/// Lower-case hex of a digest.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// sha256 and length of a byte stream.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Digested {
    /// Bytes seen.
    pub bytes: u64,
    /// sha256, lower-case hex.
    pub sha256: String,
}

/// A reader that copies what it yields into `side`, hashing and counting it.
pub(crate) struct Tee<R, W> {
    inner: R,
    side: W,
    hash: Sha256,
    bytes: u64,
    side_error: Option<io::Error>,
}

impl<R: Read, W: Write> Tee<R, W> {
    /// Wraps `inner`; every byte read is also written to `side`.
    pub(crate) fn new(inner: R, side: W) -> Self {
        Tee {
            inner,
            side,
            hash: Sha256::new(),
            bytes: 0,
            side_error: None,
        }
    }

    /// The error the side writer failed with, if it did (e.g. the disk is full): the reader
    /// then saw a read error that is not the source's fault.
    pub(crate) fn side_error(&mut self) -> Option<io::Error> {
        self.side_error.take()
    }

    /// Reads what the consumer left unread (bytes after the RDB's end), then returns the side
    /// writer and the digest of everything that passed.
    pub(crate) fn finish(mut self) -> io::Result<(W, Digested)> {
        io::copy(&mut self, &mut io::sink())?;
        let digest = Digested {
            bytes: self.bytes,
            sha256: hex(&self.hash.finalize()),
        };
        Ok((self.side, digest))
    }
}

impl<R: Read, W: Write> Read for Tee<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Err(e) = self.side.write_all(&buf[..n]) {
            let copy = io::Error::new(e.kind(), e.to_string());
            self.side_error = Some(e);
            return Err(copy);
        }
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// A writer that hashes and counts what passes through it.
pub(crate) struct Hashing<W> {
    inner: W,
    hash: Sha256,
    bytes: u64,
}

impl<W: Write> Hashing<W> {
    /// Wraps `inner`.
    pub(crate) fn new(inner: W) -> Self {
        Hashing {
            inner,
            hash: Sha256::new(),
            bytes: 0,
        }
    }

    /// The inner writer and the digest of everything written.
    pub(crate) fn finish(self) -> (W, Digested) {
        let digest = Digested {
            bytes: self.bytes,
            sha256: hex(&self.hash.finalize()),
        };
        (self.inner, digest)
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// sha256 and length of everything `r` yields.
pub fn digest(mut r: impl Read) -> io::Result<Digested> {
    let mut h = Hashing::new(io::sink());
    io::copy(&mut r, &mut h)?;
    Ok(h.finish().1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ABC: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    #[test]
    fn tee_copies_hashes_and_drains() {
        let mut t = Tee::new(&b"abc"[..], Vec::new());
        let mut first = [0u8; 1];
        t.read_exact(&mut first).unwrap();
        let (side, d) = t.finish().unwrap();
        assert_eq!(side, b"abc");
        assert_eq!((d.bytes, d.sha256.as_str()), (3, ABC));
    }

    #[test]
    fn hashing_writer_and_digest_agree() {
        let mut h = Hashing::new(Vec::new());
        h.write_all(b"abc").unwrap();
        let (out, d) = h.finish();
        assert_eq!(out, b"abc");
        assert_eq!(d, digest(&b"abc"[..]).unwrap());
        assert_eq!(d.sha256, ABC);
    }
}
