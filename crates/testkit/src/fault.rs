//! Servers a test can take down and bring back. Down, every open
//! connection is cut and new ones are refused (the port is closed), as when
//! the server crashes; up, it listens on the same port again, as when it
//! restarts.
//!
//! [`FaultProxy`] puts that in front of a MongoDB server, whose data must
//! outlive the outage (the in-memory test server cannot restart without
//! losing it): it relays the wire protocol and rewrites the server's own
//! address in its answers (`hello` names the replica set's members) to the
//! proxy's, so a driver that discovers the set keeps going through it.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Takes a server down and brings it back.
#[derive(Clone)]
pub struct Switch(Arc<watch::Sender<bool>>);

impl Switch {
    pub fn new() -> (Self, watch::Receiver<bool>) {
        let (up, watch_up) = watch::channel(true);
        (Self(Arc::new(up)), watch_up)
    }

    /// Cuts every connection and closes the port.
    pub fn down(&self) {
        self.0.send_replace(false);
    }

    /// Listens again, on the same port.
    pub fn up(&self) {
        self.0.send_replace(true);
    }
}

/// Accepts on `listener` (bound to `addr`) while the switch is up, closing
/// the port while it is down; each connection goes to `serve`, which should
/// end at [`switched_down`]. Without its [`Switch`] (dropped), the server
/// stays up for good.
pub async fn accept_while_up(
    mut listener: TcpListener,
    addr: SocketAddr,
    mut up: watch::Receiver<bool>,
    mut serve: impl FnMut(TcpStream),
) {
    let mut switchable = true;
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                if let Ok((connection, _)) = accepted {
                    serve(connection);
                }
            }
            changed = up.changed(), if switchable => {
                if changed.is_err() {
                    switchable = false;
                    continue;
                }
                if !*up.borrow_and_update() {
                    drop(listener);
                    while !*up.borrow_and_update() {
                        if up.changed().await.is_err() {
                            break;
                        }
                    }
                    listener = loop {
                        match TcpListener::bind(addr).await {
                            Ok(listener) => break listener,
                            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
                        }
                    };
                }
            }
        }
    }
}

/// Resolves when the switch goes down; never, once the switch is dropped.
pub async fn switched_down(mut up: watch::Receiver<bool>) {
    while *up.borrow_and_update() {
        if up.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// A MongoDB server behind a switch.
pub struct FaultProxy {
    addr: SocketAddr,
    pub switch: Switch,
}

impl FaultProxy {
    /// A proxy on a free loopback port in front of the MongoDB server at
    /// `upstream` (which names itself `upstream` in its answers).
    pub async fn mongodb(upstream: SocketAddr) -> Self {
        // The same number of digits in both ports keeps every rewritten message its length.
        let width = upstream.port().to_string().len();
        let listener = loop {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
            let port = listener.local_addr().expect("proxy address").port();
            if port.to_string().len() == width {
                break listener;
            }
        };
        let addr = listener.local_addr().expect("proxy address");
        let from: Arc<[u8]> = upstream.to_string().into_bytes().into();
        let to: Arc<[u8]> = addr.to_string().into_bytes().into();
        let (switch, up) = Switch::new();
        let watch_up = up.clone();
        tokio::spawn(accept_while_up(listener, addr, up, move |client| {
            let (from, to, up) = (from.clone(), to.clone(), watch_up.clone());
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(upstream).await else { return };
                let (client_read, mut client_write) = client.into_split();
                let (mut server_read, server_write) = server.into_split();
                tokio::select! {
                    _ = copy(client_read, server_write) => {}
                    _ = copy_rewriting(&mut server_read, &mut client_write, &from, &to) => {}
                    () = switched_down(up) => {}
                }
            });
        }));
        Self { addr, switch }
    }

    /// The connection string through the proxy.
    pub fn uri(&self, query: &str) -> String {
        format!("mongodb://{}/?{query}", self.addr)
    }
}

/// MongoDB's own limit on one wire message.
const MAX_MESSAGE_BYTES: usize = 48_000_000;

async fn copy(mut from: impl AsyncRead + Unpin, mut to: impl AsyncWrite + Unpin) -> std::io::Result<()> {
    tokio::io::copy(&mut from, &mut to).await.map(drop)
}

/// Whole wire messages (a little-endian length first), with `from` replaced by `to` in each.
async fn copy_rewriting(
    mut source: impl AsyncRead + Unpin,
    mut sink: impl AsyncWrite + Unpin,
    from: &[u8],
    to: &[u8],
) -> std::io::Result<()> {
    loop {
        let mut length = [0u8; 4];
        source.read_exact(&mut length).await?;
        let total = usize::try_from(u32::from_le_bytes(length)).unwrap_or(usize::MAX);
        if total > MAX_MESSAGE_BYTES {
            return Err(std::io::Error::other("not a MongoDB message"));
        }
        let mut message = length.to_vec();
        message.resize(total.max(4), 0);
        source.read_exact(&mut message[4..]).await?;
        let mut at = 4;
        while let Some(found) = message[at..].windows(from.len()).position(|window| window == from) {
            message[at + found..at + found + to.len()].copy_from_slice(to);
            at += found + to.len();
        }
        sink.write_all(&message).await?;
    }
}
