//! The SQLite backend: the embedded default of `rollwise serve`, one file on
//! the pod's volume. One connection behind a mutex, used from tokio's
//! blocking pool (SQLite calls block). WAL mode, so the page reads while an
//! analysis writes; a busy timeout below the store's operation timeout.
//! Not shared between pods: each replica has its own history and claims.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};

use super::migrate::{self, Applied, Migration};
use super::{
    AnalysisRecord, Claim, Feedback, Filter, NotificationOutcome, PrLink, RevisionRef, StoreError,
    Swept, decode_record, encode_record, i64_of,
};

const BACKEND: &str = "sqlite";
/// How long a write waits for another writer's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(4);

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Backend {
            backend: BACKEND,
            message: e.to_string(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct SqliteStore {
    path: PathBuf,
    conn: Arc<Mutex<Connection>>,
}

impl SqliteStore {
    /// Open (creating the file and its directory's database if needed) and
    /// migrate.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with(path, migrate::MIGRATIONS).await
    }

    /// Open with these migrations (tests pass altered ones).
    pub async fn open_with(path: &Path, migrations: &[Migration]) -> Result<Self, StoreError> {
        let p = path.to_owned();
        let migrations = migrations.to_vec();
        let conn = tokio::task::spawn_blocking(move || -> Result<Connection, StoreError> {
            if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| StoreError::Backend {
                    backend: BACKEND,
                    message: format!("cannot create {}: {e}", dir.display()),
                })?;
            }
            let mut c = Connection::open(&p).map_err(|e| StoreError::Backend {
                backend: BACKEND,
                message: format!("cannot open {}: {e}", p.display()),
            })?;
            c.busy_timeout(BUSY_TIMEOUT)?;
            c.pragma_update(None, "journal_mode", "WAL")?;
            c.pragma_update(None, "synchronous", "NORMAL")?;
            c.pragma_update(None, "foreign_keys", "ON")?;
            migrate_conn(&mut c, &migrations, super::now_ms())?;
            Ok(c)
        })
        .await
        .map_err(joined)??;
        Ok(SqliteStore {
            path: path.to_owned(),
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Run `f` on the connection in the blocking pool.
    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut c = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut c)
        })
        .await
        .map_err(joined)?
    }

    pub async fn insert(
        &self,
        rec: Arc<AnalysisRecord>,
        key: Option<&str>,
    ) -> Result<(), StoreError> {
        let key = key.map(str::to_owned);
        self.with(move |c| {
            let (json, templates) = encode_record(&rec)?;
            let rev = RevisionRef::of(&rec.evidence);
            c.execute(
                "INSERT INTO analyses (id, analysis_key, origin, namespace, rollout, revision, verdict, confidence, created_ms, record_json, templates_json) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) \
                 ON CONFLICT (id) DO UPDATE SET record_json = excluded.record_json, templates_json = excluded.templates_json",
                params![
                    rec.id,
                    key,
                    rec.origin.as_str(),
                    rev.namespace,
                    rev.rollout,
                    rev.revision,
                    rec.verdict.verdict.as_str(),
                    i64::from(rec.verdict.confidence),
                    rec.created_ms,
                    json,
                    templates,
                ],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn get(&self, id: &str) -> Result<Option<Arc<AnalysisRecord>>, StoreError> {
        let id = id.to_owned();
        self.with(move |c| {
            let mut rows = read_rows(c, "WHERE id = ?1", params![id])?;
            Ok(rows.pop())
        })
        .await
    }

    pub async fn list(&self, f: &Filter) -> Result<Vec<Arc<AnalysisRecord>>, StoreError> {
        let f = f.clone();
        self.with(move |c| {
            let limit = f.limit.map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
            read_rows(
                c,
                "WHERE (?1 IS NULL OR namespace = ?1) AND (?2 IS NULL OR rollout = ?2) AND (?3 IS NULL OR verdict = ?3) \
                 ORDER BY created_ms DESC, id DESC LIMIT ?4",
                params![f.namespace, f.rollout, f.verdict.map(|v| v.as_str()), limit],
            )
        })
        .await
    }

    pub async fn latest_for_key(
        &self,
        key: &str,
        since_ms: i64,
    ) -> Result<Option<Arc<AnalysisRecord>>, StoreError> {
        let key = key.to_owned();
        self.with(move |c| {
            let mut rows = read_rows(
                c,
                "WHERE analysis_key = ?1 AND created_ms >= ?2 ORDER BY created_ms DESC, id DESC LIMIT 1",
                params![key, since_ms],
            )?;
            Ok(rows.pop())
        })
        .await
    }

    pub async fn set_pr(
        &self,
        id: &str,
        rev: &RevisionRef,
        pr: &PrLink,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let (id, rev, pr) = (id.to_owned(), rev.clone(), pr.clone());
        self.with(move |c| {
            let json = serde_json::to_string(&pr).map_err(|e| decode_err(&id, e))?;
            let tx = c.transaction()?;
            tx.execute(
                "INSERT INTO prs (namespace, rollout, revision, url, number, repo, analysis_id, created_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
                 ON CONFLICT (namespace, rollout, revision) DO UPDATE SET url = excluded.url, number = excluded.number, repo = excluded.repo, analysis_id = excluded.analysis_id",
                params![rev.namespace, rev.rollout, rev.revision, pr.url, i64_of(pr.number), pr.repo, id, now_ms],
            )?;
            let n = tx.execute("UPDATE analyses SET pr_json = ?2 WHERE id = ?1", params![id, json])?;
            tx.commit()?;
            Ok(n > 0)
        })
        .await
    }

    pub async fn pr_for(&self, rev: &RevisionRef) -> Result<Option<PrLink>, StoreError> {
        let rev = rev.clone();
        self.with(move |c| {
            Ok(c.query_row(
                "SELECT url, number, repo FROM prs WHERE namespace = ?1 AND rollout = ?2 AND revision = ?3",
                params![rev.namespace, rev.rollout, rev.revision],
                |r| {
                    Ok(PrLink {
                        url: r.get(0)?,
                        number: u64::try_from(r.get::<_, i64>(1)?).unwrap_or_default(),
                        repo: r.get(2)?,
                    })
                },
            )
            .optional()?)
        })
        .await
    }

    pub async fn set_transcript(
        &self,
        id: &str,
        t: &serde_json::Value,
    ) -> Result<bool, StoreError> {
        let id = id.to_owned();
        let json = serde_json::to_string(t).map_err(|e| decode_err(&id, e))?;
        self.with(move |c| {
            let n = c.execute(
                "UPDATE analyses SET transcript_json = ?2 WHERE id = ?1",
                params![id, json],
            )?;
            Ok(n > 0)
        })
        .await
    }

    /// Append a row to analysis `id` with `insert` (its `?1` the id, then
    /// `values`), in one transaction; false when the analysis is gone.
    async fn append(
        &self,
        id: &str,
        insert: &'static str,
        values: Vec<rusqlite::types::Value>,
    ) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.with(move |c| {
            let tx = c.transaction()?;
            let exists: Option<i64> = tx
                .query_row("SELECT 1 FROM analyses WHERE id = ?1", params![id], |r| {
                    r.get(0)
                })
                .optional()?;
            if exists.is_none() {
                return Ok(false);
            }
            let args = std::iter::once(rusqlite::types::Value::Text(id)).chain(values);
            tx.execute(insert, rusqlite::params_from_iter(args))?;
            tx.commit()?;
            Ok(true)
        })
        .await
    }

    pub async fn add_notification(
        &self,
        id: &str,
        o: &NotificationOutcome,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        use rusqlite::types::Value;
        self.append(
            id,
            "INSERT INTO notifications (analysis_id, seq, channel, ok, detail, thread_ts, created_ms) \
             SELECT ?1, COALESCE(MAX(seq) + 1, 0), ?2, ?3, ?4, ?5, ?6 FROM notifications WHERE analysis_id = ?1",
            vec![
                Value::Text(o.channel.clone()),
                Value::Integer(i64::from(o.ok)),
                Value::Text(o.detail.clone()),
                o.thread_ts.clone().map_or(Value::Null, Value::Text),
                Value::Integer(now_ms),
            ],
        )
        .await
    }

    pub async fn claim(
        &self,
        name: &str,
        holder: &str,
        expires_ms: i64,
        now_ms: i64,
    ) -> Result<Claim, StoreError> {
        let (name, holder) = (name.to_owned(), holder.to_owned());
        self.with(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let won: Option<String> = tx
                .query_row(
                    "INSERT INTO claims (name, holder, expires_ms) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_ms = excluded.expires_ms \
                     WHERE claims.expires_ms < ?4 OR claims.holder = excluded.holder \
                     RETURNING holder",
                    params![name, holder, expires_ms, now_ms],
                    |r| r.get(0),
                )
                .optional()?;
            let out = match won {
                Some(_) => Claim::Won,
                None => {
                    let (h, e) = tx.query_row(
                        "SELECT holder, expires_ms FROM claims WHERE name = ?1",
                        params![name],
                        |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)),
                    )?;
                    Claim::HeldBy {
                        holder: h,
                        expires_ms: e,
                    }
                }
            };
            tx.commit()?;
            Ok(out)
        })
        .await
    }

    pub async fn release(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        let (name, holder) = (name.to_owned(), holder.to_owned());
        self.with(move |c| {
            c.execute(
                "DELETE FROM claims WHERE name = ?1 AND holder = ?2",
                params![name, holder],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn add_feedback(&self, id: &str, f: &Feedback) -> Result<bool, StoreError> {
        use rusqlite::types::Value;
        let json = serde_json::to_string(f).map_err(|e| decode_err(id, e))?;
        self.append(
            id,
            "INSERT INTO feedback (analysis_id, seq, feedback_json, created_ms) \
             SELECT ?1, COALESCE(MAX(seq) + 1, 0), ?2, ?3 FROM feedback WHERE analysis_id = ?1",
            vec![Value::Text(json), Value::Integer(f.created_ms)],
        )
        .await
    }

    pub async fn sweep(&self, cutoff_ms: i64, cap: u64, now_ms: i64) -> Result<Swept, StoreError> {
        self.with(move |c| {
            let tx = c.transaction()?;
            // The newest row past the cap: it and everything older go.
            let edge: Option<(i64, String)> = tx
                .query_row(
                    "SELECT created_ms, id FROM analyses ORDER BY created_ms DESC, id DESC LIMIT 1 OFFSET ?1",
                    params![i64_of(cap)],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let (edge_ms, edge_id) = edge.unwrap_or((i64::MIN, String::new()));
            let doomed = "SELECT id FROM analyses WHERE created_ms < ?1 OR created_ms < ?2 OR (created_ms = ?2 AND id <= ?3)";
            for table in ["notifications", "feedback"] {
                tx.execute(
                    &format!("DELETE FROM {table} WHERE analysis_id IN ({doomed})"),
                    params![cutoff_ms, edge_ms, edge_id],
                )?;
            }
            let analyses = tx.execute(
                "DELETE FROM analyses WHERE created_ms < ?1 OR created_ms < ?2 OR (created_ms = ?2 AND id <= ?3)",
                params![cutoff_ms, edge_ms, edge_id],
            )?;
            let claims = tx.execute(
                "DELETE FROM claims WHERE expires_ms < ?1",
                params![now_ms.saturating_sub(super::sweep::CLAIM_GRACE_MS)],
            )?;
            tx.commit()?;
            Ok(Swept {
                analyses: analyses as u64,
                claims: claims as u64,
            })
        })
        .await
    }
}

fn joined(e: tokio::task::JoinError) -> StoreError {
    StoreError::Backend {
        backend: BACKEND,
        message: format!("the store's worker stopped: {e}"),
    }
}

fn decode_err(id: &str, e: serde_json::Error) -> StoreError {
    StoreError::Decode {
        id: id.to_owned(),
        message: e.to_string(),
    }
}

const COLUMNS: &str = "id, record_json, templates_json, pr_json, transcript_json";

/// Rows of `analyses` matching `clause`, with their notifications.
fn read_rows(
    c: &Connection,
    clause: &str,
    args: impl rusqlite::Params,
) -> Result<Vec<Arc<AnalysisRecord>>, StoreError> {
    type Row = (
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let mut st = c.prepare(&format!("SELECT {COLUMNS} FROM analyses {clause}"))?;
    let rows: Vec<Row> = st
        .query_map(args, |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<Result<_, _>>()?;
    let mut notes = c.prepare(
        "SELECT channel, ok, detail, thread_ts FROM notifications WHERE analysis_id = ?1 ORDER BY seq",
    )?;
    let mut said =
        c.prepare("SELECT feedback_json FROM feedback WHERE analysis_id = ?1 ORDER BY seq")?;
    let mut out = Vec::with_capacity(rows.len());
    for (id, json, templates, pr, transcript) in rows {
        let fs: Vec<String> = said
            .query_map(params![id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let ns: Vec<NotificationOutcome> = notes
            .query_map(params![id], |r| {
                Ok(NotificationOutcome {
                    channel: r.get(0)?,
                    ok: r.get::<_, i64>(1)? != 0,
                    detail: r.get(2)?,
                    thread_ts: r.get(3)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        let mut rec = decode_record(
            &id,
            &json,
            templates.as_deref(),
            pr.as_deref(),
            transcript.as_deref(),
            ns,
        )?;
        rec.feedback = fs
            .iter()
            .map(|f| serde_json::from_str(f).map_err(|e| decode_err(&id, e)))
            .collect::<Result<_, _>>()?;
        out.push(Arc::new(rec));
    }
    Ok(out)
}

/// Bring the schema up to date in one immediate transaction (a second
/// process opening the same file waits on it).
fn migrate_conn(
    c: &mut Connection,
    migrations: &[Migration],
    now_ms: i64,
) -> Result<usize, StoreError> {
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    tx.execute_batch(migrate::CREATE_SCHEMA_MIGRATIONS)?;
    let applied: Vec<Applied> = tx
        .prepare(migrate::SELECT_APPLIED)?
        .query_map([], |r| {
            Ok(Applied {
                version: r.get(0)?,
                name: r.get(1)?,
                checksum: r.get(2)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let todo = migrate::pending(migrations, &applied)?;
    for m in &todo {
        tx.execute_batch(m.sql).map_err(|e| StoreError::Migration {
            file: m.name.into(),
            message: e.to_string(),
        })?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, checksum, applied_ms) VALUES (?1, ?2, ?3, ?4)",
            params![m.version, m.name, migrate::checksum(m.sql), now_ms],
        )?;
    }
    tx.commit()?;
    Ok(todo.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    static CHANGED: &[Migration] = &[Migration {
        version: 1,
        name: "0001_history.sql",
        sql: "CREATE TABLE analyses (id TEXT PRIMARY KEY);",
    }];

    #[tokio::test]
    async fn migrating_twice_is_a_no_op_and_a_changed_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.db");
        let s = SqliteStore::open(&path).await.unwrap();
        let again = s
            .with(|c| migrate_conn(c, migrate::MIGRATIONS, 1))
            .await
            .unwrap();
        assert_eq!(again, 0, "nothing left to apply");
        let rows: i64 = s
            .with(|c| Ok(c.query_row("SELECT COUNT(*) FROM schema_migrations", [], |r| r.get(0))?))
            .await
            .unwrap();
        assert_eq!(rows, migrate::MIGRATIONS.len() as i64);
        drop(s);
        SqliteStore::open(&path).await.unwrap();
        let e = SqliteStore::open_with(&path, CHANGED).await.unwrap_err();
        assert!(
            matches!(&e, StoreError::Migration { file, .. } if file == "0001_history.sql"),
            "{e}"
        );
        assert!(e.to_string().contains("edited"), "{e}");
    }

    #[tokio::test]
    async fn a_database_from_a_newer_rollwise_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.db");
        let s = SqliteStore::open(&path).await.unwrap();
        s.with(|c| {
            c.execute(
                "INSERT INTO schema_migrations VALUES (99, '0099_future.sql', 'x', 0)",
                [],
            )?;
            Ok(())
        })
        .await
        .unwrap();
        drop(s);
        let e = SqliteStore::open(&path).await.unwrap_err().to_string();
        assert!(e.contains("0099_future.sql") && e.contains("newer"), "{e}");
    }

    #[tokio::test]
    async fn a_path_that_cannot_be_opened_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a-file");
        std::fs::write(&file, "not a directory").unwrap();
        let e = SqliteStore::open(&file.join("h.db"))
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains(&*file.to_string_lossy()), "{e}");
        // A missing directory is created.
        let deep = dir.path().join("x/y/h.db");
        SqliteStore::open(&deep).await.unwrap();
        assert!(deep.exists());
    }
}
