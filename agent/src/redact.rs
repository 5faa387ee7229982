//! Secret redaction before anything leaves the process.
//!
//! Every piece of untrusted evidence text (log lines, event messages) passes
//! through [`Redactor::redact`] before it is put into a digest, a signal, an LLM
//! request or a notification. It runs on every log line, so it has a fast path:
//! one literal prefilter and one byte scan decide whether any rule can match at
//! all, and a line with nothing to hide is returned borrowed, without allocating.
//!
//! Secrets are replaced by markers such as `[REDACTED:aws-key]`; the kind stays
//! visible because "the canary logs a database password" is itself evidence.
//!
//! What is *not* redacted, on purpose: request ids, trace ids, UUIDs, sha
//! digests, pod-template hashes and other lowercase hex. They are what ties a log
//! line to a request or a pod, and they are not credentials. See
//! [`Redactor::looks_like_generic_secret`] for the exact rule.

use std::borrow::Cow;

use regex::{Captures, Regex};

/// The shortest run of base64-ish characters treated as a possible opaque secret.
/// 32 characters of base62 carry ~190 bits: the size of real API keys and
/// session tokens, and longer than any identifier a person types.
const GENERIC_MIN_LEN: usize = 32;

/// Minimum Shannon entropy (bits per character) of a generic secret candidate.
/// Random base64 of length 32..64 measures 4.4..5.3 bits/char; CamelCase
/// identifiers and English words measure 3.0..3.9. 4.0 sits between the two.
const GENERIC_MIN_ENTROPY: f64 = 4.0;

/// The longest separator-free part a generic secret candidate must have.
const GENERIC_MIN_PART: usize = 12;

/// A standalone line made only of base64 characters at least this long is the
/// body of a PEM block (64 characters per line, RFC 7468) or a dumped key.
const BASE64_LINE_MIN_LEN: usize = 40;

/// A rule that replaces whole matches with a fixed marker.
#[derive(Debug)]
struct Rule {
    re: Regex,
    marker: &'static str,
}

/// The compiled patterns.
#[derive(Debug)]
struct Rules {
    /// Literal prefilter: if neither this nor the byte scan fires, nothing can match.
    prefilter: Regex,
    pem: Regex,
    pem_header: Regex,
    whole_match: Vec<Rule>,
    url_credentials: Regex,
    bare_credentials: Regex,
    cli_flag: Regex,
    cookie: Regex,
    authorization: Regex,
    bearer: Regex,
    key_value: Regex,
}

/// Compiled redaction rules. Build once with [`Redactor::new`] and share.
#[derive(Debug)]
pub struct Redactor {
    /// `None` only if a pattern failed to compile (a programming error the tests
    /// catch). The redactor then fails closed: every text is withheld entirely.
    rules: Option<Rules>,
}

impl Default for Redactor {
    fn default() -> Self {
        Self::new()
    }
}

impl Rules {
    fn compile() -> Result<Rules, regex::Error> {
        let rule = |re: &str, marker| Regex::new(re).map(|re| Rule { re, marker });
        let whole_match = vec![
            // Access key ids: the 4-letter prefix names the kind of AWS principal.
            rule(
                r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b",
                "[REDACTED:aws-key]",
            )?,
            rule(
                r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{30,255}\b",
                "[REDACTED:github-token]",
            )?,
            rule(
                r"\bgithub_pat_[A-Za-z0-9_]{22,255}",
                "[REDACTED:github-token]",
            )?,
            rule(r"\bxox[abposr]-[A-Za-z0-9-]{10,}", "[REDACTED:slack-token]")?,
            rule(
                r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_-]+",
                "[REDACTED:slack-webhook]",
            )?,
            // Header and payload of a JWT are base64url JSON, so both start `eyJ`;
            // the signature may be cut by a log line limit, so it is optional.
            rule(
                r"\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}(?:\.[A-Za-z0-9_-]*)?",
                "[REDACTED:jwt]",
            )?,
            rule(
                r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}",
                "[REDACTED:stripe-key]",
            )?,
            rule(r"\bAIza[0-9A-Za-z_-]{35}", "[REDACTED:google-api-key]")?,
            // The next four follow gitleaks' config/gitleaks.toml (gitlab-pat and
            // its siblings, mailgun-private-api-token, shopify-*, twilio-api-key).
            rule(
                r"\bgl(?:pat|ptt|dt|rt|soat|cbt|imt|agent|oas|ffct)-[0-9A-Za-z_-]{20,}",
                "[REDACTED:gitlab-token]",
            )?,
            rule(r"\bkey-[0-9a-zA-Z]{32}\b", "[REDACTED:mailgun-key]")?,
            rule(
                r"\bshp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}\b",
                "[REDACTED:shopify-token]",
            )?,
            rule(r"\bSK[0-9a-fA-F]{32}\b", "[REDACTED:twilio-key]")?,
            // A Twilio auth token is 32 hex characters, logged as `auth=...` or
            // `auth_token: ...` (hex alone is kept: it is what ids look like).
            rule(
                r#"(?i)(\bauth(?:[_-]?token)?["']?\s*[:=]\s*["']?)[0-9a-f]{32}\b"#,
                "${1}[REDACTED:twilio-token]",
            )?,
            // OpenAI-style API keys (`sk-`, `sk-proj-`), npm and SendGrid tokens.
            rule(
                r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}",
                "[REDACTED:openai-key]",
            )?,
            rule(r"\bnpm_[A-Za-z0-9]{36}\b", "[REDACTED:npm-token]")?,
            rule(
                r"\bSG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{16,64}",
                "[REDACTED:sendgrid-key]",
            )?,
            // Azure shared access signatures: the `sig` parameter is the secret.
            rule(r"\bsig=[A-Za-z0-9%+/=]{16,}", "sig=[REDACTED:azure-sas]")?,
        ];
        Ok(Rules {
            prefilter: Regex::new(
                r"(?i)akia|asia|agpa|aida|aroa|anpa|anva|aipa|gh[pousr]_|github_pat_|xox|hooks\.slack|eyj|sk_live|sk_test|rk_live|rk_test|aiza|-----begin|://|bearer|authorization|pass|pwd|secret|token|api.?key|access.?key|private.?key|account.?key|credential|gl[a-z]{1,6}-|key-|shp|sk[0-9a-f]{32}|auth|sig=|cookie|sk-|npm_|sg\.|:[^\s@:/]+@",
            )?,
            pem: Regex::new(
                r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----(?s:.*?)(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\z)",
            )?,
            pem_header: Regex::new(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")?,
            whole_match,
            // user:password@ in any scheme (postgres, mysql, mongodb+srv, redis,
            // amqp, http...): keep scheme, user and host, which are evidence.
            url_credentials: Regex::new(
                r"\b([A-Za-z][A-Za-z0-9+.-]{1,30}://)([^\s:/@]*):([^\s@/]+)@",
            )?,
            // user:password@host without a scheme (`mysql -h`, redis-cli, JDBC
            // fragments): keep user and host.
            bare_credentials: Regex::new(
                r"(^|[\s=(\x22'])([A-Za-z0-9._-]{1,64}):([^\s@:/\x22']{1,128})@([A-Za-z0-9][A-Za-z0-9._-]*)",
            )?,
            // `--password X`, `-p=X`-style flags whose value follows a space.
            cli_flag: Regex::new(
                r"(?i)(^|\s)(--?[a-z0-9-]*(?:password|passwd|passphrase|pwd|secret|token|api-?key|access-key|private-key|account-key|credential)[a-z0-9-]*)(\s+)([^\s-]\S*)",
            )?,
            // Cookie and Set-Cookie headers: every value is a session credential.
            // A header value is `name=value` pairs joined by `; `; it ends at the
            // first space not after a `;`, so the rest of the line stays.
            cookie: Regex::new(
                r#"(?i)(\b[A-Za-z0-9_-]*cookie["']?\s*[:=]\s*["']?)([^\s;,"']+(?:;\s*[^\s;,"']+)*)"#,
            )?,
            authorization: Regex::new(
                r#"(?i)(\b(?:proxy-)?authorization["']?\s*[:=]\s*["']?)((?:bearer|basic|token|digest|negotiate|apikey)\s+)?([^\s"',;]+)"#,
            )?,
            bearer: Regex::new(r"(?i)(\bbearer\s+)([A-Za-z0-9._~+/=-]{16,})")?,
            key_value: Regex::new(
                r#"(?i)\b([A-Za-z0-9_.-]*(?:passw(?:or)?d|passphrase|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|account[_-]?key|credential|auth[_-]?key)[A-Za-z0-9_.-]*|(?:[A-Za-z0-9_.-]*[_.-])?pass)(["']?\s*[:=]\s*)("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|\S+)"#,
            )?,
        })
    }
}

