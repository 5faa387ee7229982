//! Drain-style online template miner.
//!
//! The idea is Drain's (He et al., ICWS 2017): messages are masked, tokenised,
//! and routed through a fixed-depth tree — first by token count, then by their
//! first few tokens — to a small leaf list of templates; the most similar
//! template (share of positions with equal tokens) absorbs the message if it is
//! similar enough, turning differing positions into `<*>`, else the message starts
//! a new template. Routing by the leading tokens keeps every comparison local, so
//! the cost per line does not grow with the number of templates.
//!
//! Memory is bounded by the number of templates, never by the number of lines:
//! nothing about a line is kept after `add` returns, and past
//! [`MinerConfig::max_templates`] new shapes fall into one overflow template.

use std::io::{BufRead, Write};

use rustc_hash::FxHashMap;

use super::mask::{MaskedTokens, WILDCARD};
use crate::{Error, Result};

/// Identifies a template for the life of a [`TemplateMiner`]. Ids are dense,
/// in order of first appearance, and survive generalisation of the template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct TemplateId(pub u32);

/// Tuning of the miner. One configuration serves all log sources: the LogHub
/// benchmark in evals/loghub/ is run with [`MinerConfig::default`] on all ten
/// datasets.
#[derive(Debug, Clone)]
pub struct MinerConfig {
    /// Tree depth in Drain's sense: the root and the token-count level plus
    /// `depth - 2` levels keyed by leading tokens.
    pub depth: usize,
    /// Minimum share of equal, non-wildcard token positions for a message to
    /// join a template.
    pub similarity: f64,
    /// Distinct literal children per tree node before further tokens are
    /// routed through the node's wildcard child (bounds fan-out on
    /// unmasked variables in leading positions).
    pub max_children: usize,
    /// Templates kept; messages that would create more go to one overflow template.
    pub max_templates: usize,
    /// Weight of a position where template and message both hold a masked
    /// value, relative to an equal literal token. Below 1 because two values
    /// agreeing says less than two words agreeing: `iar <*> dear <*>` and
    /// `<*> <*> <*> <*>` are different events.
    pub value_weight: f64,
    /// Merge templates of different token counts whose words (tokens with a
    /// letter) are the same; see `add_tokens`.
    pub merge_skeletons: bool,
}

impl Default for MinerConfig {
    fn default() -> Self {
        Self {
            depth: 4,
            similarity: 0.4,
            max_children: 100,
            max_templates: 50_000,
            value_weight: 0.5,
            merge_skeletons: true,
        }
    }
}

/// Text of the catch-all template that absorbs messages past `max_templates`.
pub const OVERFLOW_TEMPLATE: &str = "<overflow: template limit reached>";

#[derive(Debug, Default)]
struct Node {
    children: FxHashMap<Box<str>, u32>,
    clusters: Vec<u32>,
}

#[derive(Debug)]
struct Template {
    tokens: Vec<Box<str>>,
    text: String,
}

impl Template {
    fn new(tokens: &MaskedTokens) -> Self {
        let tokens: Vec<Box<str>> = tokens.iter().map(Box::from).collect();
        let text = tokens.join(" ");
        Self { tokens, text }
    }
}

/// Online template miner; see the module documentation.
#[derive(Debug)]
pub struct TemplateMiner {
    cfg: MinerConfig,
    nodes: Vec<Node>,
    /// Root children by token count.
    roots: FxHashMap<usize, u32>,
    /// Drain clusters, in order of creation.
    templates: Vec<Template>,
    /// Public id of each Drain cluster.
    public: Vec<u32>,
    /// Drain cluster whose text represents each public id.
    representative: Vec<u32>,
    /// Public id by skeleton (the template's tokens that carry a letter).
    skeletons: FxHashMap<Box<str>, u32>,
    overflow: Option<TemplateId>,
    scratch: MaskedTokens,
    skeleton_scratch: String,
}

