//! Scoring the template miner on LogHub-format data: grouping accuracy and a
//! leave-one-out choice of [`MinerConfig`].
//!
//! A LogHub `*_structured.csv` has one log line per record; its `Content` column
//! is the message and `EventId` the ground-truth event. Grouping accuracy is
//! LogPAI's: a line is correct iff the set of lines in its predicted group
//! equals the set of lines in its true group (evals/loghub/bench.py computes the
//! same number).
//!
//! Leave-one-out answers "how well does a configuration chosen without looking
//! at a data set do on it": for each data set, the configuration with the best
//! mean accuracy on all the *other* sets is chosen from a grid and scored on the
//! held-out one. A gap between that and the in-sample number measures how much
//! of the in-sample number is fitting.
//!
//! Used by `agent/examples/loghub_loo.rs` and by the tests; reads CSV with a
//! small RFC 4180 reader (quoted fields, doubled quotes), no dependency.

use std::path::Path;

use rustc_hash::FxHashMap;

use super::miner::{MinerConfig, TemplateId, TemplateMiner};
use crate::{Error, Result};

/// One LogHub data set: messages and their ground-truth events, in log order.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The directory name, e.g. `HDFS`.
    pub name: String,
    pub contents: Vec<String>,
    pub events: Vec<String>,
}

/// Reads every `<dir>/<Name>/*_structured.csv`, sorted by name. Fails if `dir`
/// cannot be read or holds no data set.
pub fn read_datasets(dir: &Path) -> Result<Vec<Dataset>> {
    let entries = std::fs::read_dir(dir).map_err(|source| Error::Io {
        what: format!("reading LogHub directory {}", dir.display()),
        source,
    })?;
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| Error::Io {
            what: format!("reading LogHub directory {}", dir.display()),
            source,
        })?;
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        let files = std::fs::read_dir(&path).map_err(|source| Error::Io {
            what: format!("reading {}", path.display()),
            source,
        })?;
        for file in files {
            let file = file.map_err(|source| Error::Io {
                what: format!("reading {}", path.display()),
                source,
            })?;
            let file = file.path();
            if file
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with("_structured.csv"))
            {
                let name = entry.file_name().to_string_lossy().into_owned();
                found.push(read_dataset(&name, &file)?);
            }
        }
    }
    if found.is_empty() {
        return Err(Error::Config(format!(
            "no */*_structured.csv under {}",
            dir.display()
        )));
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

/// Reads one `*_structured.csv` (columns `Content` and `EventId` required).
pub fn read_dataset(name: &str, path: &Path) -> Result<Dataset> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        what: format!("reading {}", path.display()),
        source,
    })?;
    let mut records = csv_records(&text).into_iter();
    let header = records.next().unwrap_or_default();
    let col = |want: &str| {
        header.iter().position(|h| h == want).ok_or_else(|| {
            Error::Config(format!(
                "{}: no `{want}` column in the header",
                path.display()
            ))
        })
    };
    let (content, event) = (col("Content")?, col("EventId")?);
    let mut data = Dataset {
        name: name.to_string(),
        contents: Vec::new(),
        events: Vec::new(),
    };
    for (i, record) in records.enumerate() {
        let (Some(c), Some(e)) = (record.get(content), record.get(event)) else {
            return Err(Error::Config(format!(
                "{}: record {} has {} fields",
                path.display(),
                i + 2,
                record.len()
            )));
        };
        data.contents.push(c.clone());
        data.events.push(e.clone());
    }
    Ok(data)
}

/// The records of a CSV text: fields split on commas, `"` quoting (across line
/// ends too) with `""` for a quote; blank lines are skipped.
fn csv_records(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => record.push(std::mem::take(&mut field)),
            ('\r', false) if chars.peek() == Some(&'\n') => {}
            ('\n', false) => {
                record.push(std::mem::take(&mut field));
                if !(record.len() == 1 && record[0].is_empty()) {
                    records.push(std::mem::take(&mut record));
                }
                record.clear();
            }
            (c, _) => field.push(c),
        }
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    records
}