impl Redactor {
    pub fn new() -> Self {
        Redactor {
            rules: Rules::compile().ok(),
        }
    }

    /// Replaces every secret in `text` with a `[REDACTED:kind]` marker. Returns the
    /// input borrowed when nothing matched.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let Some(rules) = &self.rules else {
            return Cow::Borrowed("[REDACTED:redactor-unavailable]");
        };
        let literal_hit = rules.prefilter.is_match(text);
        let long_run = has_long_run(text);
        if !literal_hit && !long_run {
            return Cow::Borrowed(text);
        }
        let mut out = Cow::Borrowed(text);
        if literal_hit {
            out = apply(out, |s| rules.pem.replace_all(s, "[REDACTED:private-key]"));
            out = apply(out, |s| {
                rules.pem_header.replace_all(s, "[REDACTED:private-key]")
            });
            for rule in &rules.whole_match {
                out = apply(out, |s| rule.re.replace_all(s, rule.marker));
            }
            out = apply(out, |s| {
                rules.url_credentials.replace_all(s, |c: &Captures<'_>| {
                    format!("{}{}:[REDACTED:password]@", &c[1], &c[2])
                })
            });
            out = apply(out, |s| {
                rules.bare_credentials.replace_all(s, |c: &Captures<'_>| {
                    // `image:tag@sha256:...` names an image digest, not a host.
                    if c[3].starts_with("[REDACTED")
                        || matches!(&c[4], "sha1" | "sha256" | "sha384" | "sha512")
                    {
                        return c[0].to_owned();
                    }
                    format!("{}{}:[REDACTED:password]@{}", &c[1], &c[2], &c[4])
                })
            });
            out = apply(out, |s| {
                rules.cli_flag.replace_all(s, |c: &Captures<'_>| {
                    if c[4].starts_with("[REDACTED") || is_metadata_key(&c[2]) {
                        return c[0].to_owned();
                    }
                    format!("{}{}{}[REDACTED:password]", &c[1], &c[2], &c[3])
                })
            });
            out = apply(out, |s| {
                rules.cookie.replace_all(s, |c: &Captures<'_>| {
                    format!("{}{}", &c[1], redact_cookie_pairs(&c[2]))
                })
            });
            out = apply(out, |s| {
                rules.authorization.replace_all(s, |c: &Captures<'_>| {
                    let scheme = c.get(2).map_or("", |m| m.as_str());
                    if c[3].starts_with("[REDACTED") {
                        return c[0].to_owned();
                    }
                    format!("{}{}[REDACTED:authorization]", &c[1], scheme)
                })
            });
            out = apply(out, |s| {
                rules
                    .bearer
                    .replace_all(s, |c: &Captures<'_>| format!("{}[REDACTED:bearer]", &c[1]))
            });
            out = apply(out, |s| rules.key_value.replace_all(s, redact_key_value));
        }
        if has_long_run(&out) {
            out = redact_generic(out);
        }
        out
    }

    /// Redacts a multi-line text: whole private-key blocks first (a block spans
    /// lines), then line by line, so the standalone-line rules (PEM bodies split
    /// over log lines, dumped keys) apply to every line.
    pub fn redact_lines<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if !text.contains('\n') {
            return self.redact(text);
        }
        let Some(rules) = &self.rules else {
            return Cow::Borrowed("[REDACTED:redactor-unavailable]");
        };
        let blocks = rules.pem.replace_all(text, "[REDACTED:private-key]");
        let mut changed = matches!(blocks, Cow::Owned(_));
        let mut out = String::with_capacity(blocks.len());
        for (i, line) in blocks.split('\n').enumerate() {
            if i > 0 {
                out.push('\n');
            }
            let red = self.redact(line);
            changed |= matches!(red, Cow::Owned(_));
            out.push_str(&red);
        }
        if changed {
            Cow::Owned(out)
        } else {
            Cow::Borrowed(text)
        }
    }

    /// Every string of a JSON value redacted, and the whole value of an entry
    /// whose key names a secret (`{"password": "x"}`): the structure stays
    /// valid JSON, which redacting its text could break.
    pub fn redact_json(&self, v: serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match v {
            Value::String(s) => Value::String(self.redact_lines(&s).into_owned()),
            Value::Array(a) => Value::Array(a.into_iter().map(|x| self.redact_json(x)).collect()),
            Value::Object(o) => Value::Object(
                o.into_iter()
                    .map(|(k, x)| {
                        let x = match x {
                            Value::String(s) if !s.is_empty() && self.names_secret(&k) => {
                                Value::String("[REDACTED:secret]".to_owned())
                            }
                            other => self.redact_json(other),
                        };
                        (k, x)
                    })
                    .collect(),
            ),
            other => other,
        }
    }

    /// [`Redactor::redact_json`] on JSON text; text that is not JSON is
    /// redacted as text.
    pub fn redact_json_text(&self, text: &str) -> String {
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(v) => self.redact_json(v).to_string(),
            Err(_) => self.redact_lines(text).into_owned(),
        }
    }

    /// Whether a key's value would be redacted by the key-value rules.
    fn names_secret(&self, key: &str) -> bool {
        self.redact(&format!("{key}=v4lu3")).contains("[REDACTED")
    }

    /// The one pipeline for evidence text shortened for output: redact first,
    /// then [`crate::text::clip`]. Clipping first could cut a secret below the
    /// length its rule recognises (`AKIA` and 9 characters of the key).
    pub fn clip(&self, text: &str, max: usize) -> String {
        crate::text::clip(&self.redact_lines(text), max)
    }

    /// The generic rule: a run of base64/base64url characters of at least 32
    /// characters that mixes upper case, lower case and digits, is not hex, and has
    /// at least 4.0 bits of entropy per character, with a part of 12+ characters
    /// between separators. Hex ids (trace ids, sha
    /// digests, pod hashes) and UUIDs are never upper+lower mixed and are kept;
    /// Java class names and paths have no digits or too little entropy.
    pub fn looks_like_generic_secret(run: &str) -> bool {
        if run.len() < GENERIC_MIN_LEN {
            return false;
        }
        let b = run.as_bytes();
        let upper = b.iter().filter(|c| c.is_ascii_uppercase()).count();
        let lower = b.iter().filter(|c| c.is_ascii_lowercase()).count();
        let digits = b.iter().filter(|c| c.is_ascii_digit()).count();
        if upper == 0 || lower == 0 || digits < 2 {
            return false;
        }
        if b.iter().all(|c| c.is_ascii_hexdigit() || *c == b'-') {
            return false;
        }
        // Composite ids (`host-abc12/B2ae1GsDJQ-000001`, chi's request ids) join
        // short parts with separators; random base64 has a separator only every
        // ~16 characters (4 of 64 symbols), so its longest part is rarely short.
        let longest_part = run
            .split(['-', '_', '/', '+'])
            .map(str::len)
            .max()
            .unwrap_or(0);
        if longest_part < GENERIC_MIN_PART {
            return false;
        }
        shannon_entropy(run) >= GENERIC_MIN_ENTROPY
    }
}

