//! Masking of variable parts of a log message before template mining.
//!
//! One pass over the bytes, no regexes: the miner calls this for every line, so
//! it has to run at millions of lines per second. A message is split on ASCII
//! whitespace into tokens; inside a token, *runs* of word bytes (letters, digits,
//! `.`, `-`, `_`, `:`, `+`, `%`, `@`, `#`, non-ASCII) are separated by structural
//! bytes (`/`, `=`, brackets, quotes, `,`, `;`...). A run that carries a digit is a
//! value — number, hex, UUID, IPv4/IPv6 with port, timestamp, duration (`12ms`,
//! `1.5s`), version, generated id — and becomes `<*>`; so does an e-mail address.
//! Structural bytes and digit-free runs stay, which keeps keys and path shapes in
//! the template: `port=8080` → `port=<*>`, `/api/products/17/reviews` →
//! `/api/products/<*>/reviews`, `sshd[4711]:` → `sshd[<*>]:`.
//!
//! "Has a digit" is deliberately blunt: the LogPAI benchmarks and the Drain
//! follow-up literature found it masks nearly every parameter while constants
//! with digits (`HTTP/1.1`, `log4j`) are rare and harmless when masked.

use std::hash::Hasher;

use rustc_hash::FxHasher;

/// The wildcard a masked value becomes in templates.
pub const WILDCARD: &str = "<*>";

const WORD: u8 = 1;
const DIGIT: u8 = 2;
const SPACE: u8 = 4;
/// ASCII letters, digits, `.` and `-`: the bytes of a `host.name:port` host.
const HOST: u8 = 8;
const DOT: u8 = 16;
/// `@` (e-mail) and `*` (a literal `<*>/` before a month): a token without
/// them and without digits is copied as-is, see [`MaskedTokens::fill`].
const SPECIAL: u8 = 32;

/// Byte classes: a const table rather than a chain of `is_ascii_*` calls in the hot loop.
const CLASS: [u8; 256] = build_class_table();

const fn build_class_table() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = if b.is_ascii_digit() {
            WORD | DIGIT | HOST
        } else if b.is_ascii_alphabetic() || b == b'-' {
            WORD | HOST
        } else if b == b'.' {
            WORD | HOST | DOT
        } else if b == b'@' {
            WORD | SPECIAL
        } else if b >= 0x80 || matches!(b, b'_' | b'+' | b'%' | b'#') {
            WORD
        } else if matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
            SPACE
        } else if b == b'*' {
            SPECIAL
        } else {
            0
        };
        i += 1;
    }
    t
}

/// A message split into masked tokens, reusing its buffers across calls.
///
/// Tokens are stored back to back in one `String` so that masking a line
/// allocates nothing once the buffers have grown to the longest line.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MaskedTokens {
    text: String,
    ends: Vec<u32>,
}

impl MaskedTokens {
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces the content with the masked tokens of `message`.
    pub fn fill(&mut self, message: &str) {
        self.fill_until(message, false);
    }

    /// Replaces the content with the masked tokens of the first line of
    /// `text` and returns the offset just past its `\n` (or `text.len()`).
    /// Same tokens as `fill` on that line (a trailing `\r` is whitespace
    /// anyway); lets a reader mask straight out of its buffer, finding line
    /// ends in the same pass.
    pub(crate) fn fill_line(&mut self, text: &str) -> usize {
        self.fill_until(text, true)
    }

    /// One pass over the bytes: a token's classes are OR-ed while finding its
    /// end, and a token without digits, `@` or `*` (most words) is copied
    /// whole; only the others go through [`mask_token`].
    fn fill_until(&mut self, text: &str, stop_at_newline: bool) -> usize {
        self.text.clear();
        self.ends.clear();
        let bytes = text.as_bytes();
        let mut i = 0;
        loop {
            let Some(skip) = bytes[i..]
                .iter()
                .position(|&b| CLASS[b as usize] & SPACE == 0 || (stop_at_newline && b == b'\n'))
            else {
                return bytes.len();
            };
            i += skip;
            if bytes[i] == b'\n' {
                return i + 1;
            }
            let start = i;
            let mut seen = 0;
            i += bytes[i..]
                .iter()
                .position(|&b| {
                    let class = CLASS[b as usize];
                    seen |= class;
                    class & SPACE != 0
                })
                .unwrap_or(bytes.len() - i);
            let token_start = self.text.len();
            // Token bounds are ASCII whitespace or the ends of `text`, so char boundaries.
            let token = &text[start..i];
            if seen & (DIGIT | SPECIAL) == 0 {
                self.text.push_str(token);
                // A plain word is never `<*>`; only a unit after a value needs `finish_token`.
                if !self.text.as_bytes()[..token_start].ends_with(WILDCARD.as_bytes()) {
                    self.ends.push(self.text.len() as u32);
                    continue;
                }
            } else {
                mask_token(token, &mut self.text);
            }
            self.finish_token(token_start);
        }
    }

