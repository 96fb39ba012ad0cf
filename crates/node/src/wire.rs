//! The datagram format: a fixed header (magic, version, cluster id) and a postcard body.
//!
//! ```text
//! 0      2        3                 11
//! | "BL" | version | cluster id (LE) | the core's encoded message (ballot: postcard) ...
//! ```
//!
//! Decoding never panics: anything that is not a well-formed message of our version and our
//! cluster is refused with a [`WireError`] saying why, so that the node can count and drop it.

use crate::core::ElectionCore;
use thiserror::Error;

pub use ballot_core::limits::{check_budget, MAX_DATAGRAM, MAX_ENTRY_BYTES};

/// Marks a ballot datagram.
const MAGIC: [u8; 2] = *b"BL";
/// The wire format version this build speaks (2: TimeoutNow carries its transfer's expiry).
pub const WIRE_VERSION: u8 = 2;
const HEADER_LEN: usize = ballot_core::limits::DATAGRAM_HEADER_BYTES;

/// Why a datagram was refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum WireError {
    /// Shorter than the header.
    #[error("truncated datagram of {0} bytes")]
    Truncated(usize),
    /// Longer than [`MAX_DATAGRAM`].
    #[error("oversized datagram of {0} bytes")]
    Oversized(usize),
    /// Does not start with the ballot magic.
    #[error("not a ballot datagram")]
    BadMagic,
    /// Another version of the format.
    #[error("unsupported wire version {0}")]
    UnsupportedVersion(u8),
    /// From another cluster.
    #[error("datagram for cluster {0}")]
    ForeignCluster(u64),
    /// The body does not decode to a message.
    #[error("malformed body: {0}")]
    Malformed(String),
}

impl WireError {
    /// A short, stable name for counting drops by reason.
    pub fn kind(&self) -> &'static str {
        match self {
            WireError::Truncated(_) => "truncated",
            WireError::Oversized(_) => "oversized",
            WireError::BadMagic => "bad_magic",
            WireError::UnsupportedVersion(_) => "version",
            WireError::ForeignCluster(_) => "foreign_cluster",
            WireError::Malformed(_) => "malformed",
        }
    }
}

/// The header of a datagram for `cluster_id`.
fn header(cluster_id: u64) -> [u8; HEADER_LEN] {
    let mut header = [0; HEADER_LEN];
    header[..2].copy_from_slice(&MAGIC);
    header[2] = WIRE_VERSION;
    header[3..].copy_from_slice(&cluster_id.to_le_bytes());
    header
}

/// The payload of a datagram addressed to `cluster_id`.
pub fn unframe(cluster_id: u64, bytes: &[u8]) -> Result<&[u8], WireError> {
    if bytes.len() > MAX_DATAGRAM {
        return Err(WireError::Oversized(bytes.len()));
    }
    if bytes.len() < HEADER_LEN {
        return Err(WireError::Truncated(bytes.len()));
    }
    if bytes[..2] != MAGIC {
        return Err(WireError::BadMagic);
    }
    if bytes[2] != WIRE_VERSION {
        return Err(WireError::UnsupportedVersion(bytes[2]));
    }
    let cluster = u64::from_le_bytes(bytes[3..HEADER_LEN].try_into().expect("8 bytes"));
    if cluster != cluster_id {
        return Err(WireError::ForeignCluster(cluster));
    }
    Ok(&bytes[HEADER_LEN..])
}

/// Bytes a datagram's buffer starts with room for beyond its header: a heartbeat or an
/// answer fits without growing it.
const SMALL_BODY: usize = 64;

/// Encodes a message of core `C` for `cluster_id`, its body after the header in one buffer.
pub fn encode<C: ElectionCore>(cluster_id: u64, msg: &C::Message) -> Result<Vec<u8>, WireError> {
    let mut out = Vec::with_capacity(HEADER_LEN + SMALL_BODY);
    out.extend_from_slice(&header(cluster_id));
    C::encode(msg, &mut out).map_err(WireError::Malformed)?;
    if out.len() > MAX_DATAGRAM {
        return Err(WireError::Oversized(out.len()));
    }
    Ok(out)
}