impl TemplateMiner {
    pub fn new(cfg: MinerConfig) -> Self {
        Self {
            cfg,
            nodes: Vec::new(),
            roots: FxHashMap::default(),
            templates: Vec::new(),
            public: Vec::new(),
            representative: Vec::new(),
            skeletons: FxHashMap::default(),
            overflow: None,
            scratch: MaskedTokens::new(),
            skeleton_scratch: String::new(),
        }
    }

    /// Mines one message and returns the id of the template it belongs to.
    pub fn add(&mut self, message: &str) -> TemplateId {
        let mut tokens = std::mem::take(&mut self.scratch);
        tokens.fill(message);
        let id = self.add_tokens(&tokens);
        self.scratch = tokens;
        id
    }

    /// The template text, e.g. `Connection refused to <*>`. An id that this
    /// miner never returned yields the empty string.
    pub fn template(&self, id: TemplateId) -> &str {
        if Some(id) == self.overflow {
            return OVERFLOW_TEMPLATE;
        }
        self.representative
            .get(id.0 as usize)
            .map_or("", |&c| self.templates[c as usize].text.as_str())
    }

    /// Number of templates, the overflow template included once used.
    pub fn len(&self) -> usize {
        self.representative.len() + usize::from(self.overflow.is_some())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// All templates in id order.
    pub fn templates(&self) -> impl Iterator<Item = (TemplateId, &str)> + '_ {
        (0..self.len() as u32).map(|i| (TemplateId(i), self.template(TemplateId(i))))
    }

    fn prefix_levels(&self, len: usize) -> usize {
        self.cfg.depth.saturating_sub(2).min(len)
    }

    fn add_tokens(&mut self, tokens: &MaskedTokens) -> TemplateId {
        let leaf = self.find_leaf(tokens);
        if let Some(leaf) = leaf
            && let Some(best) = self.best_match(leaf, tokens)
        {
            if self.generalise(best, tokens) {
                let public = self.public[best as usize];
                self.register_skeleton(best, public);
            }
            return TemplateId(self.public[best as usize]);
        }
        if self.templates.len() >= self.cfg.max_templates {
            let next = self.representative.len() as u32;
            return *self.overflow.get_or_insert(TemplateId(next));
        }
        let id = self.templates.len() as u32;
        self.templates.push(Template::new(tokens));
        let leaf = match leaf {
            Some(leaf) => leaf,
            None => self.insert_path(tokens),
        };
        self.nodes[leaf as usize].clusters.push(id);
        // Drain never compares messages of different token counts; the
        // skeleton does, so `<*> bytes sent` and `<*> bytes (<*>) sent`, or a
        // value written as one or as three words, end up as one template.
        let public = match self.lookup_skeleton(id) {
            Some(public) => public,
            None => {
                let public = self.representative.len() as u32;
                self.representative.push(id);
                public
            }
        };
        self.public.push(public);
        self.register_skeleton(id, public);
        TemplateId(public)
    }

    fn lookup_skeleton(&mut self, cluster: u32) -> Option<u32> {
        if !self.cfg.merge_skeletons {
            return None;
        }
        skeleton(
            &self.templates[cluster as usize].tokens,
            &mut self.skeleton_scratch,
        );
        self.skeletons.get(self.skeleton_scratch.as_str()).copied()
    }

    fn register_skeleton(&mut self, cluster: u32, public: u32) {
        if !self.cfg.merge_skeletons {
            return;
        }
        skeleton(
            &self.templates[cluster as usize].tokens,
            &mut self.skeleton_scratch,
        );
        if !self.skeletons.contains_key(self.skeleton_scratch.as_str()) {
            self.skeletons
                .insert(self.skeleton_scratch.as_str().into(), public);
        }
    }

