//! The column families (stores) of the local state.
//!
//! Guarantees: every store but the expiry index has a compacted changelog
//! topic `<group-id>-<name>-changelog` that can rebuild it; names never
//! change within a state format version.

/// A column family of the local state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Cf {
    /// Per-model bookkeeping ([`super::ModelMeta`], binary), keyed by model
    /// id.
    Models,
    /// Feature windows as entry segments and heads, numeric and categorical
    /// (see [`super::segments`]).
    Windows,
    /// Predictions waiting for (or recently joined with) their label,
    /// keyed by model id, NUL, prediction id.
    Pending,
    /// Labels that arrived before their prediction, keyed like `Pending`.
    Orphans,
    /// Expiry index of `Pending` and `Orphans`: model id, NUL, event time
    /// (8 bytes, order-preserving), kind byte, prediction id.
    Expiry,
    /// Next input offset per (topic, partition) reflected in the state.
    Offsets,
    /// Decision state, keyed by [`super::decision_key`]: each model's bandit
    /// (`b`), its commands awaiting an outcome or an approval (`c`), and per
    /// input partition the pause of every model (`p`).
    Decisions,
}

impl Cf {
    /// Every store.
    pub const ALL: [Cf; 7] = [
        Cf::Models,
        Cf::Windows,
        Cf::Pending,
        Cf::Orphans,
        Cf::Expiry,
        Cf::Offsets,
        Cf::Decisions,
    ];

    /// Whether the store has a changelog topic. The expiry index does not:
    /// it is derived from `pending` and `orphans`, and rebuilt from them
    /// when a partition is restored.
    pub fn changelogged(self) -> bool {
        self != Cf::Expiry
    }

    /// The column family (and changelog) name.
    pub fn name(self) -> &'static str {
        match self {
            Cf::Models => "models",
            Cf::Windows => "windows",
            Cf::Pending => "pending",
            Cf::Orphans => "orphans",
            Cf::Expiry => "expiry",
            Cf::Offsets => "offsets",
            Cf::Decisions => "decisions",
        }
    }

    /// The store of a name.
    pub fn from_name(name: &str) -> Option<Cf> {
        Cf::ALL.into_iter().find(|cf| cf.name() == name)
    }
}
