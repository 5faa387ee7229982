//! The Postgres backend: several replicas share one history and one set of
//! claims. Same migrations as SQLite. One connection per process, opened
//! lazily and reopened after it drops; connects time out, and every
//! operation runs under the store's timeout. No TLS connector: the database
//! is reached inside the cluster (put a TLS-terminating proxy in front if it
//! is not).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, MutexGuard};
use tokio_postgres::{Client, NoTls, Row};

use super::config::redact_url;
use super::migrate::{self, Applied, Migration};
use super::{
    AnalysisRecord, Claim, Feedback, Filter, NotificationOutcome, PrLink, RevisionRef, StoreError,
    Swept, decode_record, encode_record, i64_of,
};

const BACKEND: &str = "postgres";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Serialises migrations of replicas starting together
/// (`pg_advisory_xact_lock`; any constant agreed by every rollwise).
const MIGRATION_LOCK: i64 = 0x726f_6c6c_7769_7365;

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        StoreError::Backend {
            backend: BACKEND,
            message: crate::text::error_chain(&e),
        }
    }
}

pub struct PostgresStore {
    cfg: tokio_postgres::Config,
    /// For logs and errors.
    redacted: String,
    client: Mutex<Option<Client>>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("url", &self.redacted)
            .finish_non_exhaustive()
    }
}

type Guard<'a> = MutexGuard<'a, Option<Client>>;

impl PostgresStore {
    /// Connect and migrate. `url` is a `postgres://` URL (key=value strings
    /// work too).
    pub async fn connect(url: &str, migrations: &[Migration]) -> Result<Self, StoreError> {
        let redacted = redact_url(url);
        let mut cfg: tokio_postgres::Config =
            url.parse()
                .map_err(|e: tokio_postgres::Error| StoreError::Url {
                    url: redacted.clone(),
                    message: e.to_string(),
                })?;
        cfg.connect_timeout(CONNECT_TIMEOUT);
        cfg.keepalives(true);
        cfg.application_name("rollwise");
        let me = PostgresStore {
            cfg,
            redacted,
            client: Mutex::new(None),
        };
        {
            let mut g = me.client().await?;
            let c = live(&mut g)?;
            migrate_client(c, migrations, super::now_ms()).await?;
        }
        Ok(me)
    }

