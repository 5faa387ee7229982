//! Reads one log message per line on stdin and prints its template id per line:
//! the LogHub benchmark (evals/loghub/bench.sh) runs this until `rollwise logs
//! cluster` exists. `--no-memo` turns the miner's memo off (same ids, for
//! measuring what it buys).

use std::io::{BufReader, Read, Write};

use rollwise::logs::miner::{MinerConfig, cluster_lines_with};

fn main() -> rollwise::Result<()> {
    let mut cfg = MinerConfig::default();
    if std::env::args().any(|a| a == "--no-memo") {
        cfg.memo_slots = 0;
    }
    let stdin = std::io::stdin().lock();
    let stdout = std::io::stdout().lock();
    let n = cluster_lines_with(
        cfg,
        BufReader::with_capacity(1 << 20, stdin.take(u64::MAX)),
        stdout,
    )?;
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{n} lines");
    Ok(())
}
