//! Pure: the compression of a stored backup, chosen by file extension, as streaming readers
//! and writers (gzip through flate2, zstd through the zstd crate). No file is opened here.

use std::io::{self, Read, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

/// How a stored RDB is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// Stored as the raw RDB (`.rdb`).
    None,
    /// gzip (`.rdb.gz`), what the runbook's `gzip` produces.
    Gzip,
    /// zstd (`.rdb.zst`), faster at a similar ratio.
    Zstd,
}

impl Compression {
    /// The compression a file name implies: `.gz` gzip, `.zst` zstd, anything else none.
    pub(crate) fn from_path(path: &Path) -> Compression {
        match path.extension().and_then(|e| e.to_str()) {
            Some("gz") => Compression::Gzip,
            Some("zst") => Compression::Zstd,
            _ => Compression::None,
        }
    }

    /// The file-name suffix of a stored backup: `.rdb`, `.rdb.gz` or `.rdb.zst`.
    pub fn suffix(self) -> &'static str {
        match self {
            Compression::None => ".rdb",
            Compression::Gzip => ".rdb.gz",
            Compression::Zstd => ".rdb.zst",
        }
    }

    /// A reader that yields the uncompressed bytes of `inner`. A damaged or truncated
    /// compressed stream surfaces as a read error.
    pub fn decoder<'a, R: Read + 'a>(self, inner: R) -> io::Result<Box<dyn Read + 'a>> {
        Ok(match self {
            Compression::None => Box::new(inner),
            // MultiGzDecoder: `cat a.gz b.gz` is one valid gzip file, as gunzip reads it.
            Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(inner)),
            Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(inner)?),
        })
    }

    /// A writer that compresses into `inner`; call [`Encoder::finish`] to end the stream.
    pub fn encoder<W: Write>(self, inner: W) -> io::Result<Encoder<W>> {
        Ok(match self {
            Compression::None => Encoder::None(inner),
            Compression::Gzip => Encoder::Gzip(flate2::write::GzEncoder::new(
                inner,
                flate2::Compression::default(),
            )),
            Compression::Zstd => Encoder::Zstd(zstd::stream::write::Encoder::new(inner, 3)?),
        })
    }
}

/// A compressing writer (see [`Compression::encoder`]).
pub enum Encoder<W: Write> {
    /// Pass-through.
    None(W),
    /// gzip.
    Gzip(flate2::write::GzEncoder<W>),
    /// zstd.
    Zstd(zstd::stream::write::Encoder<'static, W>),
}

impl<W: Write> Encoder<W> {
    /// Writes the compressed stream's trailer and returns the inner writer.
    pub fn finish(self) -> io::Result<W> {
        match self {
            Encoder::None(w) => Ok(w),
            Encoder::Gzip(e) => e.finish(),
            Encoder::Zstd(e) => e.finish(),
        }
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Encoder::None(w) => w.write(buf),
            Encoder::Gzip(e) => e.write(buf),
            Encoder::Zstd(e) => e.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Encoder::None(w) => w.flush(),
            Encoder::Gzip(e) => e.flush(),
            Encoder::Zstd(e) => e.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_picks_the_codec() {
        let cases = [
            ("a.rdb", Compression::None),
            ("a.rdb.gz", Compression::Gzip),
            ("dir/a.rdb.zst", Compression::Zstd),
            ("dump", Compression::None),
        ];
        for (name, want) in cases {
            assert_eq!(Compression::from_path(Path::new(name)), want, "{name}");
        }
    }

    #[test]
    fn every_codec_round_trips() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
        for c in [Compression::None, Compression::Gzip, Compression::Zstd] {
            let mut e = c.encoder(Vec::new()).unwrap();
            e.write_all(&data).unwrap();
            let packed = e.finish().unwrap();
            let mut out = Vec::new();
            c.decoder(&packed[..])
                .unwrap()
                .read_to_end(&mut out)
                .unwrap();
            assert_eq!(out, data, "{c:?}");
        }
    }

    #[test]
    fn truncated_gzip_is_a_read_error() {
        let mut e = Compression::Gzip.encoder(Vec::new()).unwrap();
        e.write_all(&[7u8; 10_000]).unwrap();
        let packed = e.finish().unwrap();
        let cut = &packed[..packed.len() - 5];
        let mut out = Vec::new();
        let r = Compression::Gzip
            .decoder(cut)
            .unwrap()
            .read_to_end(&mut out);
        assert!(r.is_err(), "{r:?}");
    }
}