    /// The connection, (re)opened if needed.
    async fn client(&self) -> Result<Guard<'_>, StoreError> {
        let mut g = self.client.lock().await;
        if g.as_ref().is_none_or(Client::is_closed) {
            let connect = self.cfg.connect(NoTls);
            let (client, conn) = tokio::time::timeout(CONNECT_TIMEOUT, connect)
                .await
                .map_err(|_| StoreError::Timeout {
                    backend: BACKEND,
                    op: "connect",
                    after: CONNECT_TIMEOUT,
                })?
                .map_err(|e| StoreError::Backend {
                    backend: BACKEND,
                    message: format!(
                        "cannot connect to {}: {}",
                        self.redacted,
                        crate::text::error_chain(&e)
                    ),
                })?;
            let where_ = self.redacted.clone();
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::warn!(store = %where_, error = %crate::text::error_chain(&e), "Postgres connection closed");
                }
            });
            *g = Some(client);
        }
        Ok(g)
    }

    pub async fn insert(
        &self,
        rec: Arc<AnalysisRecord>,
        key: Option<&str>,
    ) -> Result<(), StoreError> {
        let (json, templates) = encode_record(&rec)?;
        let rev = RevisionRef::of(&rec.evidence);
        let mut g = self.client().await?;
        live(&mut g)?
            .execute(
                "INSERT INTO analyses (id, analysis_key, origin, namespace, rollout, revision, verdict, confidence, created_ms, record_json, templates_json) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                 ON CONFLICT (id) DO UPDATE SET record_json = EXCLUDED.record_json, templates_json = EXCLUDED.templates_json",
                &[
                    &rec.id,
                    &key,
                    &rec.origin.as_str(),
                    &rev.namespace,
                    &rev.rollout,
                    &rev.revision,
                    &rec.verdict.verdict.as_str(),
                    &i64::from(rec.verdict.confidence),
                    &rec.created_ms,
                    &json,
                    &templates,
                ],
            )
            .await?;
        Ok(())
    }

    pub async fn get(&self, id: &str) -> Result<Option<Arc<AnalysisRecord>>, StoreError> {
        let mut g = self.client().await?;
        let mut rows = read_rows(live(&mut g)?, "WHERE id = $1", &[&id]).await?;
        Ok(rows.pop())
    }

    pub async fn list(&self, f: &Filter) -> Result<Vec<Arc<AnalysisRecord>>, StoreError> {
        let limit = f
            .limit
            .map_or(i64::MAX, |l| i64::try_from(l).unwrap_or(i64::MAX));
        let verdict = f.verdict.map(|v| v.as_str());
        let mut g = self.client().await?;
        read_rows(
            live(&mut g)?,
            "WHERE ($1::TEXT IS NULL OR namespace = $1) AND ($2::TEXT IS NULL OR rollout = $2) AND ($3::TEXT IS NULL OR verdict = $3) \
             ORDER BY created_ms DESC, id DESC LIMIT $4",
            &[&f.namespace, &f.rollout, &verdict, &limit],
        )
        .await
    }

    pub async fn latest_for_key(
        &self,
        key: &str,
        since_ms: i64,
    ) -> Result<Option<Arc<AnalysisRecord>>, StoreError> {
        let mut g = self.client().await?;
        let mut rows = read_rows(
            live(&mut g)?,
            "WHERE analysis_key = $1 AND created_ms >= $2 ORDER BY created_ms DESC, id DESC LIMIT 1",
            &[&key, &since_ms],
        )
        .await?;
        Ok(rows.pop())
    }

    pub async fn set_pr(
        &self,
        id: &str,
        rev: &RevisionRef,
        pr: &PrLink,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let json = serde_json::to_string(pr).map_err(|e| decode_err(id, e))?;
        let mut g = self.client().await?;
        let tx = live(&mut g)?.transaction().await?;
        tx.execute(
            "INSERT INTO prs (namespace, rollout, revision, url, number, repo, analysis_id, created_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (namespace, rollout, revision) DO UPDATE SET url = EXCLUDED.url, number = EXCLUDED.number, repo = EXCLUDED.repo, analysis_id = EXCLUDED.analysis_id",
            &[&rev.namespace, &rev.rollout, &rev.revision, &pr.url, &i64_of(pr.number), &pr.repo, &id, &now_ms],
        )
        .await?;
        let n = tx
            .execute(
                "UPDATE analyses SET pr_json = $2 WHERE id = $1",
                &[&id, &json],
            )
            .await?;
        tx.commit().await?;
        Ok(n > 0)
    }

    pub async fn pr_for(&self, rev: &RevisionRef) -> Result<Option<PrLink>, StoreError> {
        let mut g = self.client().await?;
        let row = live(&mut g)?
            .query_opt(
                "SELECT url, number, repo FROM prs WHERE namespace = $1 AND rollout = $2 AND revision = $3",
                &[&rev.namespace, &rev.rollout, &rev.revision],
            )
            .await?;
        Ok(match row {
            Some(r) => Some(PrLink {
                url: r.try_get(0)?,
                number: u64::try_from(r.try_get::<_, i64>(1)?).unwrap_or_default(),
                repo: r.try_get(2)?,
            }),
            None => None,
        })
    }

    pub async fn set_transcript(
        &self,
        id: &str,
        t: &serde_json::Value,
    ) -> Result<bool, StoreError> {
        let json = serde_json::to_string(t).map_err(|e| decode_err(id, e))?;
        let mut g = self.client().await?;
        let n = live(&mut g)?
            .execute(
                "UPDATE analyses SET transcript_json = $2 WHERE id = $1",
                &[&id, &json],
            )
            .await?;
        Ok(n > 0)
    }

    pub async fn add_notification(
        &self,
        id: &str,
        o: &NotificationOutcome,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        self.append(
            id,
            "INSERT INTO notifications (analysis_id, seq, channel, ok, detail, thread_ts, created_ms) \
             SELECT $1, COALESCE(MAX(seq) + 1, 0), $2, $3, $4, $5, $6 FROM notifications WHERE analysis_id = $1",
            &[&o.channel, &i64::from(o.ok), &o.detail, &o.thread_ts, &now_ms],
        )
        .await
    }

    /// Append a row to analysis `id` with `insert` (its `$1` the id, then
    /// `values`), the analysis row locked so appends to it are serialised;
    /// false when the analysis is gone.
    async fn append(
        &self,
        id: &str,
        insert: &str,
        values: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<bool, StoreError> {
        let mut g = self.client().await?;
        let tx = live(&mut g)?.transaction().await?;
        if tx
            .query_opt("SELECT 1 FROM analyses WHERE id = $1 FOR UPDATE", &[&id])
            .await?
            .is_none()
        {
            return Ok(false);
        }
        let mut args: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![&id];
        args.extend_from_slice(values);
        tx.execute(insert, &args).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn add_feedback(&self, id: &str, f: &Feedback) -> Result<bool, StoreError> {
        let json = serde_json::to_string(f).map_err(|e| decode_err(id, e))?;
        self.append(
            id,
            "INSERT INTO feedback (analysis_id, seq, feedback_json, created_ms) \
             SELECT $1, COALESCE(MAX(seq) + 1, 0), $2, $3 FROM feedback WHERE analysis_id = $1",
            &[&json, &f.created_ms],
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
        let mut g = self.client().await?;
        let c = live(&mut g)?;
        // One statement: the conflicting row is locked while its WHERE is
        // checked, so of two callers racing for a free or expired claim
        // exactly one gets a row back.
        let won = c
            .query_opt(
                "INSERT INTO claims (name, holder, expires_ms) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_ms = EXCLUDED.expires_ms \
                 WHERE claims.expires_ms < $4 OR claims.holder = EXCLUDED.holder \
                 RETURNING holder",
                &[&name, &holder, &expires_ms, &now_ms],
            )
            .await?;
        if won.is_some() {
            return Ok(Claim::Won);
        }
        let row = c
            .query_opt(
                "SELECT holder, expires_ms FROM claims WHERE name = $1",
                &[&name],
            )
            .await?;
        Ok(match row {
            Some(r) => Claim::HeldBy {
                holder: r.try_get(0)?,
                expires_ms: r.try_get(1)?,
            },
            // Released between the two statements: report it as just free;
            // the caller's next attempt wins it.
            None => Claim::HeldBy {
                holder: String::new(),
                expires_ms: now_ms,
            },
        })
    }

    pub async fn release(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        let mut g = self.client().await?;
        live(&mut g)?
            .execute(
                "DELETE FROM claims WHERE name = $1 AND holder = $2",
                &[&name, &holder],
            )
            .await?;
        Ok(())
    }

    pub async fn sweep(&self, cutoff_ms: i64, cap: u64, now_ms: i64) -> Result<Swept, StoreError> {
        let mut g = self.client().await?;
        let tx = live(&mut g)?.transaction().await?;
        let edge = tx
            .query_opt(
                "SELECT created_ms, id FROM analyses ORDER BY created_ms DESC, id DESC LIMIT 1 OFFSET $1",
                &[&i64_of(cap)],
            )
            .await?;
        let (edge_ms, edge_id): (i64, String) = match edge {
            Some(r) => (r.try_get(0)?, r.try_get(1)?),
            None => (i64::MIN, String::new()),
        };
        let doomed = "created_ms < $1 OR created_ms < $2 OR (created_ms = $2 AND id <= $3)";
        for table in ["notifications", "feedback"] {
            tx.execute(
                &format!("DELETE FROM {table} WHERE analysis_id IN (SELECT id FROM analyses WHERE {doomed})"),
                &[&cutoff_ms, &edge_ms, &edge_id],
            )
            .await?;
        }
        let analyses = tx
            .execute(
                &format!("DELETE FROM analyses WHERE {doomed}"),
                &[&cutoff_ms, &edge_ms, &edge_id],
            )
            .await?;
        let claims = tx
            .execute(
                "DELETE FROM claims WHERE expires_ms < $1",
                &[&now_ms.saturating_sub(super::sweep::CLAIM_GRACE_MS)],
            )
            .await?;
        tx.commit().await?;
        Ok(Swept { analyses, claims })
    }
}

fn live<'a>(g: &'a mut Guard<'_>) -> Result<&'a mut Client, StoreError> {
    g.as_mut().ok_or(StoreError::Backend {
        backend: BACKEND,
        message: "not connected".into(),
    })
}

fn decode_err(id: &str, e: serde_json::Error) -> StoreError {
    StoreError::Decode {
        id: id.to_owned(),
        message: e.to_string(),
    }
}

async fn read_rows(
    c: &Client,
    clause: &str,
    args: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<Vec<Arc<AnalysisRecord>>, StoreError> {
    let rows = c
        .query(
            &format!(
                "SELECT id, record_json, templates_json, pr_json, transcript_json FROM analyses {clause}"
            ),
            args,
        )
        .await?;
    let ids: Vec<String> = rows
        .iter()
        .map(|r| r.try_get::<_, String>(0))
        .collect::<Result<_, _>>()?;
    let notes = c
        .query(
            "SELECT analysis_id, channel, ok, detail, thread_ts FROM notifications WHERE analysis_id = ANY($1) ORDER BY analysis_id, seq",
            &[&ids],
        )
        .await?;
    let said = c
        .query(
            "SELECT analysis_id, feedback_json FROM feedback WHERE analysis_id = ANY($1) ORDER BY analysis_id, seq",
            &[&ids],
        )
        .await?;
    rows.iter().map(|r| decode(r, &notes, &said)).collect()
}

fn decode(r: &Row, notes: &[Row], said: &[Row]) -> Result<Arc<AnalysisRecord>, StoreError> {
    let id: String = r.try_get(0)?;
    let mut ns = Vec::new();
    for n in notes {
        if n.try_get::<_, &str>(0)? == id {
            ns.push(NotificationOutcome {
                channel: n.try_get(1)?,
                ok: n.try_get::<_, i64>(2)? != 0,
                detail: n.try_get(3)?,
                thread_ts: n.try_get(4)?,
            });
        }
    }
    let json: &str = r.try_get(1)?;
    let templates: Option<&str> = r.try_get(2)?;
    let pr: Option<&str> = r.try_get(3)?;
    let transcript: Option<&str> = r.try_get(4)?;
    let mut rec = decode_record(&id, json, templates, pr, transcript, ns)?;
    for f in said {
        if f.try_get::<_, &str>(0)? == id {
            let text: &str = f.try_get(1)?;
            rec.feedback
                .push(serde_json::from_str(text).map_err(|e| decode_err(&id, e))?);
        }
    }
    Ok(Arc::new(rec))
}

/// Bring the schema up to date: one transaction holding an advisory lock, so
/// replicas starting together migrate one after another.
async fn migrate_client(
    c: &mut Client,
    migrations: &[Migration],
    now_ms: i64,
) -> Result<usize, StoreError> {
    let tx = c.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute(migrate::CREATE_SCHEMA_MIGRATIONS).await?;
    let applied: Vec<Applied> = tx
        .query(migrate::SELECT_APPLIED, &[])
        .await?
        .iter()
        .map(|r| {
            Ok(Applied {
                version: r.try_get(0)?,
                name: r.try_get(1)?,
                checksum: r.try_get(2)?,
            })
        })
        .collect::<Result<_, tokio_postgres::Error>>()?;
    let todo = migrate::pending(migrations, &applied)?;
    for m in &todo {
        tx.batch_execute(m.sql)
            .await
            .map_err(|e| StoreError::Migration {
                file: m.name.into(),
                message: crate::text::error_chain(&e),
            })?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, checksum, applied_ms) VALUES ($1, $2, $3, $4)",
            &[&m.version, &m.name, &migrate::checksum(m.sql), &now_ms],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(todo.len())
}

/// For tests: run the migrations again on an open store (a no-op when up to
/// date) and report how many ran.
#[doc(hidden)]
pub async fn migrate_again(
    s: &PostgresStore,
    migrations: &[Migration],
) -> Result<usize, StoreError> {
    let mut g = s.client().await?;
    migrate_client(live(&mut g)?, migrations, super::now_ms()).await
}
