//! The domain vocabulary every Silkgate crate shares: who (states, sectors, [`Organisation`]),
//! what (data categories, [`DatasetVersion`] with its [`Visibility`] and format check), how it
//! moves ([`Transfer`], the signed [`DeliveryManifest`] and [`DeliveryReceipt`], the signed
//! [`TrustList`]) and the [`Event`] record of every state change, with canonical serialisation
//! and signatures of documents. These are domain types: the federation wire types live in
//! `silkgate-node` and are converted by hand, so refactoring here cannot change the protocol.
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

pub mod agreement;
pub mod canonical;
mod category;
mod clock;
mod dataset;
mod event;
pub mod format;
mod org;
mod state;
mod transfer;
mod trust;

pub use agreement::{
    ActiveAgreement, Agreement, AgreementError, AgreementState, AgreementStatus, Date,
    MarkedColumn, MarkingTerms, ProposedAgreement, SignedAgreement, Template, TermBreach,
    TermError, Terms, TransferRequest,
};
pub use canonical::{CanonicalError, Document, Signed};
pub use category::{DataCategory, Sector};
pub use clock::{Clock, ManualClock};
pub use dataset::{Column, DatasetFormat, DatasetVersion, Sha256Hex, Visibility};
pub use event::{Event, NewEvent};
pub use format::{FormatChecker, FormatError};
pub use org::{IdError, OrgId, Organisation};
pub use state::{MEMBER_STATES, StateCode};
pub use transfer::{DeliveryManifest, DeliveryReceipt, Transfer, TransferStatus};
pub use trust::{TrustList, TrustedNode};

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
