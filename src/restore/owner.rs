//! Who owns a restored file, and with which mode: a restore run as root must not leave
//! `root:root 0600` files a `redis`-user server cannot open ("can't open the append log
//! file … Permission denied"). Each restored file takes the owner and mode of the file it
//! replaces, or else the owner of the directory it is restored into, with the directory's
//! mode minus the execute bits (a `0750` dir gives `0640` files).

use std::fs::{self, Permissions};
use std::os::unix::fs::{MetadataExt, PermissionsExt, chown};
use std::path::Path;

use crate::error::{Error, Result};

/// An owner and permission bits to give a file or directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Owner {
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
    /// Permission bits (`0o7777` at most).
    pub mode: u32,
}

impl Owner {
    /// The owner and mode of `path`, if it exists (a symlink is not followed).
    pub(crate) fn of(path: &Path) -> Option<Owner> {
        let m = fs::symlink_metadata(path).ok()?;
        Some(Owner {
            uid: m.uid(),
            gid: m.gid(),
            mode: m.mode() & 0o7777,
        })
    }

    /// What a new file in a directory owned by `dir` gets: its owner, its mode without
    /// execute, setuid, setgid or sticky bits.
    pub(crate) fn file_in(dir: Owner) -> Owner {
        Owner {
            mode: dir.mode & 0o666,
            ..dir
        }
    }

    /// What a new directory in `dir` gets: its owner and its permission bits.
    pub(crate) fn dir_in(dir: Owner) -> Owner {
        Owner {
            mode: dir.mode & 0o777,
            ..dir
        }
    }

    /// Gives `path` this owner and mode. Changing the owner needs privileges; when the
    /// owner is already right (a restore run as the data dir's user) nothing is asked.
    pub(crate) fn apply(self, path: &Path) -> Result<()> {
        let now = Owner::of(path);
        if now.map(|o| (o.uid, o.gid)) != Some((self.uid, self.gid)) {
            chown(path, Some(self.uid), Some(self.gid)).map_err(|e| Error::Io {
                path: path.to_path_buf(),
                source: std::io::Error::new(
                    e.kind(),
                    format!(
                        "cannot give it owner {}:{} like the files it replaces: {e}",
                        self.uid, self.gid
                    ),
                ),
            })?;
        }
        fs::set_permissions(path, Permissions::from_mode(self.mode)).map_err(Error::io(path))
    }
}

/// What each restored file gets, decided before the old files are moved away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Plan {
    /// `dump.rdb` (and the AOF base, a hard link to it when possible).
    pub rdb: Owner,
    /// The AOF directory.
    pub aof_dir: Owner,
    /// The files inside the AOF directory.
    pub aof_files: Owner,
}

impl Plan {
    /// Looks at the data dir `dir`, its `rdb`, and its AOF directory `aof_dir` (whose
    /// manifest `aof_manifest` stands for its files).
    pub(crate) fn look(
        dir: &Path,
        rdb: &Path,
        aof_dir: &Path,
        aof_manifest: &Path,
    ) -> Result<Plan> {
        let d = Owner::of(dir).ok_or_else(|| Error::Io {
            path: dir.to_path_buf(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        })?;
        let old_rdb = Owner::of(rdb).filter(|_| rdb.is_file());
        let old_aof = Owner::of(aof_dir).filter(|_| aof_dir.is_dir());
        let old_aof_file = Owner::of(&aof_dir.join(aof_manifest)).filter(|_| old_aof.is_some());
        let rdb = old_rdb.unwrap_or(Owner::file_in(d));
        Ok(Plan {
            rdb,
            aof_dir: old_aof.unwrap_or(Owner::dir_in(d)),
            aof_files: old_aof_file.unwrap_or(rdb),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_take_the_dir_mode_without_execute() {
        let d = Owner {
            uid: 101,
            gid: 102,
            mode: 0o2750,
        };
        assert_eq!(
            Owner::file_in(d),
            Owner {
                uid: 101,
                gid: 102,
                mode: 0o640
            }
        );
        assert_eq!(Owner::dir_in(d).mode, 0o750);
    }

    #[test]
    fn a_fresh_dir_gives_its_owner_and_old_files_keep_theirs() {
        let t = tempfile::tempdir().expect("tmp");
        fs::set_permissions(t.path(), Permissions::from_mode(0o750)).expect("chmod");
        let rdb = t.path().join("dump.rdb");
        let aof = t.path().join("appendonlydir");
        let p = Plan::look(t.path(), &rdb, &aof, Path::new("a.manifest")).expect("plan");
        assert_eq!(p.rdb.mode, 0o640);
        assert_eq!(p.aof_dir.mode, 0o750);
        assert_eq!(p.aof_files, p.rdb);
        fs::write(&rdb, b"x").expect("write");
        fs::set_permissions(&rdb, Permissions::from_mode(0o600)).expect("chmod");
        let p = Plan::look(t.path(), &rdb, &aof, Path::new("a.manifest")).expect("plan");
        assert_eq!(p.rdb.mode, 0o600);
        assert_eq!(p.aof_files.mode, 0o600);
    }
}
