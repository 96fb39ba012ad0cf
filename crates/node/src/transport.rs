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
}

impl Transport for tokio::net::UdpSocket {
    async fn send_to(&self, datagram: &[u8], to: SocketAddr) -> io::Result<()> {
        tokio::net::UdpSocket::send_to(self, datagram, to).await.map(|_| ())
    }

    async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        tokio::net::UdpSocket::recv_from(self, buf).await
    }
}
