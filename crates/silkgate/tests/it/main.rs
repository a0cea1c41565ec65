//! Tests of the `silkgate` program as a separate process: `init`, `node` (including a crash
//! in the middle of a delivery), the demo and the organisation commands.

mod cli;
mod crash;
