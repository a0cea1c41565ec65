//! Tests of the `silkgate` program as a separate process: `init`, `node` (including a crash
//! in the middle of a delivery and one while the log appends under load), `log verify` against
//! a running node, the demo and the organisation commands.

mod cli;
mod crash;
mod log_node;
mod procs;
mod scan_cli;
mod tidy;
