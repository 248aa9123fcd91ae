//! Pure: reading Redis 7 multi-part AOFs — the directory's [`manifest`], the RESP commands
//! of its incr (and RESP base) files ([`resp`], streaming, with byte offsets and torn-tail
//! detection), and what they add up to ([`inspect`]: commands by type, keys touched, the
//! last complete command). The files are opened by the caller (`backup::aof_files`), so this
//! module does no I/O and can be fuzzed.

pub mod inspect;
pub mod manifest;
pub(crate) mod resp;
