//! Reading one count out of a JSON document or a CSV file, each fault named.

use super::*;

/// Parses one reading: the number at `pointer` (RFC 6901; "" is the whole document) in a
/// JSON document. Only a whole number from 0 to 2^53 is a count.
pub fn read_json(body: &[u8], pointer: &str) -> Result<u64, (FaultKind, String)> {
    // Windows tools write a byte order mark that JSON does not allow.
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let doc: Json = serde_json::from_slice(body).map_err(|e| not_json(body, &e))?;
    let value = lookup(&doc, pointer)?;
    count_from_json(value, pointer)
}

/// Never quotes the body: an error page may echo the request, credentials included.
pub(super) fn not_json(body: &[u8], e: &serde_json::Error) -> (FaultKind, String) {
    let start = body.iter().position(|b| !b.is_ascii_whitespace());
    let detail = match start.map(|i| body[i]) {
        None => "empty, not JSON".to_owned(),
        Some(b'<') => "HTML or XML, not JSON (an error page?)".to_owned(),
        Some(_) if e.is_eof() => {
            format!("the JSON document is cut short (still being written?): {e}")
        }
        Some(_) => format!("not JSON: {e}"),
    };
    (FaultKind::NotJson, detail)
}

/// `doc`'s value at `pointer` (serde_json's RFC 6901 lookup); when there is none, the walk
/// below finds where it stops, to say so.
pub(super) fn lookup<'a>(doc: &'a Json, pointer: &str) -> Result<&'a Json, (FaultKind, String)> {
    if let Some(value) = doc.pointer(pointer) {
        return Ok(value);
    }
    if !pointer.starts_with('/') {
        return Err((
            FaultKind::MissingValue,
            format!("JSON pointer {pointer:?} must be empty or start with \"/\""),
        ));
    }
    let mut cur = doc;
    let mut at = String::new();
    for raw in pointer.split('/').skip(1) {
        // RFC 6901: "~1" first, so that "~01" becomes "~1" and not "/".
        let key = raw.replace("~1", "/").replace("~0", "~");
        let place = if at.is_empty() { "the document" } else { &at };
        let next = match cur {
            Json::Object(map) => map
                .get(&key)
                .ok_or_else(|| format!("no {key:?} in {place}")),
            Json::Array(items) => array_index(&key).and_then(|i| items.get(i)).ok_or_else(|| {
                format!(
                    "no item {key:?} in the list at {place} ({} items)",
                    items.len()
                )
            }),
            other => Err(format!(
                "{place} is {}, nothing to look {key:?} up in",
                json_kind(other)
            )),
        };
        cur = next.map_err(|d| (FaultKind::MissingValue, format!("{d} (pointer {pointer})")))?;
        at.push('/');
        at.push_str(raw);
    }
    Ok(cur)
}

/// RFC 6901 array indices: digits, no leading zero.
pub(super) fn array_index(token: &str) -> Option<usize> {
    if token.is_empty()
        || !token.bytes().all(|b| b.is_ascii_digit())
        || (token.len() > 1 && token.starts_with('0'))
    {
        return None;
    }
    token.parse().ok()
}

pub(super) fn json_kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "true or false",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "an object",
    }
}

pub(super) fn count_from_json(v: &Json, pointer: &str) -> Result<u64, (FaultKind, String)> {
    let at = if pointer.is_empty() {
        "the document"
    } else {
        pointer
    };
    match v {
        Json::Number(n) => {
            if let Some(u) = n.as_u64() {
                check_max(u, &n.to_string())
            } else if n.as_i64().is_some() {
                Err(negative(&n.to_string()))
            } else {
                count_from_f64(n.as_f64().unwrap_or(f64::NAN), &n.to_string())
            }
        }
        Json::String(s) => Err((
            FaultKind::NotACount,
            format!("{at} is a string ({}), not a number", quote_short(s)),
        )),
        other => Err((
            FaultKind::NotACount,
            format!("{at} is {}, not a number", json_kind(other)),
        )),
    }
}

pub(super) fn check_max(u: u64, text: &str) -> Result<u64, (FaultKind, String)> {
    if u > MAX_COUNT {
        Err((
            FaultKind::NotACount,
            format!("{text} is larger than 2^53 ({MAX_COUNT}), too large to be exact"),
        ))
    } else {
        Ok(u)
    }
}

