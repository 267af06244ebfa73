//! Test servers that run as other programs.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

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

    /// Whether the server has exited by itself (its shell exits with it).
    fn has_exited(&mut self) -> bool {
        self.shell.try_wait().is_ok_and(|status| status.is_some())
    }
}

/// Starts `binary args…` tied to this process; its stderr is ours when
/// `show_stderr`, else discarded (request logs).
///
/// The server runs under a small shell that stops it when our end of its
/// stdin closes: at [`Tied::stop`], or when this process exits however it
/// exits — a test binary must not leave servers behind. The shell exits
/// with the server.
pub fn spawn_tied(binary: &Path, args: &[&str], show_stderr: bool) -> anyhow::Result<Tied> {
    let script = r#"program="$1"; shift
exec 3<&0
"$program" "$@" </dev/null & child=$!
{ read -r _ignored <&3; kill "$child" 2>/dev/null; } &
exec 3<&-
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

/// Starts a server that must be told its port (`args(port)`) on a port free
/// when chosen, and waits (up to `within`) until it listens. A port may be
/// taken before the server binds it: the server then exits, and is started
/// again on another. What it prints is read and dropped.
pub fn spawn_listening(
    binary: &Path,
    args: impl Fn(u16) -> Vec<String>,
    within: Duration,
) -> anyhow::Result<(u16, Tied)> {
    let name =
        binary.file_name().map_or_else(|| binary.display().to_string(), |n| n.to_string_lossy().into());
    for _attempt in 0..3 {
        let port = free_port()?;
        let args = args(port);
        let mut server = spawn_tied(binary, &args.iter().map(String::as_str).collect::<Vec<_>>(), false)?;
        if let Some(stdout) = server.stdout.take() {
            std::thread::spawn(move || for _ in BufReader::new(stdout).lines().map_while(Result::ok) {});
        }
        let deadline = Instant::now() + within;
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok((port, server));
            }
            if server.has_exited() {
                eprintln!("{name} exited while starting on port {port}; trying another");
                break;
            }
            anyhow::ensure!(Instant::now() < deadline, "{name} did not listen within {within:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    anyhow::bail!("{name} exited while starting, three times")
}

/// A program `scripts/bootstrap` installs under the repository, installing it
/// first when it is missing (`--stack`: only what the dev stack needs, for
/// jongodb; everything otherwise).
/// The tools `scripts/bootstrap --stack` installs.
const STACK_TOOLS: [&str; 2] = ["jongodb", "localstripe"];

pub fn tool(relative: &str) -> anyhow::Result<PathBuf> {
    let binary = crate::repo_root().join(relative);
    if !binary.exists() {
        let mut bootstrap = Command::new(crate::repo_root().join("scripts/bootstrap"));
        // What the dev stack needs comes without root or a browser.
        if STACK_TOOLS.iter().any(|tool| relative.contains(tool)) {
            bootstrap.arg("--stack");
        }
        let status = bootstrap.status()?;
        anyhow::ensure!(status.success(), "scripts/bootstrap failed");
    }
    Ok(binary)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_server_is_found_listening_and_one_that_exits_is_retried_then_reported() {
        let python = Path::new("/usr/bin/python3");
        let serve = |port: u16| {
            vec!["-m".into(), "http.server".into(), "-b".into(), "127.0.0.1".into(), port.to_string()]
        };
        let (port, server) = spawn_listening(python, serve, Duration::from_secs(30)).unwrap();
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
        server.stop();
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err(), "stopped with its shell");

        let exits = |_port: u16| vec!["-c".into(), "raise SystemExit(1)".into()];
        let started = Instant::now();
        let failed = spawn_listening(python, exits, Duration::from_secs(30)).err().unwrap();
        assert!(failed.to_string().contains("three times"), "{failed}");
        assert!(started.elapsed() < Duration::from_secs(10), "an exit is noticed, not waited out");
    }
}
