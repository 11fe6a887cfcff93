//! A problem found in a show, located by file, line and column, with what to do about it.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    /// 1-based line and column, when the problem has a place in the file.
    pub at: Option<(usize, usize)>,
    pub message: String,
    /// What the user can do about it.
    pub hint: Option<String>,
}

impl Problem {
    pub fn new(file: &Path, at: Option<(usize, usize)>, message: impl Into<String>) -> Self {
        Problem {
            file: file.to_path_buf(),
            at,
            // Some library messages end in a newline; a problem is one line.
            message: message.into().trim().to_string(),
            hint: None,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some((line, col)) = self.at {
            write!(f, ":{line}:{col}")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n    hint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problem {}

/// Turns byte spans into 1-based line and column (columns count characters, as editors do).
pub struct Locator<'a> {
    source: &'a str,
}

impl<'a> Locator<'a> {
    pub fn new(source: &'a str) -> Self {
        Locator { source }
    }

    pub fn line_col(&self, span: Range<usize>) -> (usize, usize) {
        let offset = span.start.min(self.source.len());
        let before = &self.source[..floor_char_boundary(self.source, offset)];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = before[line_start..].chars().count() + 1;
        (line, col)
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters() {
        let src = "a = 1\nname = \"Míriam\"\nx = 2";
        let loc = Locator::new(src);
        assert_eq!(loc.line_col(0..1), (1, 1));
        let x = src.find("x =").unwrap();
        assert_eq!(loc.line_col(x..x + 1), (3, 1));
        let q = src.find('"').unwrap();
        assert_eq!(loc.line_col(q..q + 1), (2, 8));
    }
}