pub(super) fn negative(text: &str) -> (FaultKind, String) {
    (
        FaultKind::NotACount,
        format!("{text} is negative; a count is 0 or more"),
    )
}

/// Accepts 89734.0 and 8.9734e4: some exporters write every number as a float.
pub(super) fn count_from_f64(x: f64, text: &str) -> Result<u64, (FaultKind, String)> {
    if !x.is_finite() {
        Err((
            FaultKind::NotACount,
            format!("{text} is not a finite number"),
        ))
    } else if x < 0.0 {
        Err(negative(text))
    } else if x.fract() != 0.0 {
        Err((
            FaultKind::NotACount,
            format!("{text} is a fraction, not a whole count"),
        ))
    } else if x > MAX_COUNT as f64 {
        Err((
            FaultKind::NotACount,
            format!("{text} is larger than 2^53 ({MAX_COUNT}), too large to be exact"),
        ))
    } else {
        // Whole and within 0..=2^53, so exact.
        Ok(x as u64)
    }
}

pub(super) fn quote_short(s: &str) -> String {
    const MAX: usize = 40;
    if s.chars().count() <= MAX {
        format!("{s:?}")
    } else {
        let head: String = s.chars().take(MAX).collect();
        format!("{head:?}…")
    }
}

/// Parses one reading from CSV: the second column of the row whose first column is
/// `counter`. Rows whose value is not a count (a header row) are passed over while another
/// row for the counter has one. Commas, semicolons or tabs separate columns (whichever the
/// first line uses most), and fields may be quoted.
pub fn read_csv(body: &str, counter: &str) -> Result<u64, (FaultKind, String)> {
    let body = body.strip_prefix('\u{feff}').unwrap_or(body);
    let delimiter = guess_delimiter(body);
    let counter = counter.trim();
    let mut first_bad = None;
    for record in reader(body, delimiter).records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                first_bad.get_or_insert((FaultKind::NotACount, format!("not CSV: {e}")));
                continue;
            }
        };
        if record.get(0) != Some(counter) {
            continue;
        }
        let line = record.position().map_or(0, |p| p.line());
        let reading = match record.get(1) {
            Some(v) => count_from_text(v).map_err(|(k, d)| (k, format!("line {line}: {d}"))),
            None => Err((
                FaultKind::MissingValue,
                format!("line {line}: the row for {counter:?} has no second column"),
            )),
        };
        match reading {
            Ok(v) => return Ok(v),
            Err(e) => {
                first_bad.get_or_insert(e);
            }
        }
    }
    Err(first_bad.unwrap_or_else(|| {
        (
            FaultKind::MissingValue,
            format!("no row whose first column is {counter:?}"),
        )
    }))
}

/// CSV as spreadsheets export it: no header, rows of any length, fields trimmed.
pub(super) fn reader(body: &str, delimiter: u8) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .delimiter(delimiter)
        .from_reader(body.as_bytes())
}

/// The delimiter that splits the first non-empty line into the most fields (comma on a tie):
/// French spreadsheets write semicolons.
pub(super) fn guess_delimiter(body: &str) -> u8 {
    let first = body.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let count = |d: u8| {
        reader(first, d)
            .records()
            .next()
            .and_then(Result::ok)
            .map_or(0, |r| r.len())
    };
    [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|&d| (count(d), d == b','))
        .unwrap_or(b',')
}

pub(super) fn count_from_text(text: &str) -> Result<u64, (FaultKind, String)> {
    let t = text.trim();
    if t.is_empty() {
        return Err((FaultKind::NotACount, "the value is empty".into()));
    }
    if t.bytes().all(|b| b.is_ascii_digit()) {
        return match t.parse::<u64>() {
            Ok(u) => check_max(u, t),
            Err(_) => Err((
                FaultKind::NotACount,
                format!("{t} is larger than 2^53 ({MAX_COUNT}), too large to be exact"),
            )),
        };
    }
    let lower = t.to_ascii_lowercase();
    // Rust would read these as floats; to a person they are words.
    let word = lower.trim_start_matches(['+', '-']);
    if word.starts_with("inf") || word.starts_with("nan") {
        return Err((
            FaultKind::NotACount,
            format!("{} is not a number", quote_short(t)),
        ));
    }
    match t.parse::<f64>() {
        Ok(x) => count_from_f64(x, t),
        Err(_) => Err((
            FaultKind::NotACount,
            format!("{} is not a number", quote_short(t)),
        )),
    }
}
