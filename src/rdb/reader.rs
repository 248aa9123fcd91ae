//! Byte source for the RDB walk: buffering, absolute offsets, CRC64 as bytes stream past, RDB length/string encodings.

use std::io::Read;

use super::Problem;
use super::lzf;

/// Internal result type: every failure carries the offset it was detected at.
pub(super) type Res<T> = Result<T, Problem>;

/// Read size: large enough that the CRC runs on long slices (SIMD) and reads are few; the
/// whole walk holds this one buffer, whatever the file's size.
const BUF_SIZE: usize = 256 * 1024;

/// Decoded RDB length field (`rdbLoadLen`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Len {
    /// A plain length.
    Len(u64),
    /// `11xxxxxx`: a special string encoding follows (the 6 low bits).
    Enc(u8),
}

/// Buffered reader that counts bytes and feeds them to the CRC once consumed.
pub(super) struct Src<R: Read> {
    inner: R,
    buf: Box<[u8]>,
    pos: usize,
    end: usize,
    /// Start of the bytes in `buf` not yet fed to the CRC (only while `crc_on`).
    crc_from: usize,
    crc_on: bool,
    /// CRC-64/Jones (`CRC-64/REDIS`), carry-less-multiply folding where the CPU has it.
    digest: crc_fast::Digest,
    /// Absolute offset of `buf[0]`.
    base: u64,
    eof: bool,
}

impl<R: Read> Src<R> {
    pub(super) fn new(inner: R) -> Self {
        Src {
            inner,
            buf: vec![0u8; BUF_SIZE].into_boxed_slice(),
            pos: 0,
            end: 0,
            crc_from: 0,
            crc_on: true,
            digest: crc_fast::Digest::new(crc_fast::CrcAlgorithm::Crc64Redis),
            base: 0,
            eof: false,
        }
    }

    /// Absolute offset of the next byte to be read.
    #[inline]
    pub(super) fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// A problem located at the current offset.
    pub(super) fn err(&self, msg: impl Into<String>) -> Problem {
        Problem::new(self.offset(), msg)
    }

