//! The domain vocabulary every Silkgate crate shares: who (states, sectors), what (data
//! categories), and, as later issues add them, parties, datasets, agreements, transfers and
//! events with their canonical serialisation and signatures.
//!
//! Invariant: a value of these types is always valid. A [`StateCode`] is two upper-case ASCII
//! letters, and a [`DataCategory`] is one of the words the policy engine and the scanner both
//! understand, so a typo is caught where text enters the system rather than deep in a decision.
//!
//! ```
//! use silkgate_model::{StateCode, DataCategory};
//! let kz: StateCode = "KZ".parse().unwrap();
//! assert!(kz.is_member());
//! assert_eq!("sensitive".parse::<DataCategory>().unwrap(), DataCategory::Sensitive);
//! ```

pub mod canonical;
mod category;
mod state;

pub use canonical::{CanonicalError, Document, Signed};
pub use category::{DataCategory, Sector};
pub use state::{MEMBER_STATES, StateCode};

/// A value of the shared vocabulary could not be parsed; says which value and why, so the
/// caller can name the field it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VocabularyError {
    /// Not a two-letter upper-case state code.
    #[error("'{value}' is not a state code: expected two upper-case letters such as \"KZ\"")]
    StateCode {
        /// The text that was given.
        value: String,
    },
    /// A data category outside the shared vocabulary.
    #[error("'{value}' is not a data category; known: {known}")]
    DataCategory {
        /// The text that was given.
        value: String,
        /// The accepted words, comma-separated.
        known: String,
    },
    /// A sector outside the list.
    #[error(
        "'{value}' is not a sector; known: trade, investment, finance, intellectual-property, other"
    )]
    Sector {
        /// The text that was given.
        value: String,
    },
}
