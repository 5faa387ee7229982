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
//!
//! Time per line is bounded too: a line is compared with the templates of one
//! leaf only, and a leaf holds at most [`MinerConfig::max_leaf_templates`]
//! (lines of distinct words that share a length and the wildcard branch would
//! otherwise all land in one leaf, and each would be compared with every
//! template before it: quadratic). A [`Budget`] bounds the templates each
//! source (a pod, a version) may create. Every cap sends the message to the
//! overflow template, counted, never dropped; [`TemplateMiner::caps`] says
//! how many messages each cap redirected.

use std::io::{BufRead, Write};

use rustc_hash::FxHashMap;

use super::mask::{MaskedTokens, WILDCARD};
use crate::{Error, Result};

/// Identifies a template for the life of a [`TemplateMiner`]. Ids are dense,
/// in order of first appearance, and survive generalisation of the template.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
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
    /// Templates per leaf of the tree, which bounds the comparisons per line;
    /// a message that would create one more goes to the overflow template.
    pub max_leaf_templates: usize,
    /// New templates one pod's lines may create ([`Budget::pod`]).
    pub max_templates_per_pod: usize,
    /// New templates one version's (canary or stable) lines may create in all.
    pub max_templates_per_version: usize,
    /// Weight of a position where template and message both hold a masked
    /// value, relative to an equal literal token. Below 1 because two values
    /// agreeing says less than two words agreeing: `iar <*> dear <*>` and
    /// `<*> <*> <*> <*>` are different events.
    pub value_weight: f64,
    /// Merge templates of different token counts whose words (tokens with a
    /// letter) are the same; see `add_tokens`.
    pub merge_skeletons: bool,
    /// Slots of the memo of recent masked messages and their template (0
    /// turns it off). Exact: an entry is used only while no template has
    /// changed since it was stored, so ids are the same with and without it.
    pub memo_slots: usize,
}

impl Default for MinerConfig {
    fn default() -> Self {
        Self {
            depth: 4,
            similarity: 0.4,
            max_children: 100,
            max_templates: 50_000,
            max_leaf_templates: 128,
            max_templates_per_pod: 1_000,
            max_templates_per_version: 4_000,
            value_weight: 0.5,
            merge_skeletons: true,
            memo_slots: 4096,
        }
    }
}

/// Longest masked text (bytes) and most tokens the memo keeps, so that its
/// memory is bounded: at most about 1 KiB a slot.
const MEMO_MAX_TEXT: usize = 512;
const MEMO_MAX_TOKENS: usize = 128;

/// Direct-mapped memo: masked message → template, for the messages that left
/// the miner unchanged. The miner's `generation` counts changes (new template,
/// generalised template, overflow); an entry stored at generation `g` says
/// "in the state of generation `g`, these tokens go to `id` and change
/// nothing", so it is valid exactly while the generation is still `g`, and a
/// hit returns what the full path would. Masked messages repeat heavily once
/// templates have settled, so this skips routing and similarity for most lines.
#[derive(Debug, Default)]
struct Memo {
    slots: Vec<MemoSlot>,
}

#[derive(Debug, Default)]
struct MemoSlot {
    /// 0: empty (generations start at 1).
    generation: u64,
    tokens: MaskedTokens,
    id: TemplateId,
}

impl Memo {
    /// The slot for `tokens`, if the memo is on and `tokens` are short enough to keep.
    fn slot(&mut self, tokens: &MaskedTokens, slots: usize) -> Option<usize> {
        if slots == 0 || tokens.text_len() > MEMO_MAX_TEXT || tokens.len() > MEMO_MAX_TOKENS {
            return None;
        }
        if self.slots.is_empty() {
            self.slots
                .resize_with(slots.next_power_of_two(), MemoSlot::default);
        }
        Some(tokens.fingerprint() as usize & (self.slots.len() - 1))
    }

    fn get(&self, slot: usize, tokens: &MaskedTokens, generation: u64) -> Option<TemplateId> {
        let entry = self.slots.get(slot)?;
        (entry.generation == generation && entry.tokens == *tokens).then_some(entry.id)
    }

    fn put(&mut self, slot: usize, tokens: &MaskedTokens, generation: u64, id: TemplateId) {
        if let Some(entry) = self.slots.get_mut(slot) {
            entry.generation = generation;
            entry.tokens.copy_from(tokens);
            entry.id = id;
        }
    }
}

/// Text of the catch-all template that absorbs messages past a template cap.
pub const OVERFLOW_TEMPLATE: &str = "<overflow: template limit reached>";

