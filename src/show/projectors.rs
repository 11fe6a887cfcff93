//! The projectors candela controls over PJLink (`[[outputs.projectors]]`, or `[[projectors]]`
//! for a show with one output) and `[pjlink]`, what a blackout does to them. Plain settings:
//! `projector` speaks the protocol, `control::projectors` decides what they should do.

use super::builder::Builder;
use super::outputs::DEFAULT_OUTPUT;
use serde::Deserialize;
use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;
use toml::Spanned;

/// PJLink's TCP port.
pub const PJLINK_PORT: u16 = 4352;

/// One projector as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectorFile {
    pub host: Spanned<String>,
    pub port: Option<Spanned<i64>>,
    /// The environment variable holding the PJLink password.
    pub password_env: Option<Spanned<String>>,
    /// A file beside the show holding the password, so it is never in the show itself.
    pub password_file: Option<Spanned<String>>,
}

/// `[pjlink]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PjlinkFile {
    /// "shutter" (default), "power" or "pixels".
    pub blackout: Option<Spanned<String>>,
    /// Seconds the lamps take to warm up: the schedule powers them on this long ahead.
    pub warm_up: Option<Spanned<f64>>,
    /// Seconds between status polls (default 5).
    pub poll: Option<Spanned<f64>>,
}

/// Where a projector's password comes from; read when the show starts, never kept in the
/// show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Password {
    None,
    Env(String),
    File(PathBuf),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Projector {
    /// The output whose picture it shows.
    pub output: String,
    pub host: String,
    pub port: u16,
    pub password: Password,
    /// Where its host is written.
    pub at: (usize, usize),
}

impl Projector {
    /// Reads its password from where the show says; the error says what to do.
    pub fn read_password(&self) -> Result<Option<String>, String> {
        match &self.password {
            Password::None => Ok(None),
            Password::Env(var) => std::env::var(var).map(Some).map_err(|_| {
                format!("environment variable {var} is not set: set it to the projector's PJLink password")
            }),
            Password::File(path) => std::fs::read_to_string(path)
                .map(|s| Some(s.trim_end_matches(['\r', '\n']).to_string()))
                .map_err(|e| {
                    format!(
                        "cannot read the password file {}: {e}; put the projector's PJLink password in it",
                        path.display()
                    )
                }),
        }
    }
}

/// What a blackout does beyond black pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BlackoutMode {
    /// Closes the shutter (`AVMT 31`) once the picture is black.
    #[default]
    Shutter,
    /// Powers the projectors off (and closes the shutter while they cool down).
    Power,
    /// Black pixels only: the projectors are left alone.
    Pixels,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PjlinkSettings {
    pub blackout: BlackoutMode,
    pub warm_up: Duration,
    pub poll: Duration,
}

impl Default for PjlinkSettings {
    fn default() -> PjlinkSettings {
        PjlinkSettings {
            blackout: BlackoutMode::Shutter,
            warm_up: Duration::from_secs(60),
            poll: Duration::from_secs(5),
        }
    }
}

/// A host name or address: letters, digits, '.', '-' and ':' (IPv6), nothing else.
fn valid_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'))
}