/// Standalone base64 lines (PEM bodies split over log lines) and long
/// high-entropy runs anywhere.
fn redact_generic(text: Cow<'_, str>) -> Cow<'_, str> {
    let trimmed = text.trim();
    if trimmed.len() >= BASE64_LINE_MIN_LEN && is_base64_line(trimmed) {
        return Cow::Owned("[REDACTED:base64-blob]".to_owned());
    }
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !is_run_byte(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && is_run_byte(bytes[i]) {
            i += 1;
        }
        // Base64 padding belongs to the token.
        let mut end = i;
        while end < bytes.len() && bytes[end] == b'=' && end - i < 2 {
            end += 1;
        }
        let run = &text[start..i];
        if Redactor::looks_like_generic_secret(run) {
            spans.push((start, end));
        }
        i = end.max(i);
    }
    if spans.is_empty() {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (s, e) in spans {
        out.push_str(&text[last..s]);
        out.push_str("[REDACTED:high-entropy]");
        last = e;
    }
    out.push_str(&text[last..]);
    Cow::Owned(out)
}

/// Runs one replacement step on a `Cow`, keeping it borrowed if nothing changed.
fn apply<'a, F>(text: Cow<'a, str>, f: F) -> Cow<'a, str>
where
    F: for<'s> FnOnce(&'s str) -> Cow<'s, str>,
{
    match text {
        Cow::Borrowed(s) => f(s),
        Cow::Owned(s) => match f(&s) {
            Cow::Borrowed(_) => Cow::Owned(s),
            Cow::Owned(new) => Cow::Owned(new),
        },
    }
}

/// Key names that contain a secret word but hold metadata about it
/// (`max_tokens=100`, `token_type=bearer`, `password_length=12`, and
/// `token_prefix=78d42a41`: a prefix is shown precisely because it is not secret).
const NON_SECRET_KEY_SUFFIXES: [&str; 15] = [
    "count",
    "_ms",
    "len",
    "length",
    "size",
    "ttl",
    "type",
    "expiry",
    "expires",
    "expires_in",
    "_at",
    "_id",
    "_file",
    "_path",
    "prefix",
];

/// Cookie attributes (RFC 6265 and common extensions): their values describe
/// the cookie and are kept.
const COOKIE_ATTRIBUTES: [&str; 8] = [
    "path", "domain", "expires", "max-age", "samesite", "secure", "httponly", "priority",
];