/// How many new templates the lines being mined may still create: one
/// source of distinct lines (a pod logging a random value in every word)
/// must not use up the templates of the others, nor cost without bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pod: usize,
    version: usize,
}

impl Budget {
    /// No limit but the miner's own.
    pub fn unlimited() -> Self {
        Budget {
            pod: usize::MAX,
            version: usize::MAX,
        }
    }

    /// The budget of a version's first pod.
    pub fn version(cfg: &MinerConfig) -> Self {
        Budget {
            pod: cfg.max_templates_per_pod,
            version: cfg.max_templates_per_version,
        }
    }

    /// The same version's next pod: a fresh pod quota, what is left of the version's.
    pub fn next_pod(self, cfg: &MinerConfig) -> Self {
        Budget {
            pod: cfg.max_templates_per_pod,
            version: self.version,
        }
    }
}

/// Messages each cap sent to the overflow template.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CapCounts {
    /// Past [`MinerConfig::max_templates`].
    pub total: u64,
    /// Past [`MinerConfig::max_leaf_templates`].
    pub leaf: u64,
    /// Past [`MinerConfig::max_templates_per_pod`].
    pub pod: u64,
    /// Past [`MinerConfig::max_templates_per_version`].
    pub version: u64,
}

impl CapCounts {
    /// Messages that went to the overflow template.
    pub fn messages(&self) -> u64 {
        self.total + self.leaf + self.pod + self.version
    }

    pub fn is_zero(&self) -> bool {
        self.messages() == 0
    }
}

#[derive(Debug, Default)]
struct Node {
    /// Child by interned token.
    children: FxHashMap<u32, u32>,
    clusters: Vec<u32>,
}

#[derive(Debug)]
struct Template {
    /// Interned tokens.
    tokens: Vec<u32>,
    text: String,
}

/// The representative of the overflow template, which has no Drain cluster.
const NO_CLUSTER: u32 = u32::MAX;

/// Interned id of `<*>`.
const WILDCARD_ID: u32 = 0;
/// Id of a message token that no template holds: equal to no template token.
const UNKNOWN_ID: u32 = u32::MAX;

/// Token ↔ `u32` for the tokens of templates, so that routing and similarity
/// are integer compares. Only template tokens are interned (when a template
/// is created), never a message's, so it grows with templates, not lines: a
/// message token that is not here is [`UNKNOWN_ID`], which matches nothing,
/// exactly as its text would match no template token.
#[derive(Debug)]
struct Interner {
    ids: FxHashMap<Box<str>, u32>,
    tokens: Vec<Box<str>>,
}

impl Interner {
    fn new() -> Self {
        let mut interner = Self {
            ids: FxHashMap::default(),
            tokens: Vec::new(),
        };
        // The first token interned gets id 0, `WILDCARD_ID`.
        interner.intern(WILDCARD);
        interner
    }

    fn get(&self, token: &str) -> u32 {
        self.ids.get(token).copied().unwrap_or(UNKNOWN_ID)
    }

    fn intern(&mut self, token: &str) -> u32 {
        if let Some(&id) = self.ids.get(token) {
            return id;
        }
        let id = self.tokens.len() as u32;
        self.tokens.push(token.into());
        self.ids.insert(token.into(), id);
        id
    }

    fn text(&self, id: u32) -> &str {
        self.tokens.get(id as usize).map_or("", |t| t)
    }

