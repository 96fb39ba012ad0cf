//! Errors returned by the core's public API.

use crate::config::ConfigError;
use crate::types::NodeId;
use thiserror::Error;

/// Why a node could not be created.
#[derive(Clone, Debug, PartialEq, Error)]
pub enum InitError {
    /// The configuration is invalid.
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),
    /// The membership does not include the node itself.
    #[error("node {0} is not in the membership")]
    NotAMember(NodeId),
    /// A member is listed twice.
    #[error("node {0} is listed twice in the membership")]
    DuplicateMember(NodeId),
    /// The persisted state contradicts itself; starting from it could break safety.
    #[error("persisted state is inconsistent: {0}")]
    InconsistentState(String),
}

/// Why an incoming message was refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum StepError {
    /// The message is addressed to another node.
    #[error("message for {to} delivered to {me}")]
    WrongRecipient {
        /// The addressee.
        to: NodeId,
        /// This node.
        me: NodeId,
    },
    /// The sender is not a member of the cluster (or is this node itself).
    #[error("message from {0}, which is not a peer")]
    UnknownSender(NodeId),
}

/// Why a proposal was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum ProposeError {
    /// Only the leader accepts proposals.
    #[error("not the leader (leader: {leader:?})")]
    NotLeader {
        /// The leader this node knows of, if any: retry there.
        leader: Option<NodeId>,
    },
    /// The leader is handing leadership over and accepts nothing until that ends.
    #[error("leadership transfer to {0} in progress")]
    TransferInProgress(NodeId),
    /// The entry could never be sent: it alone is larger than one AppendEntries carries.
    #[error("proposal of {bytes} bytes is larger than the {max} bytes one message carries")]
    TooLarge {
        /// The proposal's size, bytes.
        bytes: usize,
        /// The largest proposal accepted, bytes (`Config::max_proposal_bytes`).
        max: usize,
    },
}

/// Why a leadership transfer could not start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum TransferError {
    /// Only the leader can hand leadership over.
    #[error("not the leader (leader: {leader:?})")]
    NotLeader {
        /// The leader this node knows of, if any.
        leader: Option<NodeId>,
    },
    /// The target is not a member.
    #[error("node {0} is not a member")]
    UnknownNode(NodeId),
    /// Another transfer is already under way.
    #[error("leadership transfer to {0} already in progress")]
    InProgress(NodeId),
    /// The transfer cannot be called off: TimeoutNow already went to this node.
    #[error("leadership already handed to {0} (TimeoutNow sent)")]
    AlreadyHandedOver(NodeId),
}
