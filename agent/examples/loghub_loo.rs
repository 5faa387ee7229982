//! Leave-one-out grouping accuracy of the template miner on the ten LogHub-2k
//! samples: for each data set, the [`MinerConfig`] with the best mean grouping
//! accuracy on the other nine is chosen from a grid and scored on the held-out
//! one. Prints the table as Markdown (evals/loghub/README.md, "Leave-one-out").
//!
//! ```sh
//! cargo run --release -p rollwise --example loghub_loo [-- DIR]   # DIR: evals/loghub/data
//! ```
//!
//! `LOGHUB_LOO_TSV=FILE` also writes every configuration's accuracy per data set.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use rollwise::logs::loghub::{Grid, ScoreTable, describe, mean, read_datasets, same_tuning};
use rollwise::logs::miner::MinerConfig;

fn main() -> rollwise::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .map_or_else(|| PathBuf::from("evals/loghub/data"), PathBuf::from);
    let datasets = read_datasets(&dir)?;
    let grid = Grid {
        similarity: (6..=18).map(|i| f64::from(i) * 0.05).collect(),
        depth: vec![3, 4, 5, 6],
        value_weight: vec![0.0, 0.25, 0.5, 0.75, 1.0],
        merge_skeletons: vec![false, true],
        max_children: vec![10, 100],
    };
    let configs = grid.configs();
    let n_configs = configs.len();
    let started = Instant::now();
    let table = ScoreTable::compute(configs, &datasets);
    let elapsed = started.elapsed();
    let rows = table.leave_one_out();

    let default = MinerConfig::default();
    let default_row = table
        .configs
        .iter()
        .position(|c| same_tuning(c, &default))
        .unwrap_or(0);
    let in_default = &table.accuracy[default_row];
    let best_in_sample = table.best(|_| true);

    let mut out = std::io::stdout().lock();
    let w = |out: &mut std::io::StdoutLock<'_>, s: String| {
        writeln!(out, "{s}").map_err(|source| rollwise::Error::Io {
            what: "writing the table".into(),
            source,
        })
    };
    w(
        &mut out,
        format!(
            "Grid: similarity {:?}, depth {:?}, value_weight {:?}, merge_skeletons {:?}, max_children {:?}: {} configurations × {} data sets scored in {:.1} s.\n",
            grid.similarity
                .iter()
                .map(|s| format!("{s:.2}"))
                .collect::<Vec<_>>(),
            grid.depth,
            grid.value_weight,
            grid.merge_skeletons,
            grid.max_children,
            n_configs,
            datasets.len(),
            elapsed.as_secs_f64()
        ),
    )?;
    w(
        &mut out,
        "| held out | configuration chosen on the other nine (worst of the tied) | their mean GA | tied | held-out GA | best tied | default GA (in-sample) |".into(),
    )?;
    w(&mut out, "|---|---|---:|---:|---:|---:|---:|".into())?;
    for (i, r) in rows.iter().enumerate() {
        let chosen = &table.configs[r.chosen];
        let label = if same_tuning(chosen, &default) {
            format!("{} (default)", describe(chosen))
        } else {
            describe(chosen)
        };
        w(
            &mut out,
            format!(
                "| {} | {} | {:.3} | {} | {:.3} | {:.3} | {:.3} |",
                r.dataset,
                label,
                r.train_mean,
                r.tied,
                r.held_out,
                r.best_tied,
                in_default.get(i).copied().unwrap_or(0.0)
            ),
        )?;
    }
    w(
        &mut out,
        format!(
            "| **mean** | | | | **{:.3}** | {:.3} | {:.3} |",
            mean(rows.iter().map(|r| r.held_out)),
            mean(rows.iter().map(|r| r.best_tied)),
            mean(in_default.iter().copied())
        ),
    )?;
    if let Ok(path) = std::env::var("LOGHUB_LOO_TSV") {
        let mut tsv = format!("config\t{}\n", table.datasets.join("\t"));
        for (cfg, row) in table.configs.iter().zip(&table.accuracy) {
            let cells: Vec<String> = row.iter().map(|a| format!("{a:.4}")).collect();
            tsv.push_str(&format!("{}\t{}\n", describe(cfg), cells.join("\t")));
        }
        std::fs::write(&path, tsv).map_err(|source| rollwise::Error::Io {
            what: format!("writing {path}"),
            source,
        })?;
    }
    if let Some((c, m)) = best_in_sample {
        w(
            &mut out,
            format!(
                "\nBest single configuration on all ten (in-sample): {} → mean GA {:.3}.",
                describe(&table.configs[c]),
                m
            ),
        )?;
    }
    Ok(())
}
