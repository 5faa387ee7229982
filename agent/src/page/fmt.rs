//! How numbers, times and links are written for people, on the page and in
//! Slack alike.

/// A metric value with as many digits as its size calls for: `1234`, `12.35`,
/// `0.0520`, `3.1e-5`.
pub fn number(x: f64) -> String {
    if !x.is_finite() {
        return "n/a".into();
    }
    let a = x.abs();
    if a == 0.0 {
        "0".into()
    } else if a >= 10_000.0 {
        format!("{x:.0}")
    } else if a >= 100.0 {
        format!("{x:.1}")
    } else if a >= 1.0 {
        format!("{x:.2}")
    } else if a >= 0.001 {
        format!("{x:.4}")
    } else {
        format!("{x:.1e}")
    }
}

/// An optional value, `n/a` when absent.
pub fn opt_number(x: Option<f64>) -> String {
    x.map_or_else(|| "n/a".into(), number)
}

/// A p-value: three decimals, or scientific below 0.001.
pub fn p_value(p: Option<f64>) -> String {
    match p {
        None => "n/a".into(),
        Some(p) if p < 0.001 => format!("{p:.1e}"),
        Some(p) => format!("{p:.3}"),
    }
}

/// Unix milliseconds as RFC 3339 UTC, to the second.
pub fn time(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|_| format!("{ms} ms"))
}

/// The verdict page of analysis `id` under `base` (e.g.
/// `https://rollwise.example.com`), the id percent-encoded.
pub fn analysis_url(base: &str, id: &str) -> String {
    format!(
        "{}/analyses/{}",
        base.trim_end_matches('/'),
        path_segment(id)
    )
}

/// `s` as one URL path segment: unreserved characters kept, the rest
/// percent-encoded (UTF-8).
pub fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A URL that may be put in a link: http(s) only, no white space or control
/// characters, and the characters that would end a Slack link (`<`, `>`, `|`)
/// or an HTML attribute (`"`, `'`) percent-encoded. `None` for anything else
/// (a `javascript:` URL in a record must not become a link).
pub fn safe_url(url: &str) -> Option<String> {
    let url = url.trim();
    let lower = url.to_ascii_lowercase();
    if !(lower.starts_with("https://") || lower.starts_with("http://")) {
        return None;
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let mut out = String::with_capacity(url.len());
    for c in url.chars() {
        match c {
            '<' => out.push_str("%3C"),
            '>' => out.push_str("%3E"),
            '|' => out.push_str("%7C"),
            '"' => out.push_str("%22"),
            '\'' => out.push_str("%27"),
            c => out.push(c),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_times_and_urls() {
        assert_eq!(number(0.052), "0.0520");
        assert_eq!(number(289.3), "289.3");
        assert_eq!(number(12345.6), "12346");
        assert_eq!(number(0.0), "0");
        assert_eq!(number(0.00003), "3.0e-5");
        assert_eq!(number(f64::NAN), "n/a");
        assert_eq!(p_value(Some(0.0123)), "0.012");
        assert_eq!(p_value(Some(0.00001)), "1.0e-5");
        assert_eq!(time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(
            analysis_url("https://r.example/", "a b/c"),
            "https://r.example/analyses/a%20b%2Fc"
        );
        assert_eq!(safe_url("javascript:alert(1)"), None);
        assert_eq!(safe_url("https://x.example/a b"), None);
        assert_eq!(
            safe_url("https://x.example/?q=<a|b>\"").as_deref(),
            Some("https://x.example/?q=%3Ca%7Cb%3E%22")
        );
    }
}
