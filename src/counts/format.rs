//! Locale-aware number formatting, backed by ICU4X's CLDR data compiled into the binary
//! (so "700 000" in French uses the narrow no-break space CLDR prescribes, and Hindi groups
//! by lakh), never hand-written grouping rules.

use icu_decimal::DecimalFormatter;
use icu_decimal::input::Decimal;
use icu_locale_core::Locale;

pub struct NumberFormat {
    formatter: DecimalFormatter,
}

impl std::fmt::Debug for NumberFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NumberFormat")
    }
}

impl NumberFormat {
    /// A formatter for a BCP 47 locale tag such as "fr-FR".
    pub fn new(locale: &str) -> Result<NumberFormat, String> {
        let locale: Locale = locale
            .parse()
            .map_err(|e| format!("{locale:?} is not a BCP 47 locale tag: {e}"))?;
        let formatter = DecimalFormatter::try_new((&locale).into(), Default::default())
            .map_err(|e| format!("no number format for {locale}: {e}"))?;
        Ok(NumberFormat { formatter })
    }

    /// The formatter for a show's locale, or en-GB's when the locale is unknown (which
    /// `check` reports), so a typo in the locale never stops the show.
    pub fn lenient(locale: &str) -> NumberFormat {
        NumberFormat::new(locale)
            .or_else(|_| NumberFormat::new("en-GB"))
            .expect("en-GB is in the compiled-in data")
    }

    pub fn format(&self, n: u64) -> String {
        self.formatter.format(&Decimal::from(n)).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(locale: &str, n: u64) -> String {
        NumberFormat::new(locale).unwrap().format(n)
    }

    #[test]
    fn groups_digits_per_locale() {
        // CLDR's French group separator is U+202F NARROW NO-BREAK SPACE.
        assert_eq!(fmt("fr-FR", 700_000), "700\u{202f}000");
        assert_eq!(fmt("en-GB", 700_000), "700,000");
        assert_eq!(fmt("de-DE", 700_000), "700.000");
        assert_eq!(fmt("hi-IN", 70_000_000), "7,00,00,000");
        assert_eq!(fmt("en-GB", 89_734), "89,734");
        assert_eq!(fmt("en-GB", 999), "999");
    }

    #[test]
    fn rejects_malformed_tags() {
        assert!(NumberFormat::new("not a locale!").is_err());
        assert!(NumberFormat::new("").is_err());
    }
}
