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

/// The wildcard a masked value becomes in templates.
pub const WILDCARD: &str = "<*>";

const WORD: u8 = 1;
const DIGIT: u8 = 2;
const SPACE: u8 = 4;

/// Byte classes: a const table rather than a chain of `is_ascii_*` calls in the hot loop.
const CLASS: [u8; 256] = build_class_table();

const fn build_class_table() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = if b.is_ascii_digit() {
            WORD | DIGIT
        } else if b.is_ascii_alphabetic()
            || b >= 0x80
            || matches!(b, b'.' | b'-' | b'_' | b'+' | b'%' | b'@' | b'#')
        {
            WORD
        } else if matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
            SPACE
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
#[derive(Debug, Default, Clone)]
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
        self.text.clear();
        self.ends.clear();
        let bytes = message.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            while i < bytes.len() && CLASS[bytes[i] as usize] & SPACE != 0 {
                i += 1;
            }
            let start = i;
            while i < bytes.len() && CLASS[bytes[i] as usize] & SPACE == 0 {
                i += 1;
            }
            if start < i {
                let token_start = self.text.len();
                mask_token(message, start, i, &mut self.text);
                self.finish_token(token_start);
            }
        }
    }

    /// Token-level clean-up of the token just written at `start..`: units
    /// join the value before them (`1.5 KB`, `<1 sec`), weekday and month names
    /// join the date value after them (`Fri Jul  1 07:57:30 2005`), and runs of
    /// whole-token values shrink to one `<*>`, so that a date or a size written
    /// with a varying number of words still yields one token count.
    fn finish_token(&mut self, start: usize) {
        let token = &self.text[start..];
        let core = token.trim_end_matches([')', ',', ';', ']']);
        if is_unit(core) && self.text[..start].ends_with(WILDCARD) && !self.ends.is_empty() {
            let trail_at = start + core.len();
            self.text.replace_range(start..trail_at, "");
            if let Some(last) = self.ends.last_mut() {
                *last = self.text.len() as u32;
            }
            return;
        }
        if token != WILDCARD {
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
        (0..self.len()).map(|i| self.get(i))
    }
}

/// Masks one whitespace-free token `message[start..end]`, appending to `out`.
fn mask_token(message: &str, start: usize, end: usize, out: &mut String) {
    let bytes = message.as_bytes();
    let token_start = out.len();
    let mut i = start;
    while i < end {
        let class = CLASS[bytes[i] as usize];
        if class & WORD == 0 {
            // Structural byte: always ASCII here, so slicing by one byte is safe.
            out.push_str(&message[i..i + 1]);
            i += 1;
            continue;
        }
        if let Some(len) = host_port_len(&bytes[i..end]) {
            // `proxy.example.com:5070`: a host name is as variable as an IP.
            push_value(&message[i..i + len], token_start, out);
            i += len;
            continue;
        }
        let run_start = i;
        let mut digits = false;
        let mut at = false;
        while i < end {
            let c = CLASS[bytes[i] as usize];
            if c & WORD == 0 {
                break;
            }
            digits |= c & DIGIT != 0;
            at |= bytes[i] == b'@';
            i += 1;
        }
        let run = &message[run_start..i];
        if digits || (at && is_email(run)) {
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
    let lead = run.len() - run.trim_start_matches(['.', '#', '@']).len();
    let core = &run[lead..];
    let trail = core.len() - core.trim_end_matches(['.', '-', '#']).len();
    let core_end = core.len() - trail;
    out.push_str(&run[..lead]);
    if core_end == 0 {
        // Only punctuation around a digit-free core: nothing to mask after all.
        out.push_str(core);
        return;
    }
    let so_far = &out[token_start..];
    if lead == 0 && so_far.ends_with("<*>::") {
        out.truncate(out.len() - 2);
    } else if lead == 0 && (so_far.ends_with("<*>/") || so_far.ends_with("<*>:")) {
        out.truncate(out.len() - 1);
    } else {
        out.push_str(WILDCARD);
    }
    out.push_str(&core[core_end..]);
}

/// Length of a `host.name:port` prefix of `b`, if there is one.
fn host_port_len(b: &[u8]) -> Option<usize> {
    let mut i = 0;
    let mut dots = 0;
    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'-' || b[i] == b'.') {
        dots += usize::from(b[i] == b'.');
        i += 1;
    }
    if dots == 0 || i == 0 || b.get(i) != Some(&b':') {
        return None;
    }
    let port_start = i + 1;
    let mut j = port_start;
    while j < b.len() && b[j].is_ascii_digit() {
        j += 1;
    }
    let port_ok = (1..=5).contains(&(j - port_start));
    let ends = j == b.len() || CLASS[b[j] as usize] & WORD == 0;
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
