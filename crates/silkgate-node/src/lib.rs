//! A national node: HTTP API, federation over mutual TLS, and the services of the design.
//! (Built out by the foundation issue.)
