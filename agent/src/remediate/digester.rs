//! Pod logs for the agent: templated, counted, redacted and bounded, never raw.
//!
//! The kube `pod_logs` tool (tools crate) takes an injected [`LogDigester`];
//! this is rollwise's, on the template miner and the redactor.

pub use rollwise_tools::kube::tools::LogDigester;

use crate::logs::miner::TemplateMiner;
use crate::redact::Redactor;

/// Templates by frequency, each with a count and one redacted example, within
/// `max_chars`.
#[derive(Debug, Default)]
pub struct MinerDigester {
    redactor: Redactor,
    pub max_chars: usize,
    pub max_templates: usize,
}

impl MinerDigester {
    pub fn new(redactor: Redactor) -> Self {
        MinerDigester {
            redactor,
            max_chars: 6_000,
            max_templates: 30,
        }
    }
}

impl LogDigester for MinerDigester {
    fn digest(&self, lines: &[String]) -> String {
        let mut miner = TemplateMiner::default();
        // id → (count, first line index)
        let mut seen: Vec<(u32, usize, usize)> = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            let id = miner.add(line).0 as usize;
            if id >= seen.len() {
                seen.resize(id + 1, (0, 0, usize::MAX));
            }
            let e = &mut seen[id];
            e.0 = id as u32;
            e.1 += 1;
            if e.2 == usize::MAX {
                e.2 = i;
            }
        }
        let mut order: Vec<_> = seen.into_iter().filter(|e| e.1 > 0).collect();
        // Most frequent first; ties by first appearance.
        order.sort_by_key(|&(_, count, first)| (std::cmp::Reverse(count), first));
        let mut out = format!(
            "{} lines, {} templates (count × template, then one example):\n",
            lines.len(),
            order.len()
        );
        for (n, (id, count, first)) in order.iter().enumerate() {
            if n >= self.max_templates {
                out.push_str(&format!("... {} more templates\n", order.len() - n));
                break;
            }
            let template = miner.template(crate::logs::miner::TemplateId(*id));
            let entry = format!(
                "{count} × {}\n    e.g. {}\n",
                crate::fence::field(&self.redactor.redact(template)),
                crate::fence::field(&self.redactor.clip(&lines[*first], 300))
            );
            if out.len() + entry.len() > self.max_chars {
                out.push_str(&format!(
                    "... {} more templates (clipped)\n",
                    order.len() - n
                ));
                break;
            }
            out.push_str(&entry);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_become_counted_redacted_templates() {
        let mut lines: Vec<String> = (0..50)
            .map(|i| format!("GET /cart/{i} 200 in {i}ms"))
            .collect();
        lines.push("panic: runtime error: index out of range [3] with length 3".into());
        lines.push("connecting with password=hunter2hunter2 to db".into());
        let d = MinerDigester::new(Redactor::new()).digest(&lines);
        assert!(d.starts_with("52 lines, 3 templates"), "{d}");
        assert!(d.contains("50 × GET /cart/"), "{d}");
        assert!(d.contains("index out of range"), "{d}");
        assert!(!d.contains("hunter2hunter2"), "{d}");
    }
}