    /// Follows the tree as far as it exists; `None` if some level has neither
    /// the token nor a wildcard child.
    fn find_leaf(&self, tokens: &MaskedTokens) -> Option<u32> {
        let mut node = *self.roots.get(&tokens.len())?;
        for i in 0..self.prefix_levels(tokens.len()) {
            let children = &self.nodes[node as usize].children;
            node = match children.get(tokens.get(i)) {
                Some(&child) => child,
                None => *children.get(WILDCARD)?,
            };
        }
        Some(node)
    }

    /// Creates the missing part of the path for `tokens` and returns its leaf.
    fn insert_path(&mut self, tokens: &MaskedTokens) -> u32 {
        let root = match self.roots.get(&tokens.len()) {
            Some(&root) => root,
            None => {
                let root = self.new_node();
                self.roots.insert(tokens.len(), root);
                root
            }
        };
        let mut node = root;
        for i in 0..self.prefix_levels(tokens.len()) {
            let token = tokens.get(i);
            let children = &self.nodes[node as usize].children;
            if let Some(&child) = children.get(token) {
                node = child;
                continue;
            }
            let has_wildcard = children.contains_key(WILDCARD);
            let literals = children.len() - usize::from(has_wildcard);
            // Values that escaped masking would otherwise grow a node without
            // bound; past the cap they share the wildcard branch, as in Drain.
            let key = if is_value(token) || literals + 1 >= self.cfg.max_children {
                WILDCARD
            } else {
                token
            };
            node = match self.nodes[node as usize].children.get(key) {
                Some(&child) => child,
                None => {
                    let child = self.new_node();
                    self.nodes[node as usize].children.insert(key.into(), child);
                    child
                }
            };
        }
        node
    }

    fn new_node(&mut self) -> u32 {
        self.nodes.push(Node::default());
        (self.nodes.len() - 1) as u32
    }

    /// The leaf's template most similar to `tokens`, if similar enough; ties go
    /// to the template with more wildcards (the more general one).
    fn best_match(&self, leaf: u32, tokens: &MaskedTokens) -> Option<u32> {
        let n = tokens.len();
        let mut best: Option<(u32, f64, usize)> = None;
        for &id in &self.nodes[leaf as usize].clusters {
            let template = &self.templates[id as usize];
            let (mut same, mut values, mut params) = (0usize, 0usize, 0usize);
            for (t, tok) in template.tokens.iter().zip(tokens.iter()) {
                if &**t == WILDCARD {
                    if tok == WILDCARD {
                        values += 1;
                    } else {
                        params += 1;
                    }
                } else if &**t == tok {
                    same += 1;
                }
            }
            let score = same as f64 + self.cfg.value_weight * values as f64;
            if best.is_none_or(|(_, s, p)| score > s || (score == s && params > p)) {
                best = Some((id, score, params));
            }
        }
        let (id, score, _) = best?;
        let similar = n == 0 || score >= self.cfg.similarity * n as f64;
        similar.then_some(id)
    }

    /// Turns positions where `tokens` differs into wildcards; true if the template changed.
    fn generalise(&mut self, id: u32, tokens: &MaskedTokens) -> bool {
        let template = &mut self.templates[id as usize];
        let mut changed = false;
        for (t, tok) in template.tokens.iter_mut().zip(tokens.iter()) {
            if &**t != tok && &**t != WILDCARD {
                *t = WILDCARD.into();
                changed = true;
            }
        }
        if changed {
            template.text = template.tokens.join(" ");
        }
        changed
    }
}

impl Default for TemplateMiner {
    fn default() -> Self {
        Self::new(MinerConfig::default())
    }
}

/// The words of a template: its tokens that carry a letter, space-separated.
fn skeleton(tokens: &[Box<str>], out: &mut String) {
    out.clear();
    for t in tokens {
        if t.bytes().any(|b| b.is_ascii_alphabetic()) {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(t);
        }
    }
}

/// A token that is a value through and through, so useless as a routing key.
fn is_value(token: &str) -> bool {
    token == WILDCARD
}

