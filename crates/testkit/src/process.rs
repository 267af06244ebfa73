//! Test servers that run as other programs.

use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// A server started by [`spawn_tied`].
pub struct Tied {
    /// What the server prints (until taken).
    pub stdout: Option<ChildStdout>,
    stdin: ChildStdin,
    shell: Child,
}

impl Tied {
    /// Leaves the server running until this process exits.
    pub fn keep(self) {
        // Keep the pipe open for the life of the process: closing it stops the server.
        std::mem::forget(self.stdin);
        std::mem::forget(self.shell);
    }

    /// Stops the server now (SIGTERM) and waits for it to exit.
    pub fn stop(mut self) {
        drop(self.stdin);
        let _ = self.shell.wait();
    }
}

/// Starts `binary args…` tied to this process; its stderr is ours when
/// `show_stderr`, else discarded (request logs).
///
/// The server runs under a small shell that stops it when our end of its
/// stdin closes: at [`Tied::stop`], or when this process exits however it
/// exits — a test binary must not leave servers behind.
pub fn spawn_tied(binary: &Path, args: &[&str], show_stderr: bool) -> anyhow::Result<Tied> {
    let script = r#"program="$1"; shift; "$program" "$@" & child=$!
read -r _ignored
kill "$child" 2>/dev/null
wait "$child""#;
    let mut shell = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg("sh")
        .arg(binary)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(if show_stderr { Stdio::inherit() } else { Stdio::null() })
        .spawn()?;
    let stdout = shell.stdout.take();
    let stdin = shell.stdin.take().ok_or_else(|| anyhow::anyhow!("no stdin"))?;
    Ok(Tied { stdout, stdin, shell })
}

/// A free port on loopback (for servers that cannot report the one they took).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A program `scripts/bootstrap` installs under the repository, installing it
/// first when it is missing (`--stack`: only what the dev stack needs, for
/// jongodb; everything otherwise).
pub fn tool(relative: &str) -> anyhow::Result<PathBuf> {
    let binary = crate::repo_root().join(relative);
    if !binary.exists() {
        let mut bootstrap = Command::new(crate::repo_root().join("scripts/bootstrap"));
        if relative.contains("jongodb") {
            bootstrap.arg("--stack");
        }
        let status = bootstrap.status()?;
        anyhow::ensure!(status.success(), "scripts/bootstrap failed");
    }
    Ok(binary)
}
