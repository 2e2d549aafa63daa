//! docker config (placeholder, being written).
