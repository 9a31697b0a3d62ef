//! sluice and object storage: `sluice publish` (the build output into an S3 bucket or a
//! folder, what changed only, `staticfiles.json` last) and the build cache a CI fleet shares
//! ([`cache`]), on `object_store`, the distributed storage a Django site's deploy already has.
//!
//! Heavy (an HTTP client and TLS), so in a crate of its own: everyday builds of the rest do
//! not compile it twice. Everything it decides is pure ([`plan`], [`content_type`],
//! [`index`]); [`store`] and [`publish`] do the I/O, on a current-thread runtime made for the
//! command.

pub mod cache;
pub mod content_type;
mod error;
pub mod index;
pub mod lock;
pub mod pack;
pub mod plan;
pub mod publish;
pub mod store;

pub use error::Error;
pub use publish::{Report, Request, Settings, publish};

/// The md5 of `bytes` as lowercase hex: the content hash sluice stores with each object.
pub fn md5_hex(bytes: &[u8]) -> String {
    use md5::{Digest, Md5};
    let digest = Md5::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
