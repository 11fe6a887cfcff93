//! The show's `[web]` table: who may view and cue the show from a phone.

use super::Builder;
use super::model::WebFile;

/// The shortest PIN: a million guesses, which the web remote's limit on wrong PINs keeps out
/// of reach in a night.
pub const MIN_PIN: usize = 6;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct WebSettings {
    /// The PIN that allows control; `CANDELA_PIN` overrides it, and with neither a random
    /// one is made at start.
    pub pin: Option<String>,
    /// When set, viewing needs this PIN (or the control PIN) too.
    pub view_pin: Option<String>,
    /// None: any address may connect.
    pub allow: Option<Vec<ipnet::IpNet>>,
}

impl Builder<'_> {
    pub(super) fn web(&mut self, web: Option<WebFile>) -> WebSettings {
        let Some(web) = web else {
            return WebSettings::default();
        };
        let mut pin = |p: Option<toml::Spanned<String>>, what: &str| {
            let p = p?;
            let text = p.get_ref().trim().to_string();
            if text.len() < MIN_PIN || !text.chars().all(|c| c.is_ascii_alphanumeric()) {
                self.problem(
                    &p,
                    format!("{what} {text:?} must be at least {MIN_PIN} letters or digits"),
                    "write e.g. pin = \"482913\"",
                );
                return None;
            }
            Some(text)
        };
        let control = pin(web.pin, "pin");
        let view = pin(web.view_pin, "view_pin");
        WebSettings {
            pin: control,
            view_pin: view,
            allow: web.allow.as_ref().map(|list| self.networks(list)),
        }
    }
}
