//! Where a counter's readings come from, as the show file says: plain settings, which
//! `counts::feed` runs.

use std::path::PathBuf;
use std::time::Duration;

/// Polls a URL for JSON and reads one number out of it.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpSource {
    /// The counter id this feeds.
    pub counter: String,
    /// `http://` or `https://`.
    pub url: String,
    /// RFC 6901 JSON pointer, e.g. "/cases/yorm-bopha/letters"; "" is the whole document.
    pub pointer: String,
    pub interval: Duration,
    /// For one whole reading, redirects and body included.
    pub timeout: Duration,
    /// An optional request header whose VALUE is read from an environment variable at start
    /// (e.g. an API token); the value is never logged nor put in an event.
    pub header: Option<Header>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub name: String,
    pub env: String,
}

/// A local file (JSON or CSV) the campaign exports, read again whenever it changes.
#[derive(Debug, Clone, PartialEq)]
pub struct FileSource {
    pub counter: String,
    pub path: PathBuf,
    /// JSON pointer for .json files (None: the whole document). Unused for .csv files, where
    /// the row whose first column equals `counter` holds the value in its second column.
    pub pointer: Option<String>,
}