/// Every cookie value of a `Cookie` or `Set-Cookie` header value replaced, the
/// names and the attributes kept: a session cookie is a bearer credential.
fn redact_cookie_pairs(value: &str) -> String {
    value
        .split(';')
        .map(|part| {
            let lead = &part[..part.len() - part.trim_start().len()];
            let pair = part.trim_start();
            let (name, has_value) = match pair.split_once('=') {
                Some((n, _)) => (n, true),
                None => (pair, false),
            };
            if COOKIE_ATTRIBUTES.contains(&name.to_ascii_lowercase().as_str())
                || pair.starts_with("[REDACTED")
            {
                part.to_owned()
            } else if has_value {
                format!("{lead}{name}=[REDACTED:cookie]")
            } else {
                format!("{lead}[REDACTED:cookie]")
            }
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// Whether a secret-sounding key names metadata about the secret. A GCP
/// `private_key_id` is the exception: it identifies the key for anyone holding
/// the service-account file, so it is treated as a secret.
fn is_metadata_key(key: &str) -> bool {
    let lower = key.to_ascii_lowercase().replace('-', "_");
    if lower.ends_with("private_key_id") {
        return false;
    }
    lower.ends_with("tokens") || NON_SECRET_KEY_SUFFIXES.iter().any(|s| lower.ends_with(s))
}

fn redact_key_value(c: &Captures<'_>) -> String {
    let key = &c[1];
    let value = &c[3];
    let lower = key.to_ascii_lowercase();
    let trivial = {
        let v = value.trim_matches(|ch| ch == '"' || ch == '\'');
        v.is_empty()
            || v.starts_with("[REDACTED")
            || v.chars().all(|ch| ch == '*' || ch == 'x' || ch == 'X')
            || matches!(
                v.to_ascii_lowercase().as_str(),
                "null" | "none" | "nil" | "true" | "false" | "<redacted>"
            )
    };
    if trivial || is_metadata_key(key) {
        return c[0].to_owned();
    }
    let kind = if lower.contains("pass") || lower.contains("pwd") {
        "password"
    } else if lower.contains("secret") {
        "secret"
    } else if lower.contains("token") {
        "token"
    } else if lower.contains("key") {
        "key"
    } else {
        "credential"
    };
    let marker = format!("[REDACTED:{kind}]");
    let quoted = match value.as_bytes().first() {
        Some(b'"') => format!("\"{marker}\""),
        Some(b'\'') => format!("'{marker}'"),
        _ => marker,
    };
    format!("{key}{}{quoted}", &c[2])
}

fn is_run_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'_' | b'-')
}

/// Whether the text contains a run of candidate characters long enough to be a
/// generic secret (the cheap half of the prefilter: no regex, one pass).
fn has_long_run(text: &str) -> bool {
    let mut run = 0usize;
    for &b in text.as_bytes() {
        if is_run_byte(b) {
            run += 1;
            if run >= GENERIC_MIN_LEN {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

fn is_base64_line(line: &str) -> bool {
    let body = line.trim_end_matches('=');
    line.len() - body.len() <= 2
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
        && Redactor::looks_like_generic_secret(body)
}

/// Shannon entropy of the byte distribution, in bits per character.
fn shannon_entropy(s: &str) -> f64 {
    let mut counts = [0u32; 256];
    for &b in s.as_bytes() {
        counts[usize::from(b)] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::evidence::{Evidence, load_file};

    fn r(text: &str) -> String {
        Redactor::new().redact(text).into_owned()
    }

    fn assert_redacted(text: &str, secret: &str, marker: &str) {
        let out = r(text);
        assert!(!out.contains(secret), "secret survived in {out:?}");
        assert!(out.contains(marker), "marker {marker} missing in {out:?}");
    }

    fn assert_kept(text: &str) {
        let red = Redactor::new();
        let out = red.redact(text);
        assert!(
            matches!(out, Cow::Borrowed(_)) || out == text,
            "changed {text:?} into {out:?}"
        );
        assert_eq!(out, text);
    }

    #[test]
    fn aws_keys() {
        assert_redacted(
            "key AKIA2SMEKG2N6EQS6FEL used",
            "AKIA2SMEKG2N6EQS6FEL",
            "[REDACTED:aws-key]",
        );
        assert_redacted(
            "ASIAY34FZKBOKMUTVV7A",
            "ASIAY34FZKBOKMUTVV7A",
            "[REDACTED:aws-key]",
        );
        assert_redacted(
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "[REDACTED:secret]",
        );
        assert_redacted(
            "secretAccessKey=IyTfLXb/ij0zqIqX+9s4XOjzru1kJl6P9P4xPiDU region=eu",
            "IyTfLXb/ij0zqIqX+9s4XOjzru1kJl6P9P4xPiDU",
            "region=eu",
        );
        // Too short / lowercase: not a key id.
        assert_kept("AKIA is a prefix; akia2smekg2n6eqs6fel is not a key");
    }

    #[test]
    fn github_tokens() {
        for t in [
            "ghp_ErGs9YHTFL3D6OkEGfKlP8uX8DJcNSU70wWM",
            "gho_16C7e42F292c6912E7710c838347Ae178B4a",
            "ghs_16C7e42F292c6912E7710c838347Ae178B4a",
            "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGH",
        ] {
            assert_redacted(&format!("using {t} now"), t, "[REDACTED:github-token]");
        }
        assert_kept("ghp_short and gho_ are fine");
    }

    #[test]
    fn slack() {
        assert_redacted(
            "token xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOp",
            "xoxb-123456789012",
            "[REDACTED:slack-token]",
        );
        assert_redacted(
            "posting to https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX ok",
            "T000/B000",
            "[REDACTED:slack-webhook]",
        );
        assert_kept("xox is a word; see hooks.slack.dev");
    }

    #[test]
    fn jwt_and_authorization() {
        let jwt =
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_redacted(&format!("jwt={jwt}"), jwt, "[REDACTED");
        assert_redacted(
            &format!("cookie {jwt} end"),
            "eyJzdWIiOiIxMjM0In0",
            "[REDACTED:jwt]",
        );
        assert_redacted(
            r#"headers={"authorization":"Bearer abc123def456ghi789jkl","x":1}"#,
            "abc123def456ghi789jkl",
            "[REDACTED",
        );
        assert_redacted(
            "Authorization: Basic dXNlcjpwYXNzd29yZA==",
            "dXNlcjpwYXNzd29yZA",
            "Basic [REDACTED",
        );
        assert_redacted(
            "sent Bearer s3cr3tTokenValue12345 upstream",
            "s3cr3tTokenValue12345",
            "[REDACTED:bearer]",
        );
        assert_kept("basic configuration loaded; bearer of bad news");
    }

    #[test]
    fn key_values() {
        assert_redacted(
            "user=accounts password=eA8QXr!IHn7H#6Q9sI db=x",
            "eA8QXr!IHn7H#6Q9sI",
            "db=x",
        );
        assert_redacted(
            r#"{"password":"hunter2","user":"bob"}"#,
            "hunter2",
            r#""password":"[REDACTED:password]""#,
        );
        assert_redacted(r#"{"client_secret": "a\"b c"}"#, "b c", "[REDACTED:secret]");
        assert_redacted("api_key: 9f8e7d6c5b4a", "9f8e7d6c5b4a", "[REDACTED:key]");
        assert_redacted("PWD=topsecret", "topsecret", "[REDACTED:password]");
        assert_redacted("access_token='tok-123'", "tok-123", "'[REDACTED:token]'");
        assert_redacted("X-Api-Key=abc123", "abc123", "[REDACTED");
        assert_kept("max_tokens=100 token_count=5 password_length=12");
        assert_kept("invalid password for user bob; token expired");
        assert_kept("password=null secret=\"\"");
    }

    #[test]
    fn pem_blocks() {
        let block = "-----BEGIN RSA PRIVATE KEY-----\nMIIEogIBAAKCAQEAJmpNCXOyaj0j1CBuA7vxEombhTOEurT45yOATO3X89XZsWmr\n-----END RSA PRIVATE KEY-----";
        assert_redacted(
            &format!("key:\n{block}\nafter"),
            "MIIEogIBAAKC",
            "[REDACTED:private-key]",
        );
        assert!(r(&format!("{block}\nafter")).ends_with("after"));
        // Split over log lines: header and body lines are each redacted.
        assert_redacted(
            "-----BEGIN PRIVATE KEY-----",
            "BEGIN",
            "[REDACTED:private-key]",
        );
        assert_redacted(
            "1njQ0BYRK3DQFGhYgxbDig0Jm9U51YklQGayn5spwAHPbACPNKv6PngjoNtQ3Y4R",
            "1njQ0BYRK3DQ",
            "[REDACTED:base64-blob]",
        );
        assert_redacted(
            "cS/EzxQLKBNftvrd5OU5LQRqoTzluXBF3pYVlhES9DVSe2GqK5E=",
            "cS/Ezx",
            "[REDACTED",
        );
        assert_kept("-----BEGIN CERTIFICATE-----");
    }

    #[test]
    fn connection_strings() {
        for (url, user) in [
            (
                "postgres://orders:pa55w0rd@db:5432/orders",
                "postgres://orders:",
            ),
            ("mysql://root:hunter2@mysql.svc/app", "mysql://root:"),
            (
                "mongodb+srv://app:Sup3r$ecret@cluster0.mongodb.net/db",
                "mongodb+srv://app:",
            ),
            ("redis://:r3d1spass@redis:6379/0", "redis://:"),
            ("amqp://guest:guestpw@rabbit:5672", "amqp://guest:"),
            (
                "https://x-access-token:plainpw@github.com/acme/x.git",
                "https://x-access-token:",
            ),
        ] {
            let out = r(&format!("dsn {url} ok"));
            assert!(
                out.contains(&format!("{user}[REDACTED:password]@")),
                "{out}"
            );
            for pw in [
                "pa55w0rd",
                "hunter2",
                "Sup3r$ecret",
                "r3d1spass",
                "guestpw",
                "plainpw",
            ] {
                assert!(!out.contains(pw), "{out}");
            }
        }
        assert_kept("GET https://api.example.com/v1/users/42 200");
        assert_kept("connect postgres://orders-db:5432/orders failed: Connection refused");
    }

    #[test]
    fn stripe_and_google() {
        assert_redacted(
            "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
            "4eC39HqLyjWDarjtT1zdp7dc",
            "[REDACTED:stripe-key]",
        );
        assert_redacted(
            "rk_test_51Habcdefghij",
            "51Habcdefghij",
            "[REDACTED:stripe-key]",
        );
        assert_redacted(
            "maps AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY x",
            "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",
            "[REDACTED:google-api-key]",
        );
        assert_kept("sk_live_ is a prefix and AIza too");
    }

    #[test]
    fn generic_high_entropy() {
        assert_redacted(
            "session Zx9Qm2LkP0aB7cD4eF1gH8iJ3kL5mN6oPq end",
            "Zx9Qm2LkP0aB7cD4eF1gH8iJ3kL5mN6oPq",
            "[REDACTED:high-entropy]",
        );
        // Evidence that must survive: hex ids, UUIDs, digests, pod hashes, class names.
        assert_kept("trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span=00f067aa0ba902b7");
        assert_kept("request_id=b4e8d022-126e-49ed-87f7-52eef7f3980e");
        assert_kept(
            "image sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        );
        assert_kept("pod checkout-7c9d5f6b8-abcde ready");
        assert_kept(
            "at org.springframework.beans.factory.support.AbstractAutowireCapableBeanFactory.createBean",
        );
        assert_kept("ConfigServletWebServerApplicationContext : Exception encountered");
        assert_kept("/usr/local/lib/python3.11/site-packages/django/core/handlers/exception.py");
        assert_kept("assets/main.3f2a9c1b.js app.9b8c7d6e5f4a3b2c1d0e.css");
    }

    #[test]
    fn every_pattern_compiles() {
        assert!(Rules::compile().is_ok());
        assert!(Redactor::new().rules.is_some());
    }

    /// Scenarios without planted secrets hold evidence only: the generic rules must
    /// leave their lines alone (ids, hashes, digests are what a person checks).
    #[test]
    fn generic_rules_keep_ordinary_evidence() {
        let red = Redactor::new();
        let mut changed = Vec::new();
        for ev in public_scenarios()
            .iter()
            .filter(|e| e.planted_secrets.is_empty())
        {
            for pod in ev.logs.canary.iter().chain(&ev.logs.stable) {
                for line in &pod.lines {
                    let out = red.redact(line);
                    if out != line.as_str() {
                        changed.push(format!("{}: {out}", ev.name));
                    }
                }
            }
        }
        changed.sort();
        changed.dedup_by(|a, b| a.split(':').next() == b.split(':').next());
        assert!(
            changed.is_empty(),
            "redacted ordinary lines, e.g. {:#?}",
            &changed[..changed.len().min(10)]
        );
    }

    #[test]
    fn fast_path_borrows() {
        let red = Redactor::new();
        let line = "2026-11-13T10:05:00.957Z  INFO 1 --- [order-service] Order o-74533142 placed";
        assert!(matches!(red.redact(line), Cow::Borrowed(_)));
        // A prefilter hit without a real secret still returns the text unchanged.
        assert_eq!(
            red.redact("GET https://example.com/ ok"),
            "GET https://example.com/ ok"
        );
    }

    pub(crate) fn public_scenarios() -> Vec<Evidence> {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../evals/scenarios/tune/public"
        );
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        paths.sort();
        paths
            .iter()
            .filter_map(|p| load_file(p, crate::evidence::DEFAULT_MAX_BYTES).ok())
            .collect()
    }

    #[test]
    fn planted_secrets_never_survive() {
        let red = Redactor::new();
        let scenarios = public_scenarios();
        assert_eq!(scenarios.len(), 24);
        let mut checked = 0;
        for ev in scenarios.iter().filter(|e| !e.planted_secrets.is_empty()) {
            let mut texts: Vec<&str> = ev.events.iter().map(|e| e.message.as_str()).collect();
            for pod in ev.logs.canary.iter().chain(&ev.logs.stable) {
                texts.extend(pod.lines.iter().map(String::as_str));
            }
            for text in texts {
                let out = red.redact(text);
                for s in &ev.planted_secrets {
                    assert!(
                        !out.contains(s.as_str()),
                        "{}: {s} survived in {out}",
                        ev.name
                    );
                }
            }
            checked += ev.planted_secrets.len();
        }
        assert!(
            checked >= 30,
            "expected p20's planted secrets, checked {checked}"
        );
    }
}

/// One corpus per secret format (gitleaks' `config/gitleaks.toml` is the
/// reference for the token shapes), each with positives and near misses that
/// must stay, and the property that no fragment of a secret survives the
/// redact-then-clip pipeline.
#[cfg(test)]
mod corpus {
    use super::*;
    use proptest::prelude::*;

    /// The length of a secret fragment that counts as a leak.
    const FRAGMENT: usize = 10;

    /// Every `FRAGMENT`-character window of `secret` that is in `out`.
    fn leaked<'a>(out: &str, secret: &'a str) -> Option<&'a str> {
        let b = secret.as_bytes();
        (0..=b.len().saturating_sub(FRAGMENT))
            .filter(|&i| b.len() >= FRAGMENT && secret.is_char_boundary(i))
            .filter(|&i| secret.is_char_boundary(i + FRAGMENT))
            .map(|i| &secret[i..i + FRAGMENT])
            .find(|w| out.contains(w))
    }

    /// Per format: texts with the secret they hold, and texts to keep as they are.
    type Corpus = (
        &'static str,
        &'static [(&'static str, &'static str)],
        &'static [&'static str],
    );

    const CORPUS: &[Corpus] = &[
        (
            "twilio",
            &[
                (
                    "twilio client auth=9f8e7d6c5b4a39281706f5e4d3c2b1a0 ok",
                    "9f8e7d6c5b4a39281706f5e4d3c2b1a0",
                ),
                (
                    r#"{"auth_token": "0123456789abcdef0123456789abcdef"}"#,
                    "0123456789abcdef0123456789abcdef",
                ),
                (
                    "api key SK2f4e6d8c0b1a39281706f5e4d3c2b1a0 used",
                    "SK2f4e6d8c0b1a39281706f5e4d3c2b1a0",
                ),
            ],
            &[
                "auth=ok user=bob",
                "auth: enabled for 3 users",
                "SKU-12345 out of stock",
                "authorized user 42",
            ],
        ),
        (
            "gcp-private-key-id",
            &[
                (
                    r#""private_key_id": "5c7a9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a3c","#,
                    "5c7a9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a3c",
                ),
                (
                    "private_key_id=5c7a9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a3c",
                    "5c7a9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a3c",
                ),
            ],
            &[
                r#""client_id": "104650361982341234567","#,
                "key_id=7 project_id: shop-prod",
            ],
        ),
        (
            "gitlab",
            &[
                (
                    "clone with glpat-Xk3s9vQ2mN8pL5rT7wYz over https",
                    "glpat-Xk3s9vQ2mN8pL5rT7wYz",
                ),
                (
                    "runner token glrt-a1B2c3D4e5F6g7H8i9J0k1L2",
                    "glrt-a1B2c3D4e5F6g7H8i9J0k1L2",
                ),
            ],
            &["glpat-short is not a token", "gl-pat docs"],
        ),
        (
            "mailgun",
            &[(
                "mailgun key-3ax6xnjp29jd6fds4gc373sgvjxteol0 sent",
                "key-3ax6xnjp29jd6fds4gc373sgvjxteol0",
            )],
            &[
                "key-rotation-policy applied",
                "monkey-0123456789abcdef0123456789abcdef fed",
            ],
        ),
        (
            "shopify",
            &[
                (
                    "X-Shopify-Access-Token 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",
                    "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",
                ),
                (
                    "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 secret",
                    "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",
                ),
            ],
            &["shpat_ is the prefix", "shop_id=18273"],
        ),
        (
            "cli-password",
            &[
                (
                    "exec mysqldump --password Tr0ub4dor&3xyz --user root",
                    "Tr0ub4dor&3xyz",
                ),
                ("psql --db-password   s3cr3tValue99 -h db", "s3cr3tValue99"),
                ("vault login --token hvs.CAESIJ9xk2Lm", "hvs.CAESIJ9xk2Lm"),
            ],
            &[
                "--password-file /etc/secret/pw",
                "--token-ttl 5m --password",
                "--password -h db",
            ],
        ),
        (
            "json-pass",
            &[
                (
                    r#"{"user":"bob","pass":"hunter2hunter2"}"#,
                    "hunter2hunter2",
                ),
                (
                    r#"{"password": "c0rrect-h0rse-battery"}"#,
                    "c0rrect-h0rse-battery",
                ),
                ("db_pass=Qw3rty!Uiop9 host=db", "Qw3rty!Uiop9"),
            ],
            &[
                r#"{"passed":true,"tests":12}"#,
                r#"{"bypass":"cache"}"#,
                r#""compass": "north""#,
            ],
        ),
        (
            "bare-credentials",
            &[
                (
                    "redis-cli -u default:R3disPassw0rd@redis-master:6379",
                    "R3disPassw0rd",
                ),
                (
                    "jdbc url (app:Sup3rS3cretPw@db.internal:5432/orders)",
                    "Sup3rS3cretPw",
                ),
            ],
            &[
                "mail from bob@example.com rejected",
                "image nginx:1.25@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                "connect db.internal:5432 refused at 10:30:01",
            ],
        ),
        (
            "passphrase",
            &[
                (
                    "gpg passphrase=correct-horse-battery-staple",
                    "correct-horse-battery-staple",
                ),
                ("ssh_key_passphrase: 'Xy9!k2LmN0pq'", "Xy9!k2LmN0pq"),
            ],
            &["passphrase required for key", "passphrase_length=12"],
        ),
        (
            "azure-sas",
            &[(
                "GET https://acct.blob.core.windows.net/c/b.txt?sv=2021-08-06&sr=b&sp=r&sig=J3hsd8%2FkD9s0Lw%2BqZx7YvB1nM4tR6uE%3D 403",
                "J3hsd8%2FkD9s0Lw%2BqZx7YvB1nM4tR6uE%3D",
            )],
            &[
                "signal=ok sig=short",
                "DefaultEndpointsProtocol=https;AccountName=acct",
            ],
        ),
        (
            "cookie",
            &[
                (
                    "Cookie: session=9c8b7a6f5e4d3c2b1a; theme=dark",
                    "9c8b7a6f5e4d3c2b1a",
                ),
                (
                    "Set-Cookie: sid=Qk9tZXNlc3Npb24xMjM; Path=/; HttpOnly",
                    "Qk9tZXNlc3Npb24xMjM",
                ),
                (
                    r#"{"cookie":"_gh_sess=Zm9vYmFyYmF6cXV4"}"#,
                    "Zm9vYmFyYmF6cXV4",
                ),
            ],
            &[
                "cookie consent banner shown",
                "cookie_count=3",
                "Set-Cookie header missing",
            ],
        ),
        (
            "aws",
            &[
                ("key AKIA2SMEKG2N6EQS6FEL used", "AKIA2SMEKG2N6EQS6FEL"),
                (
                    "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                ),
            ],
            &["AKIA is a prefix; akia2smekg2n6eqs6fel is not a key"],
        ),
        (
            "github",
            &[(
                "using ghp_ErGs9YHTFL3D6OkEGfKlP8uX8DJcNSU70wWM now",
                "ghp_ErGs9YHTFL3D6OkEGfKlP8uX8DJcNSU70wWM",
            )],
            &["ghp_short and gho_ are fine"],
        ),
        (
            "slack",
            &[
                (
                    "token xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOp",
                    "123456789012-1234567890123-AbCdEfGhIjKlMnOp",
                ),
                (
                    "hook https://hooks.slack.com/services/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 ok",
                    "T0AB12CD3/B0AB12CD3EF/Xy12Ab34Cd56Ef78Gh90Ij12",
                ),
            ],
            &["xox is a word; see hooks.slack.dev"],
        ),
        (
            "jwt",
            &[(
                "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk end",
                "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            )],
            &["eyJ is how base64 JSON starts"],
        ),
        (
            "pem",
            &[(
                "-----BEGIN RSA PRIVATE KEY-----\nMIIEogIBAAKCAQEAJmpNCXOyaj0j1CBuA7vxEombhTOEurT45yOATO3X89XZsWmr\nq8Zr2kLm7Tn\n-----END RSA PRIVATE KEY-----",
                "MIIEogIBAAKCAQEAJmpNCXOyaj0j1CBuA7vxEombhTOEurT45yOATO3X89XZsWmr",
            )],
            &["-----BEGIN CERTIFICATE-----"],
        ),
        (
            "openai-npm-sendgrid",
            &[
                (
                    "OPENAI sk-proj-Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56 set",
                    "Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56",
                ),
                (
                    "npm_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8 in .npmrc",
                    "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8",
                ),
                (
                    "SG.abcdefghij0123456789AB.cdefghijklmnopqrstuvwxyz0123456789ABCDEFGHI sent",
                    "cdefghijklmnopqrstuvwxyz0123456789ABCDEFGHI",
                ),
            ],
            &["disk-pressure on node sk-1", "task-runner npm_config ok"],
        ),
    ];

    /// Ordinary log text that no rule may touch (ids are evidence).
    const ORDINARY: &[&str] = &[
        "trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7",
        "request b4e8d022-126e-49ed-87f7-52eef7f3980e done in 12ms",
        "pulled ghcr.io/acme/cart@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "GET /api/v1/orders/42?page=2 200 1.2ms user=bob",
        "pod checkout-7c9d5f6b8-abcde ready; node ip-10-0-3-17.ec2.internal",
    ];

    #[test]
    fn every_format_is_redacted_and_its_near_misses_kept() {
        let red = Redactor::new();
        for (format, positives, near_misses) in CORPUS {
            for (text, secret) in *positives {
                let out = red.redact_lines(text);
                assert!(out.contains("[REDACTED"), "{format}: no marker in {out:?}");
                assert!(
                    leaked(&out, secret).is_none(),
                    "{format}: {secret} survived in {out:?}"
                );
            }
            for text in *near_misses {
                assert_eq!(red.redact_lines(text), *text, "{format}: near miss changed");
            }
        }
        for text in ORDINARY {
            assert_eq!(red.redact_lines(text), *text, "ordinary text changed");
        }
    }

    #[test]
    fn keys_and_user_names_stay_visible() {
        let red = Redactor::new();
        let out = red.redact("redis-cli -u default:R3disPassw0rd@redis-master:6379");
        assert_eq!(
            out,
            "redis-cli -u default:[REDACTED:password]@redis-master:6379"
        );
        let out = red.redact("Set-Cookie: sid=Qk9tZXNlc3Npb24xMjM; Path=/; HttpOnly");
        assert_eq!(out, "Set-Cookie: sid=[REDACTED:cookie]; Path=/; HttpOnly");
        let out = red.redact("exec --password Tr0ub4dor&3xyz --user root");
        assert_eq!(out, "exec --password [REDACTED:password] --user root");
    }

    #[test]
    fn clip_never_cuts_a_secret_below_its_rule() {
        let red = Redactor::new();
        let text = "event: credentials AKIA2SMEKG2N6EQS6FEL rejected";
        for max in 0..text.len() + 2 {
            let out = red.clip(text, max);
            assert!(!out.contains("AKIA2SMEKG"), "{max}: {out}");
            // Clipping first, then redacting, is the bug this order prevents.
            let wrong = red.redact(&crate::text::clip(text, max)).into_owned();
            if (30..40).contains(&max) {
                assert!(wrong.contains("AKIA2SMEKG"), "{max}: {wrong}");
            }
        }
    }

    #[test]
    fn json_redaction_keeps_the_structure() {
        let red = Redactor::new();
        let v = serde_json::json!({
            "q": "password=hunter2hunter2\"}",
            "password": "plain",
            "nested": [{"api_key": "abc"}, "AKIA2SMEKG2N6EQS6FEL"],
            "max_tokens": 100,
            "path": "src/main.rs",
        });
        let out = red.redact_json_text(&v.to_string());
        let back: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(back["q"], "password=[REDACTED:password]");
        assert_eq!(back["password"], "[REDACTED:secret]");
        assert_eq!(back["nested"][0]["api_key"], "[REDACTED:secret]");
        assert_eq!(back["nested"][1], "[REDACTED:aws-key]");
        assert_eq!(back["max_tokens"], 100);
        assert_eq!(back["path"], "src/main.rs");
        assert_eq!(
            red.redact_json_text("not json token=abc"),
            "not json token=[REDACTED:token]"
        );
    }

    fn re(pattern: &str) -> BoxedStrategy<String> {
        proptest::string::string_regex(pattern)
            .expect("a valid generator pattern")
            .boxed()
    }

    /// A secret of one format: the text to embed and the secret parts in it.
    fn secret() -> impl Strategy<Value = (String, Vec<String>)> {
        let whole = |p: &str| re(p).prop_map(|s| (s.clone(), vec![s])).boxed();
        let within = |p: &str, wrap: &'static str| {
            re(p)
                .prop_map(move |s| (wrap.replace("{}", &s), vec![s]))
                .boxed()
        };
        let value = "[A-Za-z0-9!#%^*]{10,24}";
        let formats: Vec<BoxedStrategy<(String, Vec<String>)>> = vec![
            whole("(AKIA|ASIA)[A-Z0-9]{16}"),
            within("[A-Za-z0-9/+]{40}", "aws_secret_access_key={}"),
            whole("gh[pousr]_[A-Za-z0-9]{36}"),
            whole("github_pat_[A-Za-z0-9_]{82}"),
            whole("xox[bp]-[0-9]{12}-[0-9]{13}-[A-Za-z0-9]{24}"),
            within(
                "T[A-Z0-9]{8}/B[A-Z0-9]{10}/[A-Za-z0-9]{24}",
                "https://hooks.slack.com/services/{}",
            ),
            whole("eyJ[A-Za-z0-9_-]{10,30}\\.eyJ[A-Za-z0-9_-]{10,60}\\.[A-Za-z0-9_-]{20,43}"),
            whole("(sk|rk)_(live|test)_[A-Za-z0-9]{24}"),
            whole("AIza[0-9A-Za-z_-]{35}"),
            whole("gl(pat|rt|dt)-[A-Za-z0-9_-]{20}"),
            whole("key-[0-9a-z]{32}"),
            whole("shp(at|ss|ca|pa)_[a-f0-9]{32}"),
            whole("SK[0-9a-f]{32}"),
            within("[0-9a-f]{32}", "auth={}"),
            within("[0-9a-f]{32}", "auth_token: {}"),
            within("[0-9a-f]{40}", "\"private_key_id\": \"{}\","),
            within(value, "--password {}"),
            within(value, "--db-password={}"),
            within(value, "{\"pass\":\"{}\"}"),
            within(value, "{\"password\": \"{}\"}"),
            within(value, "app:{}@db.internal:5432"),
            within(value, "postgres://app:{}@db:5432/app"),
            within(value, "passphrase={}"),
            within(
                "[A-Za-z0-9]{20,40}%3D",
                "https://a.blob.core.windows.net/c/b?sv=2021-08-06&sr=b&sig={}",
            ),
            within("[A-Za-z0-9_-]{16,40}", "Cookie: session={}; theme=dark"),
            within(
                "[A-Za-z0-9_-]{16,40}",
                "Set-Cookie: sid={}; Path=/; HttpOnly",
            ),
            within("[A-Za-z0-9._~+/-]{16,40}", "Authorization: Bearer {}"),
            within(value, "api_key={}"),
            whole("sk-proj-[A-Za-z0-9_-]{40}"),
            whole("npm_[A-Za-z0-9]{36}"),
            (
                proptest::collection::vec(re("[A-Za-z0-9+/]{64}"), 1..4),
                re("[A-Za-z0-9+/]{10,63}"),
            )
                .prop_map(|(mut lines, last)| {
                    lines.push(last);
                    let block = format!(
                        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----",
                        lines.join("\n")
                    );
                    (block, lines)
                })
                .boxed(),
        ];
        proptest::strategy::Union::new(formats)
    }

    /// Ordinary log words, ids and digests among them.
    fn word() -> impl Strategy<Value = String> {
        prop_oneof![
            re("[a-z]{1,10}"),
            re("[0-9]{1,6}"),
            Just("ERROR".to_owned()),
            Just("level=info".to_owned()),
            Just("user=bob".to_owned()),
            Just("GET /api/v1/orders".to_owned()),
            Just("b4e8d022-126e-49ed-87f7-52eef7f3980e".to_owned()),
            Just("trace_id=4bf92f3577b34da6a3ce929d0e0e4736".to_owned()),
            Just(
                "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
                    .to_owned()
            ),
            Just("héllo→wörld".to_owned()),
        ]
    }

    fn separator() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![" ", "\n", "\t", " | ", "  "])
    }

    /// Secrets of every format at random places in random text, through
    /// redact-then-clip at a random length: no 10-character fragment of any
    /// secret is left.
    #[test]
    fn no_fragment_of_a_secret_survives_redact_then_clip() {
        let red = Redactor::new();
        proptest!(ProptestConfig::with_cases(400), |(
            words in proptest::collection::vec(word(), 0..30),
            secrets in proptest::collection::vec((secret(), any::<prop::sample::Index>()), 1..5),
            seps in proptest::collection::vec(separator(), 40),
            max in 0usize..600,
        )| {
            let mut parts = words;
            let mut planted = Vec::new();
            for ((text, parts_of_secret), at) in secrets {
                let i = at.index(parts.len() + 1);
                parts.insert(i, text);
                planted.extend(parts_of_secret);
            }
            let mut text = String::new();
            for (i, p) in parts.iter().enumerate() {
                if i > 0 {
                    text.push_str(seps[i % seps.len()]);
                }
                text.push_str(p);
            }
            let unclipped = red.redact_lines(&text);
            let out = red.clip(&text, max);
            for s in &planted {
                prop_assert!(leaked(&unclipped, s).is_none(), "{} in {:?}", s, unclipped);
                prop_assert!(leaked(&out, s).is_none(), "{} in {:?}", s, out);
            }
        });
    }
}
