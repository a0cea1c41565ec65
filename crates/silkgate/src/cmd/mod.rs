//! One module per subcommand; each owns its clap arguments and a `run` function.

pub mod agreement;
pub mod demo;
pub mod init;
pub mod log;
pub mod node;
pub mod org;
pub mod policy;
pub mod portal;
pub mod scan;
pub mod trace;