    /// Token-level clean-up of the token just written at `start..`: units
    /// join the value before them (`1.5 KB`, `<1 sec`), weekday and month names
    /// join the date value after them (`Fri Jul  1 07:57:30 2005`), and runs of
    /// whole-token values shrink to one `<*>`, so that a date or a size written
    /// with a varying number of words still yields one token count.
    fn finish_token(&mut self, start: usize) {
        let text = self.text.as_bytes();
        if !self.ends.is_empty() && text[..start].ends_with(WILDCARD.as_bytes()) {
            let token = &text[start..];
            let core = token.len()
                - token
                    .iter()
                    .rev()
                    .take_while(|&&b| matches!(b, b')' | b',' | b';' | b']'))
                    .count();
            if is_unit(&self.text[start..start + core]) {
                self.text.replace_range(start..start + core, "");
                if let Some(last) = self.ends.last_mut() {
                    *last = self.text.len() as u32;
                }
                return;
            }
        }
        if &self.text.as_bytes()[start..] != WILDCARD.as_bytes() {
            self.ends.push(self.text.len() as u32);
            return;
        }
        self.text.truncate(start);
        while let Some(&end) = self.ends.last() {
            let prev_start = self.token_start(self.ends.len() - 1);
            let prev = &self.text[prev_start..end as usize];
            if prev == WILDCARD || is_date_name(prev) {
                self.ends.pop();
                self.text.truncate(prev_start);
            } else {
                break;
            }
        }
        self.text.push_str(WILDCARD);
        self.ends.push(self.text.len() as u32);
    }

    /// A hash of the tokens (text and boundaries), for the miner's memo.
    pub(crate) fn fingerprint(&self) -> u64 {
        let mut h = FxHasher::default();
        h.write(self.text.as_bytes());
        h.write_usize(self.ends.len());
        h.finish()
    }

    /// Length of the tokens' text, separators not counted.
    pub(crate) fn text_len(&self) -> usize {
        self.text.len()
    }

    /// Becomes a copy of `other`, reusing this one's buffers.
    pub(crate) fn copy_from(&mut self, other: &MaskedTokens) {
        self.text.clear();
        self.text.push_str(&other.text);
        self.ends.clear();
        self.ends.extend_from_slice(&other.ends);
    }

    fn token_start(&self, i: usize) -> usize {
        if i == 0 { 0 } else { self.ends[i - 1] as usize }
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn get(&self, i: usize) -> &str {
        &self.text[self.token_start(i)..self.ends[i] as usize]
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let token = &self.text[start..end as usize];
            start = end as usize;
            token
        })
    }
}

/// Masks one whitespace-free token, appending to `out`.
fn mask_token(token: &str, out: &mut String) {
    let bytes = token.as_bytes();
    let token_start = out.len();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if CLASS[b as usize] & WORD == 0 {
            // Structural byte: always ASCII (bytes >= 0x80 are word bytes).
            out.push(char::from(b));
            i += 1;
            continue;
        }
        let run_start = i;
        let (mut any, mut all) = (0, HOST);
        while let Some(&b) = bytes.get(i) {
            let class = CLASS[b as usize];
            if class & WORD == 0 {
                break;
            }
            any |= class;
            all &= class;
            i += 1;
        }
        // `proxy.example.com:5070`: a host name is as variable as an IP.
        if all & HOST != 0
            && any & DOT != 0
            && let Some(end) = port_end(bytes, i)
        {
            push_value(&token[run_start..end], token_start, out);
            i = end;
            continue;
        }
        let run = &token[run_start..i];
        if any & DIGIT != 0 || (any & SPECIAL != 0 && is_email(run)) {
            push_value(run, token_start, out);
        } else if is_month(run) && out[token_start..].ends_with("<*>/") {
            // `06/Nov/2026:11:40:00`: the month of an access-log date is part of the value.
            push_value(run, token_start, out);
        } else {
            out.push_str(run);
        }
    }
}

/// Appends `<*>` for a value run, keeping separators that belong to the
/// surrounding text (`pid:` in `pid: 42`, the colon of `12:`), and merging with a
/// wildcard just before it across one `/` so that dates and id paths collapse.
fn push_value(run: &str, token_start: usize, out: &mut String) {
    let b = run.as_bytes();
    let lead = b
        .iter()
        .take_while(|&&c| matches!(c, b'.' | b'#' | b'@'))
        .count();
    let trail = b[lead..]
        .iter()
        .rev()
        .take_while(|&&c| matches!(c, b'.' | b'-' | b'#'))
        .count();
    let core_end = b.len() - trail;
    if lead > 0 {
        out.push_str(&run[..lead]);
    }
    if core_end == lead {
        // Only punctuation around a digit-free core: nothing to mask after all.
        out.push_str(&run[lead..]);
        return;
    }
    let so_far = &out.as_bytes()[token_start..];
    if lead == 0 && so_far.ends_with(b"<*>::") {
        out.truncate(out.len() - 2);
    } else if lead == 0 && (so_far.ends_with(b"<*>/") || so_far.ends_with(b"<*>:")) {
        out.truncate(out.len() - 1);
    } else {
        out.push_str(WILDCARD);
    }
    if trail > 0 {
        out.push_str(&run[core_end..]);
    }
}

