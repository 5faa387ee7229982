//! Reads one log message per line on stdin and prints its template id per line:
//! the LogHub benchmark (evals/loghub/bench.sh) runs this until `rollwise logs
//! cluster` exists. `--templates` prints `id<TAB>template` lines to stderr at the end.

use std::io::{BufReader, Read, Write};

fn main() -> rollwise::Result<()> {
    let stdin = std::io::stdin().lock();
    let stdout = std::io::stdout().lock();
    let n = rollwise::logs::miner::cluster_lines(
        BufReader::with_capacity(1 << 16, stdin.take(u64::MAX)),
        stdout,
    )?;
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{n} lines");
    Ok(())
}
