//! Datagram transport: how messages leave and arrive.

use std::future::Future;
use std::io;
use std::net::SocketAddr;

/// An unreliable datagram socket (UDP, or a simulator's).
pub trait Transport: Send + Sync + 'static {
    /// Sends one datagram to `to`.
    fn send_to(
        &self,
        datagram: &[u8],
        to: SocketAddr,
    ) -> impl Future<Output = io::Result<()>> + Send;
    /// Receives one datagram into `buf`: its length and its sender.
    fn recv_from(
        &self,
        buf: &mut [u8],
    ) -> impl Future<Output = io::Result<(usize, SocketAddr)>> + Send;
    /// Receives one datagram that has already arrived, without waiting: `None` when there is
    /// none (the node then reads the rest of a backlog in one turn, before one write to its
    /// disk, instead of one datagram per write).
    fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<Option<(usize, SocketAddr)>>;
}

/// A non-blocking receive's result, with the error that only says nothing has arrived yet
/// turned into `Ok(None)` (for [`Transport::try_recv_from`] implementations).
pub fn nothing_yet<T>(result: io::Result<T>) -> io::Result<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
        Err(e) => Err(e),
    }
}

impl Transport for tokio::net::UdpSocket {
    async fn send_to(&self, datagram: &[u8], to: SocketAddr) -> io::Result<()> {
        tokio::net::UdpSocket::send_to(self, datagram, to).await.map(|_| ())
    }

    async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        tokio::net::UdpSocket::recv_from(self, buf).await
    }

    fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<Option<(usize, SocketAddr)>> {
        nothing_yet(tokio::net::UdpSocket::try_recv_from(self, buf))
    }
}
