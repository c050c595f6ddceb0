//! The RPC layer: generated tonic/prost types ([`proto`]), the conversions between them and
//! the gateway types ([`convert`]), the in-process [`local`] service the embedded cluster
//! uses, and the gRPC [`client`]s and [`server`]s between processes.

pub mod client;
pub mod convert;
pub mod local;
pub mod results;
pub mod server;

#[allow(clippy::all, missing_docs)]
pub mod proto {
    tonic::include_proto!("eddy.cluster.v1");
}

pub use local::LocalRpcService;

/// gRPC status codes, for callers that match on them without depending on tonic.
pub use tonic::Code;