/// Decodes a datagram addressed to `cluster_id` into a message of core `C`.
pub fn decode<C: ElectionCore>(cluster_id: u64, bytes: &[u8]) -> Result<C::Message, WireError> {
    C::decode(unframe(cluster_id, bytes)?).map_err(WireError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ballot_core::{Body, Entry, Message, NodeId, Payload, Raft, Term};
    use proptest::prelude::*;

    fn encode(cluster_id: u64, msg: &Message) -> Result<Vec<u8>, WireError> {
        super::encode::<Raft>(cluster_id, msg)
    }

    fn decode(cluster_id: u64, bytes: &[u8]) -> Result<Message, WireError> {
        super::decode::<Raft>(cluster_id, bytes)
    }

    fn sample() -> Message {
        Message {
            from: NodeId(1),
            to: NodeId(2),
            term: Term(7),
            body: Body::AppendEntries {
                prev_log_index: 3,
                prev_log_term: Term(6),
                entries: vec![Entry {
                    index: 4,
                    term: Term(7),
                    payload: Payload::Data(b"x".to_vec()),
                }],
                leader_commit: 3,
                sent_at_ms: 1234,
                rtt_ms: 5,
            },
        }
    }

    #[test]
    fn round_trip() {
        let bytes = encode(9, &sample()).unwrap();
        assert_eq!(decode(9, &bytes), Ok(sample()));
    }

    /// A message too large for one datagram is refused, not sent.
    #[test]
    fn an_oversized_message_is_refused() {
        let mut big = sample();
        if let Body::AppendEntries { entries, .. } = &mut big.body {
            entries[0].payload = Payload::Data(vec![7; MAX_DATAGRAM]);
        }
        assert!(matches!(encode(9, &big), Err(WireError::Oversized(n)) if n > MAX_DATAGRAM));
    }

    #[test]
    fn every_kind_of_bad_datagram_is_named() {
        let good = encode(9, &sample()).unwrap();
        let mut wrong_magic = good.clone();
        wrong_magic[0] = b'X';
        let mut wrong_version = good.clone();
        wrong_version[2] = WIRE_VERSION - 1; // the format before TimeoutNow carried its expiry
        let mut trailing = good.clone();
        trailing.push(0);
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (vec![], "truncated"),
            (good[..5].to_vec(), "truncated"),
            (vec![0; MAX_DATAGRAM + 1], "oversized"),
            (wrong_magic, "bad_magic"),
            (wrong_version, "version"),
            (encode(8, &sample()).unwrap(), "foreign_cluster"),
            (good[..good.len() - 1].to_vec(), "malformed"),
            (trailing, "malformed"),
        ];
        for (bytes, kind) in cases {
            assert_eq!(decode(9, &bytes).unwrap_err().kind(), kind, "{bytes:?}");
        }
    }

    /// The fullest AppendEntries a valid configuration allows (the byte budget at the
    /// transport's limit, entries of the largest indexes and terms, empty or of the largest
    /// proposal) still fits one datagram.
    #[test]
    fn the_fullest_batch_fits_one_datagram() {
        let config =
            ballot_core::Config { max_bytes_per_message: MAX_ENTRY_BYTES, ..Default::default() };
        assert_eq!(check_budget(&config), Ok(()));
        let over =
            ballot_core::Config { max_bytes_per_message: MAX_ENTRY_BYTES + 1, ..config.clone() };
        assert!(check_budget(&over).unwrap_err().to_string().contains("max_bytes_per_message"));
        let entry = |payload: Vec<u8>| Entry {
            index: u64::MAX,
            term: Term(u64::MAX),
            payload: Payload::Data(payload),
        };
        let small = entry(Vec::new());
        let batches = [
            vec![small.clone(); MAX_ENTRY_BYTES / small.size_bytes()],
            vec![entry(vec![0xff; config.max_proposal_bytes()])],
        ];
        for entries in batches {
            let total: usize = entries.iter().map(Entry::size_bytes).sum();
            assert!(total <= config.max_bytes_per_message);
            let msg = Message {
                from: NodeId(u64::MAX),
                to: NodeId(u64::MAX),
                term: Term(u64::MAX),
                body: Body::AppendEntries {
                    prev_log_index: u64::MAX,
                    prev_log_term: Term(u64::MAX),
                    entries,
                    leader_commit: u64::MAX,
                    sent_at_ms: u64::MAX,
                    rtt_ms: u64::MAX,
                },
            };
            let bytes = encode(u64::MAX, &msg).expect("fits one datagram");
            assert!(bytes.len() <= MAX_DATAGRAM);
        }
    }

    proptest! {
        /// Random bytes never panic the decoder, with or without a valid header; whatever
        /// decodes re-encodes to the same message.
        #[test]
        fn random_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512),
                                    with_header in any::<bool>()) {
            let mut bytes = Vec::new();
            if with_header {
                bytes.extend_from_slice(&MAGIC);
                bytes.push(WIRE_VERSION);
                bytes.extend_from_slice(&9u64.to_le_bytes());
            }
            bytes.extend_from_slice(&body);
            if let Ok(msg) = decode(9, &bytes) {
                prop_assert_eq!(decode(9, &encode(9, &msg).unwrap()), Ok(msg));
            }
        }

        /// Flipping any byte of a valid datagram gives an error or some message, never a panic.
        #[test]
        fn corrupted_datagrams_never_panic(pos in 0usize..64, flip in 1u8..=255) {
            let mut bytes = encode(9, &sample()).unwrap();
            let i = pos % bytes.len();
            bytes[i] ^= flip;
            match decode(9, &bytes) {
                Ok(msg) => prop_assert_eq!(decode(9, &encode(9, &msg).unwrap()), Ok(msg)),
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
        }
    }
}