    /// The tokens `ids` joined by single spaces.
    fn join(&self, ids: &[u32]) -> String {
        let mut text = String::new();
        for (i, &id) in ids.iter().enumerate() {
            if i > 0 {
                text.push(' ');
            }
            text.push_str(self.text(id));
        }
        text
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
    caps: CapCounts,
    /// Templates compared with a message so far (the miner's cost).
    comparisons: u64,
    /// Changes so far (templates created or generalised, overflow opened), from 1.
    generation: u64,
    memo: Memo,
    interner: Interner,
    scratch: MaskedTokens,
    /// Interned ids of the scratch tokens.
    ids: Vec<u32>,
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
            caps: CapCounts::default(),
            comparisons: 0,
            generation: 1,
            memo: Memo::default(),
            interner: Interner::new(),
            scratch: MaskedTokens::new(),
            ids: Vec::new(),
            skeleton_scratch: String::new(),
        }
    }

    /// Mines one message and returns the id of the template it belongs to.
    pub fn add(&mut self, message: &str) -> TemplateId {
        self.add_within(message, &mut Budget::unlimited())
    }

    /// [`TemplateMiner::add`], creating a template only while `budget`
    /// allows (and spending it); past it the message goes to the overflow template.
    pub fn add_within(&mut self, message: &str, budget: &mut Budget) -> TemplateId {
        self.scratch.fill(message);
        self.add_scratch(budget)
    }

    /// Mines the first line of `text` (see [`MaskedTokens::fill_line`]) and
    /// returns its template and the offset of the next line.
    fn add_line(&mut self, text: &str) -> (TemplateId, usize) {
        let used = self.scratch.fill_line(text);
        (self.add_scratch(&mut Budget::unlimited()), used)
    }

    /// Messages each cap sent to the overflow template so far.
    pub fn caps(&self) -> CapCounts {
        self.caps
    }

    fn add_scratch(&mut self, budget: &mut Budget) -> TemplateId {
        let slot = self.memo.slot(&self.scratch, self.cfg.memo_slots);
        if let Some(slot) = slot
            && let Some(id) = self.memo.get(slot, &self.scratch, self.generation)
        {
            return id;
        }
        let generation = self.generation;
        let mut ids = std::mem::take(&mut self.ids);
        ids.clear();
        ids.extend(self.scratch.iter().map(|t| self.interner.get(t)));
        let id = self.add_tokens(&mut ids, budget);
        self.ids = ids;
        // An overflow answer depends on the budget, which the memo does not
        // see: it is never kept, so a hit is the same whatever the budget.
        if let Some(slot) = slot
            && self.generation == generation
            && Some(id) != self.overflow
        {
            self.memo.put(slot, &self.scratch, generation, id);
        }
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
            .and_then(|&c| self.templates.get(c as usize))
            .map_or("", |t| t.text.as_str())
    }

    /// Number of templates, the overflow template included once used.
    pub fn len(&self) -> usize {
        self.representative.len()
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

    /// Mines the message in `self.scratch`, given as its interned token ids
    /// (`UNKNOWN_ID` tokens are interned here, from the scratch text, if the
    /// message starts a template).
    fn add_tokens(&mut self, tokens: &mut [u32], budget: &mut Budget) -> TemplateId {
        let leaf = self.find_leaf(tokens);
        if let Some(leaf) = leaf
            && let Some(best) = self.best_match(leaf, tokens)
        {
            if self.generalise(best, tokens) {
                self.generation += 1;
                let public = self.public[best as usize];
                self.register_skeleton(best, public);
            }
            return TemplateId(self.public[best as usize]);
        }
        let full_leaf = leaf
            .is_some_and(|l| self.nodes[l as usize].clusters.len() >= self.cfg.max_leaf_templates);
        let cap = if self.templates.len() >= self.cfg.max_templates {
            Some(&mut self.caps.total)
        } else if full_leaf {
            Some(&mut self.caps.leaf)
        } else if budget.version == 0 {
            Some(&mut self.caps.version)
        } else if budget.pod == 0 {
            Some(&mut self.caps.pod)
        } else {
            None
        };
        if let Some(count) = cap {
            *count += 1;
            if let Some(overflow) = self.overflow {
                return overflow;
            }
            self.generation += 1;
            // A public id of its own: templates created after it (under
            // another leaf, pod or version) come after it.
            let overflow = TemplateId(self.representative.len() as u32);
            self.representative.push(NO_CLUSTER);
            self.overflow = Some(overflow);
            return overflow;
        }
        budget.pod -= 1;
        budget.version -= 1;
        self.generation += 1;
        let id = self.templates.len() as u32;
        for (t, text) in tokens.iter_mut().zip(self.scratch.iter()) {
            if *t == UNKNOWN_ID {
                *t = self.interner.intern(text);
            }
        }
        let text = self.interner.join(tokens);
        self.templates.push(Template {
            tokens: tokens.to_vec(),
            text,
        });
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
            &self.interner,
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
            &self.interner,
            &mut self.skeleton_scratch,
        );
        if !self.skeletons.contains_key(self.skeleton_scratch.as_str()) {
            self.skeletons
                .insert(self.skeleton_scratch.as_str().into(), public);
        }
    }

    /// Follows the tree as far as it exists; `None` if some level has neither
    /// the token nor a wildcard child.
    fn find_leaf(&self, tokens: &[u32]) -> Option<u32> {
        let mut node = *self.roots.get(&tokens.len())?;
        for token in &tokens[..self.prefix_levels(tokens.len())] {
            let children = &self.nodes[node as usize].children;
            node = match children.get(token) {
                Some(&child) => child,
                None => *children.get(&WILDCARD_ID)?,
            };
        }
        Some(node)
    }

    /// Creates the missing part of the path for `tokens` and returns its leaf.
    fn insert_path(&mut self, tokens: &[u32]) -> u32 {
        let root = match self.roots.get(&tokens.len()) {
            Some(&root) => root,
            None => {
                let root = self.new_node();
                self.roots.insert(tokens.len(), root);
                root
            }
        };
        let mut node = root;
        for &token in &tokens[..self.prefix_levels(tokens.len())] {
            let children = &self.nodes[node as usize].children;
            if let Some(&child) = children.get(&token) {
                node = child;
                continue;
            }
            let has_wildcard = children.contains_key(&WILDCARD_ID);
            let literals = children.len() - usize::from(has_wildcard);
            // Values that escaped masking would otherwise grow a node without
            // bound; past the cap they share the wildcard branch, as in Drain.
            let key = if token == WILDCARD_ID || literals + 1 >= self.cfg.max_children {
                WILDCARD_ID
            } else {
                token
            };
            node = match self.nodes[node as usize].children.get(&key) {
                Some(&child) => child,
                None => {
                    let child = self.new_node();
                    self.nodes[node as usize].children.insert(key, child);
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
    fn best_match(&mut self, leaf: u32, tokens: &[u32]) -> Option<u32> {
        let n = tokens.len();
        let mut best: Option<(u32, f64, usize)> = None;
        let clusters = &self.nodes[leaf as usize].clusters;
        self.comparisons += clusters.len() as u64;
        for &id in clusters {
            let template = &self.templates[id as usize];
            let (mut same, mut values, mut params) = (0usize, 0usize, 0usize);
            for (&t, &tok) in template.tokens.iter().zip(tokens) {
                if t == WILDCARD_ID {
                    if tok == WILDCARD_ID {
                        values += 1;
                    } else {
                        params += 1;
                    }
                } else if t == tok {
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
    fn generalise(&mut self, id: u32, tokens: &[u32]) -> bool {
        let template = &mut self.templates[id as usize];
        let mut changed = false;
        for (t, &tok) in template.tokens.iter_mut().zip(tokens) {
            if *t != tok && *t != WILDCARD_ID {
                *t = WILDCARD_ID;
                changed = true;
            }
        }
        if changed {
            template.text = self.interner.join(&template.tokens);
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
fn skeleton(tokens: &[u32], interner: &Interner, out: &mut String) {
    out.clear();
    for &t in tokens {
        let t = interner.text(t);
        if t.bytes().any(|b| b.is_ascii_alphabetic()) {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(t);
        }
    }
}

/// Reads one message per line from `input`, mines each as-is (masking, no
/// multi-line grouping: each line is one message) and writes the id of its
/// template, one per line and in order, to `out`. Returns the number of lines.
///
/// This is `rollwise logs cluster` and what the LogHub benchmark runs. Lines
/// are mined straight out of `input`'s buffer: the complete lines of each
/// buffer are UTF-8-validated at once and the masker finds the line ends as
/// it goes; only a line split across two reads is copied.
pub fn cluster_lines(input: impl BufRead, out: impl Write) -> Result<u64> {
    cluster_lines_with(MinerConfig::default(), input, out)
}

/// [`cluster_lines`] with a given miner configuration.
pub fn cluster_lines_with(
    cfg: MinerConfig,
    mut input: impl BufRead,
    out: impl Write,
) -> Result<u64> {
    let mut sink = IdSink {
        out: std::io::BufWriter::with_capacity(1 << 16, out),
        digits: [0u8; 11],
        count: 0,
    };
    let mut miner = TemplateMiner::new(cfg);
    // The start of a line whose end is not in the buffer yet; bounded by the longest line.
    let mut partial = Vec::new();
    loop {
        let buf = input
            .fill_buf()
            .map_err(|source| io_error("reading log lines", source))?;
        if buf.is_empty() {
            break;
        }
        let len = buf.len();
        let Some(last_newline) = buf.iter().rposition(|&b| b == b'\n') else {
            partial.extend_from_slice(buf);
            input.consume(len);
            continue;
        };
        let mut lines = &buf[..=last_newline];
        if !partial.is_empty() {
            let first_end = lines.iter().position(|&b| b == b'\n').map_or(0, |i| i + 1);
            partial.extend_from_slice(&lines[..first_end]);
            mine_lines(&mut miner, &partial, &mut sink)?;
            partial.clear();
            lines = &lines[first_end..];
        }
        mine_lines(&mut miner, lines, &mut sink)?;
        partial.extend_from_slice(&buf[last_newline + 1..]);
        input.consume(len);
    }
    if !partial.is_empty() {
        mine_lines(&mut miner, &partial, &mut sink)?;
    }
    sink.out
        .flush()
        .map_err(|source| io_error("writing template ids", source))?;
    Ok(sink.count)
}

/// Where `cluster_lines` writes ids.
struct IdSink<W: Write> {
    out: std::io::BufWriter<W>,
    digits: [u8; 11],
    count: u64,
}

impl<W: Write> IdSink<W> {
    fn push(&mut self, id: TemplateId) -> Result<()> {
        self.count += 1;
        self.out
            .write_all(format_id(id.0, &mut self.digits))
            .map_err(|source| io_error("writing template ids", source))
    }
}

/// Mines `lines`: whole lines, each ending in `\n` except perhaps the last.
fn mine_lines(
    miner: &mut TemplateMiner,
    lines: &[u8],
    sink: &mut IdSink<impl Write>,
) -> Result<()> {
    match std::str::from_utf8(lines) {
        Ok(mut rest) => {
            while !rest.is_empty() {
                let (id, used) = miner.add_line(rest);
                sink.push(id)?;
                rest = rest.get(used..).unwrap_or_default();
            }
        }
        Err(_) => {
            // Invalid UTF-8 somewhere: line by line, replacing bad bytes in that line only.
            for line in lines.split_inclusive(|&b| b == b'\n') {
                let line = line.strip_suffix(b"\n").unwrap_or(line);
                sink.push(miner.add(&String::from_utf8_lossy(line)))?;
            }
        }
    }
    Ok(())
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

    /// Lines of random words: no two share a template (letters only, so
    /// masking keeps them apart), all of the same length.
    fn distinct_lines(n: usize) -> Vec<String> {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut word = move || {
            (0..6)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    char::from(b'a' + (state % 26) as u8)
                })
                .collect::<String>()
        };
        (0..n)
            .map(|_| format!("{} {} {} {} {}", word(), word(), word(), word(), word()))
            .collect()
    }

    #[test]
    fn comparisons_per_line_are_bounded_by_the_leaf_cap() {
        let mut m = TemplateMiner::default();
        let lines = distinct_lines(20_000);
        for l in &lines {
            m.add(l);
        }
        let cap = MinerConfig::default().max_leaf_templates as u64;
        let per_line = m.comparisons / lines.len() as u64;
        assert!(per_line <= cap, "{per_line} comparisons per line");
        // Nothing dropped: whatever did not get a template is counted in the overflow.
        let caps = m.caps();
        assert!(caps.leaf > 0, "{caps:?}");
        assert_eq!(caps.messages(), caps.leaf);
        let overflow = m.add(&lines[19_999]);
        assert_eq!(m.template(overflow), OVERFLOW_TEMPLATE);
    }

    #[test]
    fn templates_after_the_overflow_get_ids_of_their_own() {
        let cfg = MinerConfig {
            max_leaf_templates: 2,
            ..MinerConfig::default()
        };
        let mut m = TemplateMiner::new(cfg);
        // One leaf: the same length and first two tokens, too little else in common.
        let a = m.add("alpha bravo one two three four");
        let b = m.add("alpha bravo five six seven eight");
        let over = m.add("alpha bravo nine ten eleven twelve");
        assert_eq!(m.template(over), OVERFLOW_TEMPLATE);
        let c = m.add("zulu yankee xray whiskey");
        assert_eq!([a, b, over, c].map(|t| t.0), [0, 1, 2, 3]);
        assert_eq!(m.template(c), "zulu yankee xray whiskey");
        assert_eq!(m.len(), 4);
        assert_eq!(m.caps().leaf, 1);
    }

    #[test]
    fn budgets_cap_each_pod_and_version() {
        let cfg = MinerConfig {
            max_templates_per_pod: 2,
            max_templates_per_version: 3,
            ..MinerConfig::default()
        };
        let mut m = TemplateMiner::new(cfg.clone());
        let mut budget = Budget::version(&cfg);
        let first = m.add_within("disk full on volume data", &mut budget);
        m.add_within("cache miss for key product", &mut budget);
        let third = m.add_within("worker pool drained", &mut budget);
        assert_eq!(m.template(third), OVERFLOW_TEMPLATE);
        // Known shapes still match past the cap, and cost no budget.
        assert_eq!(m.add_within("disk full on volume data", &mut budget), first);
        let mut budget = budget.next_pod(&cfg);
        let fresh = m.add_within("worker pool drained", &mut budget);
        assert_ne!(m.template(fresh), OVERFLOW_TEMPLATE);
        // The version's third template was the last.
        let over = m.add_within("queue depth rising fast", &mut budget);
        assert_eq!(m.template(over), OVERFLOW_TEMPLATE);
        assert_eq!(
            m.caps(),
            CapCounts {
                pod: 1,
                version: 1,
                ..CapCounts::default()
            }
        );
        // A new version starts afresh; the memo kept no overflow answer.
        let mut budget = Budget::version(&cfg);
        let other = m.add_within("queue depth rising fast", &mut budget);
        assert_ne!(m.template(other), OVERFLOW_TEMPLATE);
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
    fn cluster_lines_handles_small_buffers_and_bad_utf8() -> Result<()> {
        let mut input = b"a b 1\r\na b 2\nx y z\n\n".to_vec();
        input.extend_from_slice(b"caf\xe9 closed\ncafe closed\nlast line without newline");
        let mut whole = Vec::new();
        cluster_lines(input.as_slice(), &mut whole)?;
        assert_eq!(String::from_utf8_lossy(&whole), "0\n0\n1\n2\n3\n4\n5\n");
        for capacity in 1..8 {
            let mut out = Vec::new();
            let reader = std::io::BufReader::with_capacity(capacity, input.as_slice());
            assert_eq!(cluster_lines(reader, &mut out)?, 7);
            assert_eq!(out, whole, "buffer of {capacity} bytes");
        }
        Ok(())
    }

    #[test]
    fn memo_does_not_change_ids() {
        let lines = [
            "session opened for alice from web",
            "session opened for alice from web",
            "disk full on volume data",
            "session opened for bob from web",
            "session opened for alice from web",
            "session opened for carol from mobile",
            "disk full on volume data",
            "session opened for alice from web",
            "took 12 ms",
            "took 13 ms",
        ];
        let run = |memo_slots| {
            let cfg = MinerConfig {
                memo_slots,
                max_templates: 3,
                ..MinerConfig::default()
            };
            let mut m = TemplateMiner::new(cfg);
            let ids: Vec<_> = lines.iter().cycle().take(40).map(|l| m.add(l)).collect();
            let templates: Vec<String> = m.templates().map(|(_, t)| t.to_string()).collect();
            (ids, templates)
        };
        assert_eq!(run(4096), run(0));
        assert_eq!(run(1), run(0));
    }

    #[test]
    fn format_id_handles_edges() {
        let mut buf = [0u8; 11];
        assert_eq!(format_id(0, &mut buf), b"0\n");
        assert_eq!(format_id(u32::MAX, &mut buf), b"4294967295\n");
    }

    /// The caps are for hostile input: on real logs (the ten LogHub samples,
    /// up to a few hundred events each) they never fire.
    #[test]
    fn caps_do_not_fire_on_loghub() -> Result<()> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../evals/loghub/data");
        let datasets = crate::logs::loghub::read_datasets(&dir)?;
        assert_eq!(datasets.len(), 10);
        for data in &datasets {
            let mut m = TemplateMiner::default();
            let mut budget = Budget::version(&MinerConfig::default());
            for line in &data.contents {
                m.add_within(line, &mut budget);
            }
            assert_eq!(m.caps(), CapCounts::default(), "{}", data.name);
        }
        Ok(())
    }

    /// Grouping accuracy on LogHub's Proxifier sample, whose events vary in
    /// token count; measured 0.977 (evals/loghub/README.md), floor well below.
    #[test]
    fn loghub_proxifier_grouping_accuracy() -> Result<()> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../evals/loghub/data/Proxifier/Proxifier_2k.log_structured.csv");
        // The repository's copy of LogHub (evals/loghub/data): missing is a failure.
        let data = crate::logs::loghub::read_dataset("Proxifier", &path).map_err(|e| {
            Error::Config(format!(
                "{e}: the LogHub copy under evals/loghub/data is part of the repository"
            ))
        })?;
        let accuracy = crate::logs::loghub::grouping_accuracy(&MinerConfig::default(), &data);
        let pairs = &data.contents;
        assert!(pairs.len() == 2000, "{}", pairs.len());
        assert!(accuracy >= 0.85, "grouping accuracy {accuracy}");
        Ok(())
    }
}