impl Builder<'_> {
    /// The projectors of each output named in `outputs`, then the top-level ones (for `main`
    /// only when the show has no `[[outputs]]`).
    pub(super) fn projectors(
        &mut self,
        per_output: Vec<(String, Vec<ProjectorFile>)>,
        top: Vec<ProjectorFile>,
        outputs: &[String],
    ) -> Vec<Projector> {
        let mut seen = HashSet::new();
        let mut projectors = Vec::new();
        let has_outputs = !per_output.is_empty();
        for p in &top {
            if has_outputs {
                self.problem(
                    &p.host,
                    format!(
                        "[[projectors]] with [[outputs]]: which output does {:?} show?",
                        p.host.get_ref()
                    ),
                    "move it into its output, as [[outputs.projectors]] after that output's name",
                );
            }
        }
        let top = if has_outputs {
            Vec::new()
        } else {
            vec![(DEFAULT_OUTPUT.to_string(), top)]
        };
        for (output, list) in per_output.into_iter().chain(top) {
            // An output refused for its name was reported already.
            let known = outputs.contains(&output);
            for p in list {
                if let Some(p) = self.projector(&output, p, &mut seen)
                    && known
                {
                    projectors.push(p);
                }
            }
        }
        projectors
    }

    fn projector(
        &mut self,
        output: &str,
        p: ProjectorFile,
        seen: &mut HashSet<(String, u16)>,
    ) -> Option<Projector> {
        let host = p.host.get_ref().trim().to_string();
        let mut ok = true;
        if !valid_host(&host) {
            self.problem(
                &p.host,
                format!(
                    "projector host {:?} is not a host name or address",
                    p.host.get_ref()
                ),
                "write the projector's address, e.g. \"192.168.1.20\", or its name",
            );
            ok = false;
        }
        let port = match &p.port {
            None => PJLINK_PORT,
            Some(v) => match u16::try_from(*v.get_ref()) {
                Ok(port) if port > 0 => port,
                _ => {
                    self.problem(
                        v,
                        format!("projector port {} is not a TCP port", v.get_ref()),
                        "leave it out for PJLink's 4352, or give 1 to 65535",
                    );
                    ok = false;
                    PJLINK_PORT
                }
            },
        };
        let password = match (&p.password_env, &p.password_file) {
            (Some(env), Some(_)) => {
                self.problem(
                    env,
                    "a projector has both password_env and password_file".to_string(),
                    "keep one of them",
                );
                ok = false;
                Password::None
            }
            (Some(env), None) => {
                let var = env.get_ref().trim();
                if var.is_empty() || var.contains(['=', '\0']) {
                    self.problem(
                        env,
                        format!("{:?} is not an environment variable's name", env.get_ref()),
                        "write a name such as \"CANDELA_PJLINK_PASSWORD\"",
                    );
                    ok = false;
                }
                Password::Env(var.to_string())
            }
            (None, Some(file)) => {
                let path = self.resolve(file).value;
                if !path.is_file() {
                    self.problem(
                        file,
                        format!("password file {} not found", path.display()),
                        "create it beside the show with the projector's PJLink password, or fix the path",
                    );
                    ok = false;
                }
                Password::File(path)
            }
            (None, None) => Password::None,
        };
        if ok && !seen.insert((host.to_ascii_lowercase(), port)) {
            self.problem(
                &p.host,
                format!("projector {host}:{port} is listed twice"),
                "list each projector once, under the output it shows",
            );
            ok = false;
        }
        ok.then(|| Projector {
            output: output.to_string(),
            host,
            port,
            password,
            at: self.at(&p.host),
        })
    }

    pub(super) fn pjlink(&mut self, raw: Option<PjlinkFile>) -> PjlinkSettings {
        let raw = raw.unwrap_or_default();
        let mut settings = PjlinkSettings::default();
        if let Some(b) = &raw.blackout {
            settings.blackout = match b.get_ref().trim().to_ascii_lowercase().as_str() {
                "shutter" => BlackoutMode::Shutter,
                "power" => BlackoutMode::Power,
                "pixels" => BlackoutMode::Pixels,
                _ => {
                    self.problem(
                        b,
                        format!("pjlink blackout {:?} is not a way to black out", b.get_ref()),
                        "write \"shutter\" (close it), \"power\" (lamps off) or \"pixels\" (black pixels only)",
                    );
                    BlackoutMode::Shutter
                }
            };
        }
        let secs = |s: f64| Duration::try_from_secs_f64(s).unwrap_or_default();
        if let Some(w) = self.seconds(raw.warm_up, "pjlink warm_up", true) {
            settings.warm_up = secs(w);
        }
        if let Some(poll) = raw.poll {
            match self.seconds(Some(poll.clone()), "pjlink poll", false) {
                // Projectors answer slowly and some refuse to be asked often.
                Some(s) if s < 1.0 => self.problem(
                    &poll,
                    format!("pjlink poll every {s} seconds is too often for a projector"),
                    "poll every 1 second or more; 5 is usual",
                ),
                Some(s) => settings.poll = secs(s),
                None => {}
            }
        }
        settings
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::show::Show;
    use std::path::Path;

    const SLIDE: &str = "[[slides]]\nid = \"a\"\nkind = \"title\"\ntitle = \"A\"\n";

    fn parse(src: &str) -> (Show, Vec<crate::show::Problem>) {
        Show::parse(Path::new("/shows/s.toml"), &format!("{SLIDE}{src}")).unwrap()
    }

    #[test]
    fn projectors_belong_to_their_output_with_defaults() {
        let (show, problems) = parse(
            "[[outputs]]\nname = \"left\"\n[[outputs.projectors]]\nhost = \"192.0.2.20\"\n\
             password_env = \"PJ_PASS\"\n[[outputs.projectors]]\nhost = \"pj-2\"\nport = 4353\n\
             [[outputs]]\nname = \"right\"\n",
        );
        assert!(problems.is_empty(), "{problems:?}");
        let got: Vec<_> = show
            .projectors
            .iter()
            .map(|p| {
                (
                    p.output.as_str(),
                    p.host.as_str(),
                    p.port,
                    p.password.clone(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("left", "192.0.2.20", 4352, Password::Env("PJ_PASS".into())),
                ("left", "pj-2", 4353, Password::None),
            ]
        );
        assert_eq!(show.projectors[0].at, (8, 8));
        assert_eq!(show.pjlink, PjlinkSettings::default());
    }

    #[test]
    fn top_level_projectors_are_mains_and_refused_beside_outputs() {
        let (show, problems) = parse("[[projectors]]\nhost = \"10.0.0.5\"\n");
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(show.projectors[0].output, "main");
        let (show, problems) =
            parse("[[outputs]]\nname = \"left\"\n[[projectors]]\nhost = \"10.0.0.5\"\n");
        assert!(show.projectors.is_empty());
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].at, Some((8, 8)));
        assert!(
            problems[0]
                .hint
                .as_deref()
                .unwrap()
                .contains("[[outputs.projectors]]")
        );
    }

    #[test]
    fn bad_projectors_and_settings_name_their_line() {
        let (show, problems) = parse(
            "[[projectors]]\nhost = \"a b\"\n[[projectors]]\nhost = \"x\"\nport = 70000\n\
             [[projectors]]\nhost = \"y\"\npassword_env = \"A\"\npassword_file = \"p\"\n\
             [[projectors]]\nhost = \"z\"\npassword_file = \"missing.secret\"\n\
             [[projectors]]\nhost = \"w\"\n[[projectors]]\nhost = \"W\"\n\
             [pjlink]\nblackout = \"curtain\"\npoll = 0.1\nwarm_up = -1\n",
        );
        let lines: Vec<_> = problems.iter().map(|p| p.at.unwrap().0).collect();
        assert_eq!(lines, [6, 9, 12, 16, 20, 22, 24, 23], "{problems:#?}");
        assert!(
            problems[3].message.contains("/shows/missing.secret"),
            "{}",
            problems[3]
        );
        assert!(problems[4].message.contains("listed twice"));
        assert_eq!(show.projectors.len(), 1, "only w is good");
        assert_eq!(show.pjlink, PjlinkSettings::default());
    }

    #[test]
    fn pjlink_settings_are_read() {
        let (show, problems) = parse("[pjlink]\nblackout = \"Power\"\nwarm_up = 90\npoll = 3\n");
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            show.pjlink,
            PjlinkSettings {
                blackout: BlackoutMode::Power,
                warm_up: Duration::from_secs(90),
                poll: Duration::from_secs(3),
            }
        );
    }

    #[test]
    fn a_password_is_read_from_its_file_or_variable_or_said_missing() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pj.secret");
        std::fs::write(&file, "JBMIAProjectorLink\n").unwrap();
        let mut p = Projector {
            output: "main".into(),
            host: "h".into(),
            port: 4352,
            password: Password::File(file),
            at: (1, 1),
        };
        assert_eq!(
            p.read_password().unwrap().as_deref(),
            Some("JBMIAProjectorLink")
        );
        p.password = Password::Env("CANDELA_TEST_SURELY_UNSET_PJLINK".into());
        let err = p.read_password().unwrap_err();
        assert!(
            err.contains("CANDELA_TEST_SURELY_UNSET_PJLINK is not set"),
            "{err}"
        );
    }
}
