//! A service binary run as a process, to check how it stops: SIGTERM while a
//! request is in flight must let that request finish, refuse new
//! connections, and end the process with exit code 0 within 10 s.

use std::net::TcpStream as StdTcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a stop may take, from the signal to the exit.
pub const STOP_WITHIN: Duration = Duration::from_secs(10);

pub struct ServiceProcess {
    child: Child,
    pub port: u16,
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A request under way when the signal arrives.
pub enum InFlight {
    /// Its body is sent in two halves around the signal.
    Upload { head: String, body: Vec<u8> },
    /// Its (large) answer is read only after the signal.
    Download { head: String },
}

impl InFlight {
    /// `POST path` with `body` of `content_type`, authorised by `token` if any.
    pub fn post(path: &str, content_type: &str, token: Option<&str>, body: Vec<u8>) -> Self {
        let authorization = token.map(|t| format!("authorization: Bearer {t}\r\n")).unwrap_or_default();
        let head = format!(
            "POST {path} HTTP/1.1\r\nhost: localhost\r\ncontent-type: {content_type}\r\n{authorization}\
             content-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        Self::Upload { head, body }
    }

    /// `GET path`, whose answer should be large enough to fill the socket buffers.
    pub fn get(path: &str) -> Self {
        Self::Download {
            head: format!("GET {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n"),
        }
    }
}

/// The answer to the request in flight.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn command(binary: &str, args: &[&str], env: &[(&str, String)]) -> Command {
    let mut command = Command::new(binary);
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RUST_LOG", if std::env::var_os("TEST_LOG").is_some() { "debug" } else { "warn" })
        .stdin(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    command
}

/// Every process below `pid` (children, their children, ...).
pub fn descendants(pid: i32) -> Vec<i32> {
    let parents: Vec<(i32, i32)> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let child: i32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            // The command name may hold spaces: the fields after it follow the last ')'.
            let parent = stat.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()?;
            Some((child, parent))
        })
        .collect();
    let mut found = Vec::new();
    let mut frontier = vec![pid];
    while let Some(parent) = frontier.pop() {
        for (child, _) in parents.iter().filter(|(_, p)| *p == parent) {
            found.push(*child);
            frontier.push(*child);
        }
    }
    found
}

fn is_alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next()) != Some("Z")
    })
}

impl ServiceProcess {
    /// Starts `binary` (with `args`) on a free loopback port given in
    /// `LISTEN_ADDR`, configured by `env` (and nothing else from ours but
    /// `PATH`), and waits until `/healthz` answers.
    pub async fn start(binary: &str, args: &[&str], env: &[(&str, String)]) -> Self {
        // A port free when chosen may be taken before the service binds it:
        // the service then exits at once, and starts again on another.
        let mut attempts = 3;
        loop {
            let port = crate::process::free_port().expect("free port");
            let mut command = command(binary, args, env);
            command.env("LISTEN_ADDR", format!("127.0.0.1:{port}")).stdout(Stdio::null());
            let child = command.spawn().expect("start the service binary");
            let mut process = Self { child, port };
            match process.until_healthy().await {
                Ok(()) => return process,
                Err(status) if attempts > 1 => {
                    attempts -= 1;
                    eprintln!("the service exited while starting on port {port} ({status}); trying another");
                }
                Err(status) => panic!("the service exited while starting: {status}"),
            }
        }
    }

    /// Starts `binary` (with `args`), which chooses its own port and prints
    /// its address on a line with `announcement` (`... {announcement} http://127.0.0.1:PORT ...`).
    pub async fn start_announced(
        binary: &str,
        args: &[&str],
        env: &[(&str, String)],
        announcement: &str,
    ) -> Self {
        use std::io::BufRead;
        let mut command = command(binary, args, env);
        command.stdout(Stdio::piped());
        let mut child = command.spawn().expect("start the binary");
        let stdout = child.stdout.take().expect("stdout");
        let announcement = announcement.to_owned();
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                let port = line
                    .split_once(&announcement)
                    .and_then(|(_, rest)| rest.trim().strip_prefix("http://127.0.0.1:"))
                    .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
                    .and_then(|digits| digits.parse::<u16>().ok());
                if let Some(port) = port {
                    let _ = port_tx.send(port);
                }
            }
        });
        let port = tokio::task::spawn_blocking(move || port_rx.recv_timeout(Duration::from_secs(120)))
            .await
            .expect("join")
            .expect("the binary announced its address");
        let mut process = Self { child, port };
        if let Err(status) = process.until_healthy().await {
            panic!("the binary exited while starting: {status}");
        }
        process
    }

    /// Waits until `/healthz` answers 2xx; the exit status if the process
    /// exited first.
    async fn until_healthy(&mut self) -> Result<(), std::process::ExitStatus> {
        let url = format!("http://127.0.0.1:{}/healthz", self.port);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(status);
            }
            if reqwest::get(&url).await.is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            assert!(Instant::now() < deadline, "the service did not become healthy within 30 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn pid(&self) -> Pid {
        Pid::from_raw(i32::try_from(self.child.id()).expect("pid"))
    }

    /// Starts `request`, sends `signal` while it is under way, checks that
    /// new connections are refused, finishes the request and reads the
    /// whole answer, and checks that the process exits 0 within
    /// [`STOP_WITHIN`] of the signal.
    pub async fn stop_during(mut self, request: InFlight, signal: Signal) -> Answer {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).await.expect("connect");
        let rest = match request {
            InFlight::Upload { head, body } => {
                let half = body.len() / 2;
                stream.write_all(head.as_bytes()).await.expect("write head");
                stream.write_all(&body[..half]).await.expect("write half the body");
                body[half..].to_vec()
            }
            InFlight::Download { head } => {
                stream.write_all(head.as_bytes()).await.expect("write head");
                Vec::new()
            }
        };
        // The server has read the head and waits for the body, or is blocked
        // writing an answer nobody reads yet.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let children = descendants(self.pid().as_raw());
        kill(self.pid(), signal).expect("signal");
        let signalled = Instant::now();

        let refusing = async {
            while StdTcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(3), refusing)
            .await
            .expect("new connections are refused soon after the signal");

        stream.write_all(&rest).await.expect("the rest of the body is still read");
        let mut answer = Vec::new();
        tokio::time::timeout(STOP_WITHIN, stream.read_to_end(&mut answer))
            .await
            .expect("the request in flight is answered")
            .expect("read the answer");
        let split = answer.windows(4).position(|w| w == b"\r\n\r\n").expect("an HTTP answer");
        let head = String::from_utf8_lossy(&answer[..split]).into_owned();
        let body = answer[split + 4..].to_vec();
        let status = head
            .strip_prefix("HTTP/1.1 ")
            .and_then(|rest| rest.get(..3))
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP answer: {head:?}"));
        let length = head.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length").then(|| value.trim().parse::<usize>().ok())?
        });
        if let Some(length) = length {
            assert_eq!(body.len(), length, "the whole answer arrives");
        }

        let exit = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status;
            }
            assert!(signalled.elapsed() < STOP_WITHIN, "the process did not exit within {STOP_WITHIN:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(exit.code(), Some(0), "exit status after {signal}");
        while let Some(child) = children.iter().find(|child| is_alive(**child)) {
            assert!(
                signalled.elapsed() < STOP_WITHIN,
                "process {child}, started by the service, outlived it"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Answer { status, body }
    }
}
