//! Pure: the layout of a Redis 7 multi-part AOF directory whose base is an RDB, which a
//! restore writes beside `dump.rdb` so a node with `appendonly yes` loads the backup too
//! (into a data dir by `restore::dir`, into a container's tar by [`super::container`]).

/// The files of a multi-part AOF directory whose base is an RDB: what Redis 7 loads at
/// start with `appendonly yes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Aof {
    /// The base file (the RDB itself).
    pub base: String,
    /// The empty incr file.
    pub incr: String,
    /// The manifest's file name.
    pub manifest: String,
    /// The manifest's text: the base, then the incr file, both sequence 1.
    pub manifest_text: String,
}

impl Aof {
    /// The layout for the node's `appendfilename`.
    pub(crate) fn new(appendfilename: &str) -> Aof {
        let base = format!("{appendfilename}.1.base.rdb");
        let incr = format!("{appendfilename}.1.incr.aof");
        Aof {
            manifest_text: format!("file {base} seq 1 type b\nfile {incr} seq 1 type i\n"),
            manifest: format!("{appendfilename}.manifest"),
            base,
            incr,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_names_base_then_incr() {
        let a = Aof::new("appendonly.aof");
        assert_eq!(a.base, "appendonly.aof.1.base.rdb");
        assert_eq!(a.manifest, "appendonly.aof.manifest");
        assert_eq!(
            a.manifest_text,
            "file appendonly.aof.1.base.rdb seq 1 type b\n\
             file appendonly.aof.1.incr.aof seq 1 type i\n"
        );
    }
}
