use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::VocabularyError;

macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident, $err:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "&'static str")]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The stable word used in JSON, rule packs and the CLI.
            pub fn as_str(&self) -> &'static str {
                match self { $($name::$variant => $text,)* }
            }
        }

        impl FromStr for $name {
            type Err = VocabularyError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)*
                    _ => Err(vocabulary!(@err $err, s)),
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = VocabularyError;
            fn try_from(s: String) -> Result<Self, Self::Error> { s.parse() }
        }

        impl From<$name> for &'static str {
            fn from(v: $name) -> Self { v.as_str() }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
    };
    (@err DataCategory, $s:expr) => {
        VocabularyError::DataCategory {
            value: $s.to_owned(),
            known: DataCategory::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", "),
        }
    };
    (@err Sector, $s:expr) => { VocabularyError::Sector { value: $s.to_owned() } };
}

vocabulary! {
    /// What kind of data a dataset holds, in the one vocabulary that the scanner reports and the
    /// rule packs test, so a finding of the content review is a fact the policy engine can use.
    DataCategory, DataCategory {
        /// Information relating to an identified or identifiable natural person.
        Personal = "personal",
        /// Personal data whose leak could harm the person (the PIPL art. 28 sense and its peers).
        Sensitive = "sensitive",
        /// Fingerprints, face images, voice prints and other biometric identifiers.
        Biometric = "biometric",
        /// Genetic data.
        Genetic = "genetic",
        /// Bank accounts, payment cards and other financial data of persons.
        Financial = "financial",
        /// Health and medical data.
        Health = "health",
        /// Personal data of minors.
        Children = "children",
        /// "Important data" in the sense of China's Data Security Law and its peers.
        Important = "important",
        /// "Core data" in the sense of China's Data Security Law art. 21.
        Core = "core",
        /// Data about no person at all.
        NonPersonal = "non-personal",
    }
}

vocabulary! {
    /// The economic sector of an organisation or dataset, matching the sub-committees of the
    /// Data Security Cooperation Committee so templates and supervision can group by it.
    Sector, Sector {
        /// Trade data.
        Trade = "trade",
        /// Investment data.
        Investment = "investment",
        /// Financial data.
        Finance = "finance",
        /// Intellectual-property data.
        IntellectualProperty = "intellectual-property",
        /// Anything else.
        Other = "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_word() {
        for c in DataCategory::ALL {
            assert_eq!(c.as_str().parse::<DataCategory>().unwrap(), *c);
            let json = serde_json::to_string(c).unwrap();
            assert_eq!(serde_json::from_str::<DataCategory>(&json).unwrap(), *c);
        }
        for s in Sector::ALL {
            assert_eq!(s.as_str().parse::<Sector>().unwrap(), *s);
        }
    }

    #[test]
    fn unknown_words_name_the_value() {
        let err = "secret".parse::<DataCategory>().unwrap_err().to_string();
        assert!(
            err.contains("'secret'") && err.contains("non-personal"),
            "{err}"
        );
        assert!("banking".parse::<Sector>().is_err());
    }
}