/// Reads one message per line from `input`, mines each as-is (masking, no
/// multi-line grouping: each line is one message) and writes the id of its
/// template, one per line and in order, to `out`. Returns the number of lines.
///
/// This is `rollwise logs cluster` and what the LogHub benchmark runs.
pub fn cluster_lines(mut input: impl BufRead, out: impl Write) -> Result<u64> {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, out);
    let mut miner = TemplateMiner::default();
    let mut line = Vec::with_capacity(1024);
    let mut count = 0u64;
    let mut digits = [0u8; 11];
    loop {
        line.clear();
        let read = input
            .read_until(b'\n', &mut line)
            .map_err(|source| io_error("reading log lines", source))?;
        if read == 0 {
            break;
        }
        let mut text = line.as_slice();
        if let Some(rest) = text.strip_suffix(b"\n") {
            text = rest;
        }
        if let Some(rest) = text.strip_suffix(b"\r") {
            text = rest;
        }
        let id = match std::str::from_utf8(text) {
            Ok(text) => miner.add(text),
            Err(_) => miner.add(&String::from_utf8_lossy(text)),
        };
        out.write_all(format_id(id.0, &mut digits))
            .map_err(|source| io_error("writing template ids", source))?;
        count += 1;
    }
    out.flush()
        .map_err(|source| io_error("writing template ids", source))?;
    Ok(count)
}

