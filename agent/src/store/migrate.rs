//! Schema migrations: plain SQL files under `agent/migrations/`, embedded at
//! build time, applied in order inside one transaction and recorded in
//! `schema_migrations` with their SHA-256. The same files run on SQLite and
//! Postgres. A store whose applied migrations differ from these files (an
//! edited file, or a database from a newer rollwise) is refused, naming the
//! file, rather than used half-understood.

use super::StoreError;

/// One migration file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Every migration, in order.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_history.sql",
        sql: include_str!("../../migrations/0001_history.sql"),
    },
    Migration {
        version: 2,
        name: "0002_feedback.sql",
        sql: include_str!("../../migrations/0002_feedback.sql"),
    },
];

/// The bookkeeping table, created before anything else.
pub const CREATE_SCHEMA_MIGRATIONS: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (\
     version BIGINT PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_ms BIGINT NOT NULL)";

pub const SELECT_APPLIED: &str =
    "SELECT version, name, checksum FROM schema_migrations ORDER BY version";

/// A row of `schema_migrations`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub version: i64,
    pub name: String,
    pub checksum: String,
}

/// Hex SHA-256 of a migration's text.
pub fn checksum(sql: &str) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, sql.as_bytes());
    crate::text::hex(d.as_ref())
}

/// The migrations still to apply, or why the database cannot be used.
pub fn pending<'a>(
    all: &'a [Migration],
    applied: &[Applied],
) -> Result<Vec<&'a Migration>, StoreError> {
    for a in applied {
        match all.iter().find(|m| m.version == a.version) {
            None => {
                return Err(StoreError::Migration {
                    file: a.name.clone(),
                    message: format!(
                        "the database has migration {} applied, which this rollwise does not know: it was written by a newer version; upgrade rollwise or use another database",
                        a.version
                    ),
                });
            }
            Some(m) if checksum(m.sql) != a.checksum => {
                return Err(StoreError::Migration {
                    file: m.name.into(),
                    message: format!(
                        "applied with checksum {} but the file now has {}: a released migration was edited; restore it and add a new migration instead",
                        short(&a.checksum),
                        short(&checksum(m.sql))
                    ),
                });
            }
            Some(_) => {}
        }
    }
    Ok(all
        .iter()
        .filter(|m| !applied.iter().any(|a| a.version == m.version))
        .collect())
}

fn short(c: &str) -> &str {
    c.get(..12).unwrap_or(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applied(m: &Migration) -> Applied {
        Applied {
            version: m.version,
            name: m.name.into(),
            checksum: checksum(m.sql),
        }
    }

    #[test]
    fn versions_are_ordered_and_named_after_their_files() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1);
            assert!(
                m.name.starts_with(&format!("{:04}_", m.version)),
                "{}",
                m.name
            );
        }
    }

    #[test]
    fn pending_skips_applied_and_refuses_changes_and_newer_databases() {
        let all = MIGRATIONS;
        assert_eq!(pending(all, &[]).unwrap().len(), all.len());
        let done: Vec<_> = all.iter().map(applied).collect();
        assert!(pending(all, &done).unwrap().is_empty());
        let mut tampered = done.clone();
        tampered[0].checksum = checksum("something else");
        let e = pending(all, &tampered).unwrap_err().to_string();
        assert!(
            e.contains("0001_history.sql") && e.contains("edited"),
            "{e}"
        );
        let mut newer = done;
        newer.push(Applied {
            version: 99,
            name: "0099_future.sql".into(),
            checksum: "x".into(),
        });
        let e = pending(all, &newer).unwrap_err().to_string();
        assert!(e.contains("0099_future.sql") && e.contains("newer"), "{e}");
    }
}