    /// Refill the buffer; returns false at end of input (or on a read error, which is reported as end of input).
    fn fill(&mut self) -> Res<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.crc_on && self.crc_from < self.pos {
            self.digest.update(&self.buf[self.crc_from..self.pos]);
        }
        let keep = self.end - self.pos;
        self.buf.copy_within(self.pos..self.end, 0);
        self.base += self.pos as u64;
        self.pos = 0;
        self.end = keep;
        self.crc_from = 0;
        loop {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(keep > 0);
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.err(format!("read error: {e}"))),
            }
        }
    }

    /// Stop feeding the CRC; returns the CRC of everything consumed so far.
    pub(super) fn finish_crc(&mut self) -> u64 {
        if self.crc_on {
            self.digest.update(&self.buf[self.crc_from..self.pos]);
            self.crc_on = false;
        }
        self.digest.finalize()
    }

    #[inline]
    pub(super) fn u8(&mut self, what: &str) -> Res<u8> {
        if self.pos == self.end && !self.fill()? {
            return Err(self.err(format!("unexpected end of file while reading {what}")));
        }
        let b = self.buf[self.pos];
        self.pos += 1;
        Ok(b)
    }

    /// Read exactly `out.len()` bytes.
    #[inline]
    pub(super) fn exact(&mut self, out: &mut [u8], what: &str) -> Res<()> {
        if let Some(b) = self.buf[self.pos..self.end].get(..out.len()) {
            out.copy_from_slice(b);
            self.pos += out.len();
            return Ok(());
        }
        self.exact_slow(out, what)
    }

    #[cold]
    fn exact_slow(&mut self, out: &mut [u8], what: &str) -> Res<()> {
        let mut done = 0;
        while done < out.len() {
            if self.pos == self.end && !self.fill()? {
                return Err(self.err(format!("unexpected end of file while reading {what}")));
            }
            let n = (self.end - self.pos).min(out.len() - done);
            out[done..done + n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
            self.pos += n;
            done += n;
        }
        Ok(())
    }

    #[inline]
    pub(super) fn array<const N: usize>(&mut self, what: &str) -> Res<[u8; N]> {
        let mut a = [0u8; N];
        self.exact(&mut a, what)?;
        Ok(a)
    }

    /// Skip `n` bytes (still fed to the CRC).
    pub(super) fn skip(&mut self, n: u64, what: &str) -> Res<()> {
        let total = n;
        let mut n = n;
        loop {
            let avail = (self.end - self.pos) as u64;
            if avail >= n {
                self.pos += n as usize;
                return Ok(());
            }
            n -= avail;
            self.pos = self.end;
            if !self.fill()? {
                return Err(self.err(format!(
                    "unexpected end of file while reading {what} ({total} bytes)"
                )));
            }
        }
    }

    /// Append exactly `n` bytes to `out`, growing it only as data actually arrives (no allocation from an untrusted length).
    pub(super) fn read_into(&mut self, out: &mut Vec<u8>, n: u64, what: &str) -> Res<()> {
        let total = n;
        let mut n = n;
        while n > 0 {
            if self.pos == self.end && !self.fill()? {
                return Err(self.err(format!(
                    "unexpected end of file while reading {what} ({total} bytes)"
                )));
            }
            let take = ((self.end - self.pos) as u64).min(n) as usize;
            out.extend_from_slice(&self.buf[self.pos..self.pos + take]);
            self.pos += take;
            n -= take as u64;
        }
        Ok(())
    }

    /// Count and discard the rest of the input; a read error (a compressed file with
    /// bytes after its last frame that are no frame) ends the count and is returned beside
    /// it, not as a problem: those bytes lie after the RDB's end, like any trailing bytes.
    pub(super) fn drain(&mut self) -> (u64, Option<String>) {
        let mut n = (self.end - self.pos) as u64;
        self.pos = self.end;
        loop {
            match self.fill() {
                Ok(true) => {
                    n += (self.end - self.pos) as u64;
                    self.pos = self.end;
                }
                Ok(false) => return (n, None),
                Err(p) => return (n, Some(p.message)),
            }
        }
    }

    /// `rdbLoadLen` with the encoded flag: 6/14/32/64-bit lengths or a special-encoding marker.
    #[inline]
    pub(super) fn len_enc(&mut self, what: &str) -> Res<Len> {
        let at = self.offset();
        let b = self.u8(what)?;
        match b >> 6 {
            0 => Ok(Len::Len(u64::from(b & 0x3f))),
            1 => {
                let b2 = self.u8(what)?;
                Ok(Len::Len((u64::from(b & 0x3f) << 8) | u64::from(b2)))
            }
            3 => Ok(Len::Enc(b & 0x3f)),
            _ => match b {
                0x80 => Ok(Len::Len(u64::from(u32::from_be_bytes(self.array(what)?)))),
                0x81 => Ok(Len::Len(u64::from_be_bytes(self.array(what)?))),
                _ => Err(Problem::new(
                    at,
                    format!("unknown length encoding 0x{b:02x} while reading {what}"),
                )),
            },
        }
    }

    /// `rdbLoadLen(rdb, NULL)`: a special-encoding marker reads as its 6-bit value, like Redis does.
    #[inline]
    pub(super) fn len(&mut self, what: &str) -> Res<u64> {
        Ok(match self.len_enc(what)? {
            Len::Len(n) => n,
            Len::Enc(e) => u64::from(e),
        })
    }

    /// Read a string (`rdbGenericLoadStringObject`) into `out` (cleared first): raw, int-encoded or LZF.
    pub(super) fn string_into(&mut self, out: &mut Vec<u8>, what: &str) -> Res<()> {
        out.clear();
        let at = self.offset();
        match self.len_enc(what)? {
            Len::Len(n) => self.read_into(out, n, what),
            Len::Enc(0) => {
                let v = self.u8(what)? as i8;
                out.extend_from_slice(v.to_string().as_bytes());
                Ok(())
            }
            Len::Enc(1) => {
                let v = i16::from_le_bytes(self.array(what)?);
                out.extend_from_slice(v.to_string().as_bytes());
                Ok(())
            }
            Len::Enc(2) => {
                let v = i32::from_le_bytes(self.array(what)?);
                out.extend_from_slice(v.to_string().as_bytes());
                Ok(())
            }
            Len::Enc(3) => {
                let clen = self.len(what)?;
                let ulen = self.len(what)?;
                let mut comp = Vec::new();
                self.read_into(&mut comp, clen, "an LZF string")?;
                lzf::decompress(&comp, ulen, out)
                    .map_err(|m| Problem::new(at, format!("invalid LZF string ({what}): {m}")))
            }
            Len::Enc(e) => Err(Problem::new(
                at,
                format!("unknown string encoding {e} while reading {what}"),
            )),
        }
    }

    /// Skip a string without keeping it; LZF payloads are still validated (streaming, O(1) memory).
    /// Returns the (uncompressed) string length.
    pub(super) fn skip_string(&mut self, what: &str) -> Res<u64> {
        let at = self.offset();
        match self.len_enc(what)? {
            Len::Len(n) => {
                self.skip(n, what)?;
                Ok(n)
            }
            Len::Enc(0) => self.u8(what).map(|_| 1),
            Len::Enc(1) => self.array::<2>(what).map(|_| 2),
            Len::Enc(2) => self.array::<4>(what).map(|_| 4),
            Len::Enc(3) => {
                let clen = self.len(what)?;
                let ulen = self.len(what)?;
                lzf::validate_stream(self, clen, ulen).map_err(|e| {
                    if e.message.starts_with("unexpected end") {
                        e
                    } else {
                        Problem::new(at, format!("invalid LZF string ({what}): {}", e.message))
                    }
                })?;
                Ok(ulen)
            }
            Len::Enc(e) => Err(Problem::new(
                at,
                format!("unknown string encoding {e} while reading {what}"),
            )),
        }
    }
}
