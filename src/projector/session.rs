//! One PJLink connection: connect, read the greeting, answer its password challenge, then
//! commands one at a time, each reply read within a deadline and never longer than the
//! spec's line. Everything that goes wrong is a [`Failure`] whose text says what to do.

use super::protocol::{self, Greeting, MAX_LINE, Refusal};
use std::fmt;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// Lines that are not the reply awaited (notifications some projectors send unasked) skipped
/// before the projector is taken to be talking nonsense.
const MOST_SKIPPED: usize = 4;
/// How much of a garbage line is quoted in a message.
const QUOTED: usize = 40;

/// How long each step may take.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub connect: Duration,
    /// For the greeting and for each reply. Projectors take up to 2 s.
    pub answer: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            connect: Duration::from_secs(3),
            answer: Duration::from_secs(4),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    Connect(String),
    /// Connected, but no greeting or reply in time.
    Silent(&'static str),
    /// It closed the connection.
    Closed,
    /// Not PJLink.
    Garbage(String),
    /// It asks for a password and the show gives none, or it could not be read.
    NoPassword(String),
    /// ERRA: the password is wrong.
    Auth,
}

impl Failure {
    /// A connection closed by the projector after a command: some models do after each one.
    pub fn closed(&self) -> bool {
        *self == Failure::Closed
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Connect(e) => write!(
                f,
                "cannot connect: {e}; check that it is on, cabled, and its address and port; a projector in power-saving standby may be off the network, so set its standby mode to keep the network on"
            ),
            Failure::Silent(what) => write!(
                f,
                "accepted the connection but sent no {what} in time; check that the port is its PJLink port (4352) and that PJLink is enabled in its network menu"
            ),
            Failure::Closed => write!(f, "closed the connection before answering"),
            Failure::Garbage(line) => write!(
                f,
                "answered {line:?}, which is not PJLink; check that the port is its PJLink port (4352)"
            ),
            Failure::NoPassword(why) => write!(f, "{why}"),
            Failure::Auth => write!(
                f,
                "refused the password (PJLINK ERRA); put the password set in the projector's network menu in password_env or password_file"
            ),
        }
    }
}

pub struct Session {
    stream: BufReader<TcpStream>,
    /// The hash for the first command, while it has not been sent.
    auth: Option<String>,
    timeouts: Timeouts,
}

fn quoted(line: &str) -> String {
    line.chars().take(QUOTED).collect()
}

impl Session {
    /// Connects and answers the greeting. `password` is what the show gives (None: no
    /// password; Err: why it could not be read).
    pub async fn open(
        host: &str,
        port: u16,
        password: &Result<Option<String>, String>,
        timeouts: Timeouts,
    ) -> Result<Session, Failure> {
        let stream = match timeout(timeouts.connect, TcpStream::connect((host, port))).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Err(Failure::Connect(e.to_string())),
            Err(_) => return Err(Failure::Connect("no answer in time".into())),
        };
        let _ = stream.set_nodelay(true);
        let mut session = Session {
            stream: BufReader::new(stream),
            auth: None,
            timeouts,
        };
        let line = session.line("greeting").await?;
        session.auth = match protocol::greeting(&line) {
            Some(Greeting::Open) => None,
            Some(Greeting::Auth(random)) => match password {
                Ok(Some(p)) => Some(protocol::auth_hash(&random, p)),
                Ok(None) => {
                    return Err(Failure::NoPassword(
                        "asks for a PJLink password and the show gives none; add password_env or password_file to the projector in the show file".into(),
                    ));
                }
                Err(why) => return Err(Failure::NoPassword(why.clone())),
            },
            // A wrong password may be said at once, before any command.
            None if protocol::reply(&line).is_some_and(|r| r.value == Err(Refusal::Auth)) => {
                return Err(Failure::Auth);
            }
            None => return Err(Failure::Garbage(quoted(&line))),
        };
        Ok(session)
    }

    /// Sends `%1<command> <param>` and reads its reply: the value, or what the projector
    /// refused with (ERRA is a [`Failure`]).
    pub async fn ask(
        &mut self,
        command: &str,
        param: &str,
    ) -> Result<Result<String, Refusal>, Failure> {
        let line = protocol::command(self.auth.take().as_deref(), command, param);
        let sent = self.stream.get_mut().write_all(line.as_bytes()).await;
        if sent.is_err() {
            return Err(Failure::Closed);
        }
        for _ in 0..=MOST_SKIPPED {
            let line = self.line("reply").await?;
            match protocol::reply(&line) {
                Some(r) if r.value == Err(Refusal::Auth) => return Err(Failure::Auth),
                Some(r) if r.command == command => return Ok(r.value),
                // A notification, or an answer to something else: not this one's.
                Some(_) => {}
                None => return Err(Failure::Garbage(quoted(&line))),
            }
        }
        Err(Failure::Garbage(format!(
            "{MOST_SKIPPED} lines that were not the answer to {command}"
        )))
    }

    /// One line, without its `\r`; empty lines (a `\n` after the `\r`) are skipped. Longer
    /// than the spec allows is garbage, and no more of it is read.
    async fn line(&mut self, what: &'static str) -> Result<String, Failure> {
        let mut line = Vec::with_capacity(MAX_LINE);
        let read = async {
            loop {
                let byte = self.stream.read_u8().await.map_err(|_| Failure::Closed)?;
                match byte {
                    b'\r' | b'\n' if line.is_empty() => {}
                    b'\r' | b'\n' => return Ok(()),
                    _ if line.len() + 1 >= MAX_LINE => {
                        return Err(Failure::Garbage(format!(
                            "a line longer than PJLink's {MAX_LINE} bytes, starting {:?}",
                            quoted(&String::from_utf8_lossy(&line))
                        )));
                    }
                    _ => line.push(byte),
                }
            }
        };
        match timeout(self.timeouts.answer, read).await {
            Ok(Ok(())) => Ok(String::from_utf8_lossy(&line).into_owned()),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(Failure::Silent(what)),
        }
    }
}
