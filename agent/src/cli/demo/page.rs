//! The demo's verdict page: the real page router over a memory [`Store`],
//! served on 127.0.0.1 and fetched once to prove it is up.

use std::time::Duration;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::page::{PageConfig, router};
use crate::store::Store;

/// The page server, running on the caller's runtime until dropped.
pub struct PageServer {
    pub base: String,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Drop for PageServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What fetching `/analyses/{id}` returned.
#[derive(Debug, Clone, Serialize)]
pub struct PageCheck {
    pub url: String,
    pub status: u16,
    /// `<svg class="chart"` elements in the page: one per metric.
    pub charts: usize,
    /// The page names the analysis' rollout.
    pub names_rollout: bool,
    /// `--serve`: the page stays up until Ctrl-C.
    pub serving: bool,
    /// Why the fetch failed, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl PageCheck {
    pub fn ok(&self) -> bool {
        self.status == 200 && self.charts >= 1
    }
}

/// Binds 127.0.0.1:`port` (0: any free port) and serves the page router.
pub async fn serve(store: Store, port: u16) -> Result<PageServer> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| Error::Io {
            what: format!("cannot listen on 127.0.0.1:{port} for the verdict page"),
            source: e,
        })?;
    let addr = listener.local_addr().map_err(|e| Error::Io {
        what: "verdict page address".into(),
        source: e,
    })?;
    let base = format!("http://{addr}");
    let app = router(
        store,
        PageConfig {
            public_url: Some(base.clone()),
            ..PageConfig::default()
        },
    );
    let task = tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(PageServer { base, task })
}

/// GETs the analysis page once.
pub async fn check(base: &str, id: &str, rollout: &str) -> PageCheck {
    let url = crate::page::fmt::analysis_url(base, id);
    let mut check = PageCheck {
        url: url.clone(),
        status: 0,
        charts: 0,
        names_rollout: false,
        serving: false,
        error: None,
    };
    crate::tls::install_crypto_provider();
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            check.error = Some(format!("cannot build the HTTP client: {e}"));
            return check;
        }
    };
    match client.get(&url).send().await {
        Ok(resp) => {
            check.status = resp.status().as_u16();
            match resp.text().await {
                Ok(html) => {
                    check.charts = html.matches("<svg class=\"chart\"").count();
                    check.names_rollout = html.contains(rollout);
                }
                Err(e) => check.error = Some(format!("cannot read the page: {e}")),
            }
        }
        Err(e) => check.error = Some(format!("GET {url}: {e}")),
    }
    check
}
