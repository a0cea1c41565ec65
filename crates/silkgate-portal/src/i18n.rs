//! Every string of the portal comes from one Fluent catalogue per language
//! (`i18n/<lang>/portal.ftl`, embedded at build time). The language is chosen by the `lang`
//! cookie the switch on every page sets, else by the browser's `Accept-Language`, else English.
//!
//! A key missing from a catalogue renders as `⟦key⟧`, so the test that walks every page in
//! every language finds it; dates, numbers and state names are localised here too.

use std::collections::HashMap;
use std::sync::OnceLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

/// What a missing key renders as: a marker the page-walking test looks for.
pub const MISSING_OPEN: &str = "⟦";

/// A language the portal speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    /// English.
    En,
    /// Russian.
    Ru,
    /// Chinese (simplified).
    Zh,
}

impl Lang {
    /// Every language, in the order of the switch.
    pub const ALL: [Self; 3] = [Self::En, Self::Ru, Self::Zh];

    /// The BCP 47 tag (also the cookie value and the `lang` attribute).
    pub fn tag(&self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Ru => "ru",
            Self::Zh => "zh",
        }
    }

    /// The language's name in itself, for the switch.
    pub fn endonym(&self) -> &'static str {
        match self {
            Self::En => "English",
            Self::Ru => "Русский",
            Self::Zh => "中文",
        }
    }

    /// Parses a tag's primary language subtag (`ru-RU` is Russian).
    pub fn parse(tag: &str) -> Option<Self> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        Self::ALL.into_iter().find(|l| l.tag() == primary)
    }

    /// The best language for an `Accept-Language` header (RFC 9110 §12.5.4): the supported
    /// language with the highest `q`, ties to the earliest listed; English if none.
    pub fn negotiate(accept_language: Option<&str>) -> Self {
        let Some(header) = accept_language else {
            return Self::En;
        };
        let mut best: Option<(f32, Self)> = None;
        for item in header.split(',') {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or_default();
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if let Some(lang) = Self::parse(tag)
                && q > 0.0
                && best.is_none_or(|(bq, _)| q > bq)
            {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l).unwrap_or(Self::En)
    }

    fn source(&self) -> &'static str {
        match self {
            Self::En => include_str!("../i18n/en/portal.ftl"),
            Self::Ru => include_str!("../i18n/ru/portal.ftl"),
            Self::Zh => include_str!("../i18n/zh/portal.ftl"),
        }
    }
}

struct Catalogue {
    bundles: HashMap<Lang, FluentBundle<FluentResource>>,
}

fn catalogue() -> &'static Catalogue {
    static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
    CATALOGUE.get_or_init(|| {
        let mut bundles = HashMap::new();
        for lang in Lang::ALL {
            // The catalogues are part of the binary and checked by the tests; a syntax error
            // in one is a build defect, not a runtime condition.
            let resource = FluentResource::try_new(lang.source().to_owned())
                .unwrap_or_else(|(_, errors)| panic!("i18n/{}: {errors:?}", lang.tag()));
            let langid = lang
                .tag()
                .parse()
                .expect("the three tags are valid language identifiers");
            let mut bundle = FluentBundle::new_concurrent(vec![langid]);
            // No bidi isolation marks: the three scripts are left-to-right and the marks
            // would show in CSV exports and titles.
            bundle.set_use_isolating(false);
            bundle
                .add_resource(resource)
                .expect("one resource per bundle, so no key is defined twice");
            bundles.insert(lang, bundle);
        }
        Catalogue { bundles }
    })
}

/// The message ids of a language's catalogue, for completeness tests.
pub fn keys(lang: Lang) -> Vec<String> {
    let resource = FluentResource::try_new(lang.source().to_owned())
        .unwrap_or_else(|(_, errors)| panic!("i18n/{}: {errors:?}", lang.tag()));
    resource
        .entries()
        .filter_map(|e| match e {
            fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_owned()),
            _ => None,
        })
        .collect()
}

/// Translates for one language; templates call it as `t.t("key")`.
#[derive(Debug, Clone, Copy)]
pub struct Tr {
    /// The language.
    pub lang: Lang,
}

impl Tr {
    /// A translator for `lang`.
    pub fn new(lang: Lang) -> Self {
        Self { lang }
    }

