//! Compiles the cluster's RPC definitions with a vendored protoc, so no system protoc is
//! needed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    // SAFETY: build scripts are single-threaded; nothing else reads the environment here.
    unsafe { std::env::set_var("PROTOC", protoc) };
    tonic_prost_build::configure().compile_protos(&["proto/eddy_cluster.proto"], &["proto"])?;
    println!("cargo:rerun-if-changed=proto/eddy_cluster.proto");
    Ok(())
}
