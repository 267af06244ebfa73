//! Ports of services whose address others must know before they start
//! (media and post call each other; url-signer restarts where its callers
//! look). Such a port is held from the moment it is chosen by a bound socket
//! that does not listen: nothing else can take the port, and connections to
//! it are refused while the service is not running, as after a crash. Each
//! start of the service listens through a second socket sharing the port
//! (`SO_REUSEPORT`), which closes when that run stops. (nginx in the tests
//! shares a held port the same way: `listen ... reuseport`.)
//!
//! Restarting at once: a stopped run leaves its connections in TIME_WAIT on
//! the port for a minute, and they carry the socket options of the listener
//! they came from. A run's listener therefore also sets `SO_REUSEADDR`, so
//! those leftovers never stop the next start (nor its check that nobody else
//! holds the port); the holder does not, so while it holds the port no
//! other program's socket — `SO_REUSEADDR` or not — can bind it.

use std::net::{SocketAddr, TcpListener};

use common::server::{HttpSettings, Prebound};
use socket2::{Domain, Socket, Type};

pub struct HeldPort {
    /// Bound, never listening: only keeps the port.
    _holder: Socket,
    addr: SocketAddr,
}

impl HeldPort {
    /// Holds `settings.listen` (any free port when it is port 0).
    pub fn hold(settings: &HttpSettings) -> anyhow::Result<Self> {
        if settings.listen.port() != 0 {
            // Sharing is for this stack's own sockets: a port anyone else
            // has bound (even another stack, with SO_REUSEPORT) stops the
            // start. A port chosen by the kernel is never a shared one.
            drop(
                TcpListener::bind(settings.listen)
                    .map_err(|err| anyhow::anyhow!("cannot listen on {}: {err}", settings.listen))?,
            );
        }
        let holder = shared_socket(settings.listen, Reuse::PortOnly)?;
        let addr = holder
            .local_addr()?
            .as_socket()
            .ok_or_else(|| anyhow::anyhow!("{} is not an IP address", settings.listen))?;
        Ok(Self { _holder: holder, addr })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `settings` for a service that runs once, listening on its port
    /// already (held until then: the listener keeps it from there).
    pub fn listening(settings: HttpSettings) -> anyhow::Result<HttpSettings> {
        Self::hold(&settings)?.settings(settings)
    }

    /// `settings` for one run of the service: a fresh listener on the port.
    pub fn settings(&self, settings: HttpSettings) -> anyhow::Result<HttpSettings> {
        let socket = shared_socket(self.addr, Reuse::PortAndAddress)?;
        socket.listen(1024)?;
        let listener = TcpListener::from(socket);
        Ok(HttpSettings { listen: self.addr, prebound: Prebound::new(listener), ..settings })
    }
}

enum Reuse {
    /// The holder: shares the port with this stack's own listeners only.
    PortOnly,
    /// A run's listener: also binds over the last run's TIME_WAIT leftovers.
    PortAndAddress,
}

fn shared_socket(addr: SocketAddr, reuse: Reuse) -> anyhow::Result<Socket> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_reuse_port(true)?;
    socket.set_reuse_address(matches!(reuse, Reuse::PortAndAddress))?;
    socket.bind(&addr.into()).map_err(|err| anyhow::anyhow!("cannot listen on {addr}: {err}"))?;
    Ok(socket)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::io::ErrorKind;
    use std::net::TcpStream;

    use super::*;

    #[test]
    fn a_held_port_refuses_connections_between_runs_and_is_not_given_to_others() {
        let held = HeldPort::hold(&HttpSettings::ephemeral()).unwrap();
        let refused = TcpStream::connect(held.addr).unwrap_err();
        assert_eq!(refused.kind(), ErrorKind::ConnectionRefused);
        assert!(TcpListener::bind(held.addr).is_err(), "another listener took the held port");

        let run = held.settings(HttpSettings::ephemeral()).unwrap();
        let listener = run.bind().unwrap();
        assert!(TcpStream::connect(held.addr).is_ok());
        drop(listener);
        let refused = TcpStream::connect(held.addr).unwrap_err();
        assert_eq!(refused.kind(), ErrorKind::ConnectionRefused);

        let again = held.settings(HttpSettings::ephemeral()).unwrap().bind().unwrap();
        assert_eq!(again.local_addr().unwrap(), held.addr);
        assert!(TcpStream::connect(held.addr).is_ok());

        // A second stack asking for the same port is refused, not let share it.
        let same_port = HttpSettings::loopback(held.addr.port());
        let taken = HeldPort::hold(&same_port).err().unwrap();
        assert!(taken.to_string().contains("cannot listen on"), "{taken}");
        // So is any other program, `SO_REUSEADDR` (std's default) or not,
        // between runs as while one runs.
        drop(again);
        assert!(TcpListener::bind(held.addr).is_err(), "a SO_REUSEADDR listener took the held port");
        let plain = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        assert!(plain.bind(&held.addr.into()).is_err(), "a plain socket took the held port");
    }

    #[test]
    fn a_port_is_held_again_at_once_after_a_run_whose_connections_are_in_time_wait() {
        use std::io::{Read, Write};
        let held = HeldPort::hold(&HttpSettings::ephemeral()).unwrap();
        let addr = held.addr;
        let listener = held.settings(HttpSettings::ephemeral()).unwrap().bind().unwrap();
        for _ in 0..3 {
            let mut client = TcpStream::connect(addr).unwrap();
            let (mut served, _) = listener.accept().unwrap();
            // The server closes first, as a stopping service does: its side
            // of the connection stays in TIME_WAIT on the held port.
            served.write_all(b"bye").unwrap();
            drop(served);
            let mut rest = Vec::new();
            client.read_to_end(&mut rest).unwrap();
        }
        drop(listener);
        drop(held);

        let again = HeldPort::hold(&HttpSettings::loopback(addr.port())).unwrap();
        let run = again.settings(HttpSettings::ephemeral()).unwrap().bind().unwrap();
        assert_eq!(run.local_addr().unwrap(), addr);
        assert!(TcpStream::connect(addr).is_ok());
    }
}