/// Lines whose predicted group is exactly their true group (LogPAI's grouping
/// accuracy, as a count; divide by the number of lines for the accuracy).
pub fn correctly_grouped<T: AsRef<str>>(truth: &[T], predicted: &[TemplateId]) -> usize {
    let mut truth_size: FxHashMap<&str, usize> = FxHashMap::default();
    let mut groups: FxHashMap<TemplateId, Vec<&str>> = FxHashMap::default();
    for (t, p) in truth.iter().zip(predicted) {
        *truth_size.entry(t.as_ref()).or_default() += 1;
        groups.entry(*p).or_default().push(t.as_ref());
    }
    groups
        .values()
        .filter(|m| m.iter().all(|t| *t == m[0]) && truth_size.get(m[0]) == Some(&m.len()))
        .map(Vec::len)
        .sum()
}

/// Grouping accuracy of the miner with `cfg`, run fresh over `data`'s messages in order.
pub fn grouping_accuracy(cfg: &MinerConfig, data: &Dataset) -> f64 {
    let mut miner = TemplateMiner::new(cfg.clone());
    let ids: Vec<TemplateId> = data.contents.iter().map(|c| miner.add(c)).collect();
    if ids.is_empty() {
        return 0.0;
    }
    correctly_grouped(&data.events, &ids) as f64 / ids.len() as f64
}

/// The values tried for each tuned field of [`MinerConfig`]; every other
/// field keeps its default. `configs` is their cross product.
#[derive(Debug, Clone)]
pub struct Grid {
    pub similarity: Vec<f64>,
    pub depth: Vec<usize>,
    pub value_weight: Vec<f64>,
    pub merge_skeletons: Vec<bool>,
    pub max_children: Vec<usize>,
}

impl Grid {
    /// The cross product, the default configuration first (so that on an
    /// exact tie the default is kept), then in nested order of the fields.
    pub fn configs(&self) -> Vec<MinerConfig> {
        let default = MinerConfig::default();
        let mut out = vec![default.clone()];
        for &similarity in &self.similarity {
            for &depth in &self.depth {
                for &value_weight in &self.value_weight {
                    for &merge_skeletons in &self.merge_skeletons {
                        for &max_children in &self.max_children {
                            let cfg = MinerConfig {
                                similarity,
                                depth,
                                value_weight,
                                merge_skeletons,
                                max_children,
                                ..default.clone()
                            };
                            if !same_tuning(&cfg, &default) {
                                out.push(cfg);
                            }
                        }
                    }
                }
            }
        }
        out
    }
}

/// True if `a` and `b` agree on every field a [`Grid`] varies.
pub fn same_tuning(a: &MinerConfig, b: &MinerConfig) -> bool {
    a.similarity == b.similarity
        && a.depth == b.depth
        && a.value_weight == b.value_weight
        && a.merge_skeletons == b.merge_skeletons
        && a.max_children == b.max_children
}

/// The tuned fields of a configuration, e.g. `sim 0.40 depth 4 vw 0.50 merge yes children 100`.
pub fn describe(cfg: &MinerConfig) -> String {
    format!(
        "sim {:.2} depth {} vw {:.2} merge {} children {}",
        cfg.similarity,
        cfg.depth,
        cfg.value_weight,
        if cfg.merge_skeletons { "yes" } else { "no" },
        cfg.max_children
    )
}

/// The accuracy of every configuration on every data set.
#[derive(Debug, Clone)]
pub struct ScoreTable {
    pub configs: Vec<MinerConfig>,
    pub datasets: Vec<String>,
    /// `accuracy[c][d]`: configuration `c` on data set `d`.
    pub accuracy: Vec<Vec<f64>>,
}

impl ScoreTable {
    /// Scores every configuration on every data set (the expensive part).
    pub fn compute(configs: Vec<MinerConfig>, datasets: &[Dataset]) -> Self {
        let accuracy = configs
            .iter()
            .map(|cfg| datasets.iter().map(|d| grouping_accuracy(cfg, d)).collect())
            .collect();
        Self {
            configs,
            datasets: datasets.iter().map(|d| d.name.clone()).collect(),
            accuracy,
        }
    }

