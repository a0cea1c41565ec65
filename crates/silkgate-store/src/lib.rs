//! Persistence behind one interface: SQLite by default, blobs through `object_store`.
//! (Built out by the foundation issue.)