/// End of the `:port` after a `host.name` that ends at `colon`, if there is
/// one: 1 to 5 digits, then the end of the token or a structural byte.
fn port_end(b: &[u8], colon: usize) -> Option<usize> {
    if b.get(colon) != Some(&b':') {
        return None;
    }
    let port_start = colon + 1;
    let mut j = port_start;
    while b.get(j).is_some_and(u8::is_ascii_digit) {
        j += 1;
    }
    let port_ok = (1..=5).contains(&(j - port_start));
    let ends = b.get(j).is_none_or(|&c| CLASS[c as usize] & WORD == 0);
    (port_ok && ends).then_some(j)
}

fn is_email(run: &str) -> bool {
    match run.find('@') {
        Some(at) if at > 0 => run[at + 1..].contains('.') && !run.ends_with('.'),
        _ => false,
    }
}

fn is_date_name(token: &str) -> bool {
    is_month(token) || matches!(token, "Mon" | "Tue" | "Wed" | "Thu" | "Fri" | "Sat" | "Sun")
}

/// Units of time and size that belong to the number before them.
fn is_unit(token: &str) -> bool {
    matches!(
        token,
        "ns" | "us"
            | "µs"
            | "ms"
            | "s"
            | "sec"
            | "secs"
            | "seconds"
            | "min"
            | "mins"
            | "minutes"
            | "h"
            | "hours"
            | "B"
            | "KB"
            | "kB"
            | "KiB"
            | "MB"
            | "MiB"
            | "GB"
            | "GiB"
            | "TB"
            | "TiB"
    )
}

fn is_month(run: &str) -> bool {
    matches!(
        run,
        "Jan"
            | "Feb"
            | "Mar"
            | "Apr"
            | "May"
            | "Jun"
            | "Jul"
            | "Aug"
            | "Sep"
            | "Oct"
            | "Nov"
            | "Dec"
    )
}

/// The masked form of a whole message, tokens joined by single spaces.
pub fn mask(message: &str) -> String {
    let mut tokens = MaskedTokens::new();
    tokens.fill(message);
    tokens.iter().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_numbers_and_keeps_keys() {
        assert_eq!(mask("took 42 ms"), "took <*>");
        assert_eq!(mask("port=8080 retries=-3"), "port=<*> retries=<*>");
        assert_eq!(mask("amount=261.60 USD"), "amount=<*> USD");
    }

    #[test]
    fn masks_hex_and_uuid() {
        assert_eq!(mask("ptr 0xc000aa35d0"), "ptr <*>");
        assert_eq!(
            mask("req 988545f4-dabf-46fe-9a46-39db69cc87e7 done"),
            "req <*> done"
        );
        assert_eq!(mask("commit 03c5710"), "commit <*>");
    }

    #[test]
    fn masks_ip_addresses_with_ports() {
        assert_eq!(mask("from 10.42.62.191:45307"), "from <*>");
        assert_eq!(mask("remote ::ffff:10.42.8.1 ok"), "remote ::ffff:<*> ok");
        assert_eq!(mask("via proxy.example.com:5070 open"), "via <*> open");
        assert_eq!(mask("peer [fe80::1]:443"), "peer [<*>]:<*>");
        assert_eq!(
            mask("Received connection request /10.10.34.11:45307"),
            "Received connection request /<*>"
        );
    }

    #[test]
    fn masks_timestamps_and_dates() {
        assert_eq!(mask("at 2026-11-05T09:13:35.535Z"), "at <*>");
        assert_eq!(mask("[06/Nov/2026:11:40:00 +0000]"), "[<*> <*>]");
        assert_eq!(mask("2026/11/03 14:18:49 Started"), "<*> Started");
        assert_eq!(mask("at Fri Jul  1 07:57:30 2005 ok"), "at <*> ok");
        assert_eq!(mask("Fri is a day"), "Fri is a day");
    }

    #[test]
    fn masks_durations_and_sizes() {
        assert_eq!(mask("slow call 12ms then 1.5s"), "slow call <*> then <*>");
        assert_eq!(mask("usage 896.1 MiB of 1 GiB),"), "usage <*> of <*>),");
        assert_eq!(mask("lifetime <1 sec"), "lifetime <<*>");
    }

    #[test]
    fn masks_emails_and_url_ids() {
        assert_eq!(
            mask("mail to jane.doe@example.com sent"),
            "mail to <*> sent"
        );
        assert_eq!(
            mask("GET /api/products/20842/reviews?limit=20"),
            "GET /api/products/<*>/reviews?limit=<*>"
        );
        assert_eq!(
            mask("GET /v1/profiles/a3bdf85f-c5d6-4878-951d-323bf7ba75f0"),
            "GET /<*>/profiles/<*>"
        );
    }

    #[test]
    fn keeps_words_and_structure() {
        assert_eq!(
            mask("sshd(pam_unix)[4711]: session opened"),
            "sshd(pam_unix)[<*>]: session opened"
        );
        assert_eq!(mask("Connection refused:"), "Connection refused:");
        assert_eq!(mask("  spaced\tout  "), "spaced out");
        assert_eq!(mask("ünïcode wörds 3"), "ünïcode wörds <*>");
    }
}