    /// Index of the configuration with the best mean accuracy over the data
    /// sets for which `include` is true; the first in grid order on a tie.
    pub fn best(&self, include: impl Fn(usize) -> bool) -> Option<(usize, f64)> {
        if !(0..self.datasets.len()).any(&include) {
            return None;
        }
        let mut best: Option<(usize, f64)> = None;
        for c in 0..self.configs.len() {
            let mean = self.mean_over(c, &include);
            if best.is_none_or(|(_, m)| mean > m) {
                best = Some((c, mean));
            }
        }
        best
    }

    /// Mean accuracy of configuration `c` over the data sets for which `include` is true.
    fn mean_over(&self, c: usize, include: &impl Fn(usize) -> bool) -> f64 {
        mean(
            self.accuracy[c]
                .iter()
                .enumerate()
                .filter(|&(d, _)| include(d))
                .map(|(_, &a)| a),
        )
    }

    /// Leave-one-out: per data set, the configuration best on the others and
    /// its accuracy on this one. Configurations that tie with the best on the
    /// others (within [`TIE`]) are equally justified by the training sets, so
    /// the row also gives the worst and best held-out accuracy among them; the
    /// `held_out` of the row is the worst, so that an arbitrary tie-break
    /// cannot flatter the result. Needs at least two data sets.
    pub fn leave_one_out(&self) -> Vec<HeldOut> {
        (0..self.datasets.len())
            .filter_map(|held| {
                let others = |d: usize| d != held;
                let (first, train_mean) = self.best(others)?;
                let tied: Vec<usize> = (0..self.configs.len())
                    .filter(|&c| self.mean_over(c, &others) >= train_mean - TIE)
                    .collect();
                let at = |c: usize| self.accuracy[c][held];
                let chosen = tied
                    .iter()
                    .copied()
                    .min_by(|&a, &b| at(a).total_cmp(&at(b)))
                    .unwrap_or(first);
                let best_tied = tied.iter().map(|&c| at(c)).fold(at(chosen), f64::max);
                Some(HeldOut {
                    dataset: self.datasets[held].clone(),
                    chosen,
                    train_mean,
                    held_out: at(chosen),
                    best_tied,
                    tied: tied.len(),
                })
            })
            .collect()
    }
}

/// One row of the leave-one-out table.
#[derive(Debug, Clone)]
pub struct HeldOut {
    pub dataset: String,
    /// Index into [`ScoreTable::configs`].
    pub chosen: usize,
    /// Mean accuracy of the chosen configuration on the other data sets.
    pub train_mean: f64,
    /// Its accuracy on the held-out data set: the worst among the tied configurations.
    pub held_out: f64,
    /// The best held-out accuracy among the tied configurations.
    pub best_tied: f64,
    /// Configurations tied with the best on the other data sets (at least 1).
    pub tied: usize,
}

/// Mean accuracies closer than this are a tie: accuracies are counts over
/// the same line totals, so different sums differ by far more.
pub const TIE: f64 = 1e-9;

