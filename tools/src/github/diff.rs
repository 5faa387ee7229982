//! A unified diff of two texts (line LCS), for dry runs and PR review. Files a
//! fix touches are small; above `MAX_CELLS` the diff falls back to "replace
//! everything", which is still a correct unified diff.

const CONTEXT: usize = 3;
const MAX_CELLS: usize = 4_000_000;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Keep(usize, usize),
    Del(usize),
    Add(usize),
}

/// `--- a/path` / `+++ b/path` and hunks; empty when the texts are equal.
pub fn unified(path: &str, old: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let ops = edit_script(&a, &b);
    let mut out = format!("--- a/{path}\n+++ b/{path}\n");
    // Group ops into hunks: changes plus CONTEXT lines either side.
    let changed: Vec<usize> = ops
        .iter()
        .enumerate()
        .filter(|(_, o)| !matches!(o, Op::Keep(..)))
        .map(|(i, _)| i)
        .collect();
    let mut i = 0;
    while i < changed.len() {
        let start = changed[i].saturating_sub(CONTEXT);
        let mut end = changed[i];
        while i < changed.len() && changed[i] <= end + 2 * CONTEXT + 1 {
            end = changed[i];
            i += 1;
        }
        let end = (end + CONTEXT + 1).min(ops.len());
        let hunk = &ops[start..end];
        let (mut a0, mut b0) = (None, None);
        let (mut na, mut nb) = (0, 0);
        let mut body = String::new();
        for op in hunk {
            match *op {
                Op::Keep(x, y) => {
                    a0.get_or_insert(x);
                    b0.get_or_insert(y);
                    na += 1;
                    nb += 1;
                    body.push_str(&format!(" {}\n", a[x]));
                }
                Op::Del(x) => {
                    a0.get_or_insert(x);
                    na += 1;
                    body.push_str(&format!("-{}\n", a[x]));
                }
                Op::Add(y) => {
                    b0.get_or_insert(y);
                    nb += 1;
                    body.push_str(&format!("+{}\n", b[y]));
                }
            }
        }
        // Line numbers are 1-based; an empty side starts "after" line 0.
        let pos = |first: Option<usize>, n: usize, ops_before: usize| match first {
            Some(f) => f + 1,
            None if n == 0 => ops_before,
            None => 1,
        };
        let before_a = ops[..start]
            .iter()
            .filter(|o| !matches!(o, Op::Add(_)))
            .count();
        let before_b = ops[..start]
            .iter()
            .filter(|o| !matches!(o, Op::Del(_)))
            .count();
        out.push_str(&format!(
            "@@ -{},{na} +{},{nb} @@\n{body}",
            pos(a0, na, before_a),
            pos(b0, nb, before_b)
        ));
    }
    out
}

fn edit_script(a: &[&str], b: &[&str]) -> Vec<Op> {
    let (n, m) = (a.len(), b.len());
    if n.saturating_mul(m) > MAX_CELLS {
        return (0..n).map(Op::Del).chain((0..m).map(Op::Add)).collect();
    }
    // lcs[i][j] = LCS length of a[i..], b[j..].
    let w = m + 1;
    let mut lcs = vec![0u32; (n + 1) * w];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i * w + j] = if a[i] == b[j] {
                lcs[(i + 1) * w + j + 1] + 1
            } else {
                lcs[(i + 1) * w + j].max(lcs[i * w + j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut ops = Vec::with_capacity(n + m);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            ops.push(Op::Keep(i, j));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[(i + 1) * w + j] >= lcs[i * w + j + 1]) {
            // Deletions before additions, as `diff -u` prints them.
            ops.push(Op::Del(i));
            i += 1;
        } else {
            ops.push(Op::Add(j));
            j += 1;
        }
    }
    ops
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_changed_line_is_one_hunk_with_context() {
        let old = "a\nb\nc\nd\ne\nf\ng\nh\n";
        let new = "a\nb\nc\nd\nE\nf\ng\nh\n";
        assert_eq!(
            unified("x.txt", old, new),
            "--- a/x.txt\n+++ b/x.txt\n@@ -2,7 +2,7 @@\n b\n c\n d\n-e\n+E\n f\n g\n h\n"
        );
    }

    #[test]
    fn new_file_and_equal_texts() {
        assert_eq!(
            unified("n", "", "x\n"),
            "--- a/n\n+++ b/n\n@@ -0,0 +1,1 @@\n+x\n"
        );
        assert_eq!(unified("n", "same", "same"), "");
    }

    #[test]
    fn distant_changes_make_two_hunks() {
        let old: String = (0..30).map(|i| format!("line{i}\n")).collect();
        let new = old
            .replace("line3\n", "three\n")
            .replace("line25\n", "twenty-five\n");
        let d = unified("f", &old, &new);
        assert_eq!(d.matches("@@ -").count(), 2, "{d}");
    }
}
