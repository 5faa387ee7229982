//! Small text helpers shared by everything that quotes evidence to a person or a
//! model.

/// `text` on one line (runs of white space folded to one space), at most `max`
/// characters, with `…` where it was cut.
pub fn clip(text: &str, max: usize) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= max {
        return one_line;
    }
    let mut out: String = one_line.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Bytes as lower-case hex (digests, signatures).
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// A share in 0..1 as a percentage with two decimals: `0.0043` → `0.43%`.
pub fn pct(x: f64) -> String {
    format!("{:.2}%", x * 100.0)
}

/// An error with its whole cause chain, `outer: inner: root`. tera says only
/// "failed to render" and reqwest "error sending request" at the top; what
/// went wrong ("connection refused", the template line) is below.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::clip;

    #[test]
    fn clips_on_characters_and_folds_lines() {
        assert_eq!(clip("a\n  b\tc", 10), "a b c");
        assert_eq!(clip("héllo wörld", 5), "héll…");
        assert_eq!(clip("", 3), "");
        assert_eq!(clip("abc", 0), "…");
        assert_eq!(super::pct(0.0043), "0.43%");
    }
}