/// Mean of `values` (0 for none).
pub fn mean(values: impl IntoIterator<Item = f64>) -> f64 {
    let (mut sum, mut n) = (0.0, 0usize);
    for v in values {
        sum += v;
        n += 1;
    }
    if n == 0 { 0.0 } else { sum / n as f64 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loghub_dir() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../evals/loghub/data")
    }

    #[test]
    fn csv_reader_handles_quotes_and_line_ends() {
        let text = "a,b,c\r\n1,\"x, \"\"y\"\"\",3\n\n2,\"multi\nline\",\n";
        let records = csv_records(text);
        assert_eq!(
            records,
            vec![
                vec!["a", "b", "c"],
                vec!["1", "x, \"y\"", "3"],
                vec!["2", "multi\nline", ""],
            ]
        );
    }

    #[test]
    fn grouping_accuracy_is_logpai_s() {
        // True groups {0,1}, {2}, {3,4}; predicted {0,1}, {2,3}, {4}: only the
        // lines of {0,1} are correct.
        let truth = ["A", "A", "B", "C", "C"];
        let predicted = [0, 0, 1, 1, 2].map(TemplateId);
        assert_eq!(correctly_grouped(&truth, &predicted), 2);
        let split = [0, 1, 2, 3, 3].map(TemplateId);
        assert_eq!(correctly_grouped(&truth, &split), 3);
    }

    #[test]
    fn leave_one_out_never_looks_at_the_held_out_set() {
        // Config 1 is best on set 2 alone by far, config 0 best on sets 0 and 1.
        let table = ScoreTable {
            configs: vec![MinerConfig::default(); 2],
            datasets: vec!["a".into(), "b".into(), "c".into()],
            accuracy: vec![vec![0.9, 0.9, 0.1], vec![0.8, 0.8, 1.0]],
        };
        let rows = table.leave_one_out();
        assert_eq!(rows.iter().map(|r| r.chosen).collect::<Vec<_>>(), [1, 1, 0]);
        assert_eq!(rows.iter().map(|r| r.tied).collect::<Vec<_>>(), [1, 1, 1]);
        assert_eq!(rows[2].held_out, 0.1);
        assert!((rows[0].train_mean - 0.9).abs() < 1e-12);
    }

    #[test]
    fn a_tie_on_the_training_sets_reports_the_worst_held_out() {
        // Configs 0 and 1 tie on sets 0 and 1; on set 2, config 0 is better.
        let table = ScoreTable {
            configs: vec![MinerConfig::default(); 2],
            datasets: vec!["a".into(), "b".into(), "c".into()],
            accuracy: vec![vec![0.9, 0.8, 0.9], vec![0.9, 0.8, 0.5]],
        };
        let row = &table.leave_one_out()[2];
        assert_eq!((row.chosen, row.tied), (1, 2));
        assert_eq!((row.held_out, row.best_tied), (0.5, 0.9));
    }

    /// Leave-one-out over the repository's ten LogHub samples with a small
    /// grid around the default: the configuration chosen on nine sets (the
    /// worst of those tied there) has to generalise to the tenth. Measured
    /// 0.892 with this grid; the full grid and table are
    /// agent/examples/loghub_loo.rs and evals/loghub/README.md. Also holds the
    /// default configuration's in-sample accuracy per set to its measured
    /// value (evals/loghub/README.md, "Results"), less 0.01.
    #[test]
    fn loghub_leave_one_out_grouping_accuracy() -> Result<()> {
        let datasets = read_datasets(&loghub_dir())?;
        let names: Vec<&str> = datasets.iter().map(|d| d.name.as_str()).collect();
        let measured = [
            ("Apache", 1.000),
            ("BGL", 0.959),
            ("HDFS", 1.000),
            ("Hadoop", 0.964),
            ("HealthApp", 0.983),
            ("Linux", 0.690),
            ("OpenSSH", 0.787),
            ("Proxifier", 0.977),
            ("Spark", 0.924),
            ("Zookeeper", 0.967),
        ];
        assert_eq!(names, measured.map(|(n, _)| n), "the ten LogHub-2k sets");
        assert!(datasets.iter().all(|d| d.contents.len() == 2000));
        let grid = Grid {
            similarity: vec![0.4, 0.6, 0.8],
            depth: vec![4],
            value_weight: vec![0.5, 1.0],
            merge_skeletons: vec![false, true],
            max_children: vec![100],
        };
        let table = ScoreTable::compute(grid.configs(), &datasets);
        assert_eq!(table.configs.len(), 12);
        assert!(same_tuning(&table.configs[0], &MinerConfig::default()));
        for ((name, floor), &got) in measured.iter().zip(&table.accuracy[0]) {
            assert!(
                got >= floor - 0.01,
                "{name}: default in-sample GA {got:.3}, measured {floor:.3}"
            );
        }
        let rows = table.leave_one_out();
        assert_eq!(rows.len(), 10);
        let held_out = mean(rows.iter().map(|r| r.held_out));
        assert!(
            held_out >= 0.86,
            "mean held-out grouping accuracy {held_out:.3}"
        );
        Ok(())
    }
}
