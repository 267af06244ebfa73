//! The viewer connection's writer: hyper hands it the response head and the
//! body's `Bytes` as separate buffers (vectored writes, no copy); a buffer
//! that lies in sealed memory goes to the socket by `sendfile` from its file
//! (the kernel takes the pages, as nginx's sendfile does), and the head
//! before it is sent with `MSG_MORE` so both leave in the same segments.
//! Everything else is written as it is.

use std::io::{self, IoSlice};
use std::os::fd::{AsFd, AsRawFd};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use nix::sys::socket::{MsgFlags, sendmsg};
use prometheus::IntCounter;
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::TcpStream;

use crate::sealed;

pub struct ZeroCopyStream {
    pub socket: TcpStream,
    /// Counts what left by `sendfile`.
    pub sent: Option<IntCounter>,
}

impl AsyncRead for ZeroCopyStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.socket).poll_read(cx, buf)
    }
}

impl AsyncWrite for ZeroCopyStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let found = bufs
            .iter()
            .enumerate()
            .filter(|(_, buf)| !buf.is_empty())
            .find_map(|(i, buf)| Some((i, sealed::find(buf.as_ptr())?)));
        let socket = &self.socket;
        loop {
            ready!(socket.poll_write_ready(cx))?;
            let written = socket.try_io(Interest::WRITABLE, || match &found {
                None => nix::sys::uio::writev(socket, bufs).map_err(io::Error::from),
                // (No MSG_NOSIGNAL for sendfile: a viewer gone mid-send is
                // EPIPE, as Rust programs ignore SIGPIPE.)
                Some((0, (file, offset, left))) => {
                    let mut offset = i64::try_from(*offset).map_err(io::Error::other)?;
                    let count = bufs[0].len().min(*left);
                    let sent = nix::sys::sendfile::sendfile64(
                        socket.as_fd(),
                        file.as_fd(),
                        Some(&mut offset),
                        count,
                    )
                    .map_err(io::Error::from)?;
                    if let Some(counter) = &self.sent {
                        counter.inc_by(sent as u64);
                    }
                    Ok(sent)
                }
                Some((before, _)) => {
                    let more = MsgFlags::from_bits_retain(nix::libc::MSG_MORE) | MsgFlags::MSG_NOSIGNAL;
                    sendmsg::<()>(socket.as_raw_fd(), &bufs[..*before], &[], more, None)
                        .map_err(io::Error::from)
                }
            });
            match written {
                Err(err) if matches!(err.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => {
                    continue;
                }
                outcome => return Poll::Ready(outcome),
            }
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.socket).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.socket).poll_shutdown(cx)
    }
}