    fn format(&self, key: &str, args: Option<&FluentArgs<'_>>) -> String {
        let bundle = &catalogue().bundles[&self.lang];
        let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) else {
            tracing::warn!(key, lang = self.lang.tag(), "portal string missing");
            return format!("{MISSING_OPEN}{key}⟧");
        };
        let mut errors = Vec::new();
        let text = bundle.format_pattern(pattern, args, &mut errors);
        if !errors.is_empty() {
            tracing::warn!(
                key,
                lang = self.lang.tag(),
                ?errors,
                "portal string malformed"
            );
            return format!("{MISSING_OPEN}{key}⟧");
        }
        text.into_owned()
    }

    /// Whether the catalogue has `key`.
    pub fn has(&self, key: &str) -> bool {
        catalogue().bundles[&self.lang].has_message(key)
    }

    /// The message `key`.
    pub fn t(&self, key: &str) -> String {
        self.format(key, None)
    }

    /// The message `key` with one argument.
    pub fn t1(&self, key: &str, name: &str, value: &str) -> String {
        let mut args = FluentArgs::new();
        args.set(name.to_owned(), FluentValue::from(value.to_owned()));
        self.format(key, Some(&args))
    }

    /// The message `key-<word>`, for a stable word such as a status or a sector.
    pub fn word(&self, prefix: &str, word: &str) -> String {
        self.t(&format!("{prefix}-{word}"))
    }

    /// The localised name of a state, from its two-letter code.
    pub fn state(&self, code: &str) -> String {
        self.t(&format!("state-{code}"))
    }

    /// A whole number with the language's digit grouping.
    pub fn number(&self, n: i64) -> String {
        let digits = n.unsigned_abs().to_string();
        let sep = match self.lang {
            // Russian groups with a no-break space (GOST 8.417 usage), the others with commas.
            Lang::Ru => '\u{a0}',
            Lang::En | Lang::Zh => ',',
        };
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(sep);
            }
            out.push(c);
        }
        if n < 0 { format!("-{out}") } else { out }
    }

    /// A date (UTC) in the language's usual form.
    pub fn date(&self, unix: i64) -> String {
        let (y, m, d) = civil_from_days(unix.div_euclid(86_400));
        match self.lang {
            Lang::En => format!("{d} {} {y}", self.t(&format!("month-{m}"))),
            Lang::Ru => format!("{d:02}.{m:02}.{y}"),
            Lang::Zh => format!("{y}年{m}月{d}日"),
        }
    }

    /// A date and time (UTC) in the language's usual form.
    pub fn datetime(&self, unix: i64) -> String {
        let secs = unix.rem_euclid(86_400);
        format!(
            "{} {:02}:{:02} UTC",
            self.date(unix),
            secs / 3600,
            (secs / 60) % 60
        )
    }
}

/// Year, month, day of a count of days since 1970-01-01 (the proleptic Gregorian calendar;
/// H. Hinnant, "chrono-Compatible Low-Level Date Algorithms", `civil_from_days`).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_highest_supported_q() {
        for (header, want) in [
            (None, Lang::En),
            (Some("ru-RU,ru;q=0.9,en;q=0.5"), Lang::Ru),
            (Some("fr-FR, zh-CN;q=0.8, en;q=0.7"), Lang::Zh),
            (Some("de, fr"), Lang::En),
            (Some("en;q=0.1, ru;q=0"), Lang::En),
            (Some("zh-Hans-CN"), Lang::Zh),
        ] {
            assert_eq!(Lang::negotiate(header), want, "{header:?}");
        }
    }

    #[test]
    fn numbers_and_dates_are_localised() {
        let (en, ru, zh) = (Tr::new(Lang::En), Tr::new(Lang::Ru), Tr::new(Lang::Zh));
        assert_eq!(en.number(100_000), "100,000");
        assert_eq!(ru.number(1_234_567), "1\u{a0}234\u{a0}567");
        assert_eq!(zh.number(-999), "-999");
        // 2026-11-26 is day 20783 since the epoch.
        let t = 20_783 * 86_400 + 3_600 * 11 + 60 * 52;
        assert_eq!(en.date(t), "26 Nov 2026");
        assert_eq!(ru.date(t), "26.11.2026");
        assert_eq!(zh.datetime(t), "2026年11月26日 11:52 UTC");
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn every_catalogue_has_the_same_keys() {
        let en = keys(Lang::En);
        assert!(en.len() > 50, "the English catalogue looks truncated");
        for lang in [Lang::Ru, Lang::Zh] {
            let other = keys(lang);
            let missing: Vec<_> = en.iter().filter(|k| !other.contains(k)).collect();
            let extra: Vec<_> = other.iter().filter(|k| !en.contains(k)).collect();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "{}: missing {missing:?}, extra {extra:?}",
                lang.tag()
            );
        }
    }

    #[test]
    fn a_missing_key_is_marked() {
        assert_eq!(Tr::new(Lang::Ru).t("no-such-key"), "⟦no-such-key⟧");
    }
}