/// Decimal digits of `n` followed by a newline, without going through `fmt`.
fn format_id(mut n: u32, buf: &mut [u8; 11]) -> &[u8] {
    let mut i = buf.len() - 1;
    buf[i] = b'\n';
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

fn io_error(what: &str, source: std::io::Error) -> Error {
    Error::Io {
        what: what.to_string(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_shape_shares_a_template() {
        let mut m = TemplateMiner::default();
        let a = m.add("Connection refused to 10.0.0.1:5432");
        let b = m.add("Connection refused to 10.0.0.2:5432");
        assert_eq!(a, b);
        assert_eq!(m.template(a), "Connection refused to <*>");
        let c = m.add("cache miss for key product");
        assert_ne!(a, c);
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn ids_are_stable_when_a_template_generalises() {
        let mut m = TemplateMiner::default();
        let first = m.add("session opened for alice from web");
        assert_eq!(m.template(first), "session opened for alice from web");
        let other = m.add("disk full on volume data");
        let second = m.add("session opened for bob from web");
        assert_eq!(first, second);
        assert_eq!(m.template(first), "session opened for <*> from web");
        let third = m.add("session opened for carol from mobile");
        assert_eq!(third, first);
        assert_eq!(m.template(first), "session opened for <*> from <*>");
        assert_eq!(m.template(other), "disk full on volume data");
        assert_eq!(m.add("disk full on volume data"), other);
    }

    #[test]
    fn token_counts_merge_through_the_skeleton() {
        let mut m = TemplateMiner::default();
        let a = m.add("10.0.0.1:80 close, 0 bytes sent, lifetime 00:01");
        let b = m.add("proxy.example.com:5070 close, 1190 bytes (1.16 KB) sent, lifetime <1 sec");
        assert_eq!(a, b);
        let cfg = MinerConfig {
            merge_skeletons: false,
            ..MinerConfig::default()
        };
        let mut plain = TemplateMiner::new(cfg);
        let a = plain.add("10.0.0.1:80 close, 0 bytes sent, lifetime 00:01");
        let b =
            plain.add("proxy.example.com:5070 close, 1190 bytes (1.16 KB) sent, lifetime <1 sec");
        assert_ne!(a, b);
    }

    #[test]
    fn different_lengths_never_merge() {
        let mut m = TemplateMiner::default();
        let a = m.add("worker started");
        let b = m.add("worker started again");
        assert_ne!(a, b);
    }

    #[test]
    fn template_cap_sends_new_shapes_to_overflow() {
        let cfg = MinerConfig {
            max_templates: 3,
            ..MinerConfig::default()
        };
        let mut m = TemplateMiner::new(cfg);
        let words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"];
        let ids: Vec<_> = words
            .iter()
            .map(|w| m.add(&format!("{w} {w} {w}")))
            .collect();
        assert_eq!(ids[..3], [TemplateId(0), TemplateId(1), TemplateId(2)]);
        assert_eq!(ids[3], ids[4]);
        assert_eq!(ids[4], ids[5]);
        assert_eq!(m.template(ids[3]), OVERFLOW_TEMPLATE);
        assert_eq!(m.len(), 4);
        // Known shapes still match their own template after the cap.
        assert_eq!(m.add("bravo bravo bravo"), TemplateId(1));
        assert_eq!(m.len(), 4);
    }

    #[test]
    fn cluster_lines_writes_one_id_per_line() -> Result<()> {
        let input = "a b 1\r\na b 2\nx y z\n\nlast line without newline";
        let mut out = Vec::new();
        let n = cluster_lines(input.as_bytes(), &mut out)?;
        assert_eq!(n, 5);
        assert_eq!(String::from_utf8_lossy(&out), "0\n0\n1\n2\n3\n");
        Ok(())
    }

    #[test]
    fn format_id_handles_edges() {
        let mut buf = [0u8; 11];
        assert_eq!(format_id(0, &mut buf), b"0\n");
        assert_eq!(format_id(u32::MAX, &mut buf), b"4294967295\n");
    }

    /// One CSV record's fields; LogHub quotes fields with commas and doubles quotes.
    fn csv_fields(line: &str) -> Vec<String> {
        let mut fields = vec![String::new()];
        let mut quoted = false;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match (c, quoted) {
                ('"', true) if chars.peek() == Some(&'"') => {
                    chars.next();
                    fields.last_mut().into_iter().for_each(|f| f.push('"'));
                }
                ('"', _) => quoted = !quoted,
                (',', false) => fields.push(String::new()),
                (c, _) => fields.last_mut().into_iter().for_each(|f| f.push(c)),
            }
        }
        fields
    }

    /// Grouping accuracy on LogHub's Proxifier sample, whose events vary in
    /// token count; measured 0.977 (evals/loghub/README.md), floor well below.
    #[test]
    fn loghub_proxifier_grouping_accuracy() -> Result<()> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/data/loghub/Proxifier/Proxifier_2k.log_structured.csv");
        let Ok(text) = std::fs::read_to_string(&path) else {
            println!("skipping: {} not found", path.display());
            return Ok(());
        };
        let mut lines = text.lines();
        let header = csv_fields(lines.next().unwrap_or_default());
        let col = |name: &str| header.iter().position(|h| h == name);
        let (Some(content), Some(event)) = (col("Content"), col("EventId")) else {
            return Err(Error::Config("unexpected LogHub header".into()));
        };
        let mut miner = TemplateMiner::default();
        let mut pairs = Vec::new();
        for line in lines {
            let f = csv_fields(line);
            pairs.push((f[event].clone(), miner.add(&f[content])));
        }
        let mut truth_size: FxHashMap<&str, usize> = FxHashMap::default();
        let mut groups: FxHashMap<TemplateId, Vec<&str>> = FxHashMap::default();
        for (t, p) in &pairs {
            *truth_size.entry(t.as_str()).or_default() += 1;
            groups.entry(*p).or_default().push(t.as_str());
        }
        let correct: usize = groups
            .values()
            .filter(|m| m.iter().all(|t| *t == m[0]) && truth_size[m[0]] == m.len())
            .map(Vec::len)
            .sum();
        let accuracy = correct as f64 / pairs.len() as f64;
        assert!(pairs.len() == 2000, "{}", pairs.len());
        assert!(accuracy >= 0.85, "grouping accuracy {accuracy}");
        Ok(())
    }
}
