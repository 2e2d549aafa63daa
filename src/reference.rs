//! Distribution reference grammar (placeholder, being written).
