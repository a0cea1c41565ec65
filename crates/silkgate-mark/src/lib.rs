//! Per-recipient marking of delivered tables and leak tracing back to the copy a found file
//! came from. (Built out by the agreements and marking issue.)
