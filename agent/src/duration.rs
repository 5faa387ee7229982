//! Durations as people write them in configuration and requests: `90s`,
//! `10m`, `1h30m`, or a plain number of seconds.

use std::time::Duration;

/// Parse `"90s"`, `"10m"`, `"1h"`, `"1h30m"` or a plain number of seconds;
/// the error says what is wrong with `text`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty duration".into());
    }
    if let Ok(s) = t.parse::<u64>() {
        return Ok(Duration::from_secs(s));
    }
    let mut total = 0u64;
    let mut num = String::new();
    for c in t.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => return Err(format!("`{text}`: unknown unit `{c}` (use s, m or h)")),
        };
        let n: u64 = num
            .parse()
            .map_err(|_| format!("`{text}`: a number must come before `{c}`"))?;
        total = total.saturating_add(n.saturating_mul(unit));
        num.clear();
    }
    if !num.is_empty() {
        return Err(format!("`{text}`: the last number has no unit"));
    }
    Ok(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_or_say_why() {
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("300").unwrap(), Duration::from_secs(300));
        assert!(parse_duration("10d").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("10m5").unwrap_err().contains("no unit"));
        assert!(
            parse_duration("m")
                .unwrap_err()
                .contains("number must come")
        );
    }
}
