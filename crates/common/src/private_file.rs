//! Files only their owner may read (keys), created without ever being
//! readable by anyone else, never overwritten, and refused when found
//! readable by others.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Reads a key file, refusing one that group or others may read. The
/// message names the file; it never quotes the file's content.
pub fn read(path: &Path) -> Result<Vec<u8>, String> {
    let name = path.display();
    let metadata = std::fs::metadata(path).map_err(|err| format!("cannot read key file {name}: {err}"))?;
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "key file {name} is readable by group or others (mode {mode:03o}); chmod 600 it"
        ));
    }
    std::fs::read(path).map_err(|err| format!("cannot read key file {name}: {err}"))
}

/// Creates `path` with mode 0600 (and its folder), failing if it exists.
pub fn create(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(contents)
}
