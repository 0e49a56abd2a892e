//! The delayed-label join: predictions meet their labels (whichever comes
//! first waits for the other, up to the TTL), and joined outcomes feed the
//! accuracy window behind concept drift. [`LabelJoin`] is the stage's
//! operator; [`expiry_index`] rebuilds its expiry index on restore.

mod operator;

pub use operator::{expiry_index, Joined, LabelJoin};

#[cfg(test)]
mod tests;
