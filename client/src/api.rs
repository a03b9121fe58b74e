//! Talking to nodes through their explorers: reads that fail over from one
//! node to the next, submission, and waiting for a record to commit
//! (resubmitting to another node when one fails or forgets it: records are
//! idempotent by id, so resubmitting is always safe).
//!
//! Nothing read here is trusted: callers verify what matters with the
//! ledger's light-client core.

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;
use shanlian_ledger::types::RecordId;
use std::time::{Duration, Instant};

/// A refusal by a node: the ledger rule's code and message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Refused {
    pub status: u16,
    pub code: String,
    pub message: String,
}

/// The explorers of one network, tried in order.
#[derive(Clone)]
pub struct Nodes {
    pub urls: Vec<String>,
    http: reqwest::Client,
}

/// What the batch endpoint answered.
#[derive(Debug, Clone, Default)]
pub struct BatchAnswer {
    pub ids: Vec<String>,
    /// (index in the batch, code, message)
    pub refused: Vec<(usize, String, String)>,
}

impl Nodes {
    pub fn new(urls: Vec<String>) -> Result<Nodes> {
        if urls.is_empty() {
            bail!("no explorer to talk to: pass --explorer URL or set `explorers` in the profile");
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .context("cannot build the HTTP client")?;
        let urls = urls
            .into_iter()
            .map(|u| u.trim_end_matches('/').to_string())
            .collect();
        Ok(Nodes { urls, http })
    }

    /// GET from one explorer: the JSON, or its `{code, message}` error.
    pub async fn get_at(&self, base: &str, path: &str) -> Result<Value> {
        let url = format!("{base}{path}");
        let r = self.http.get(&url).send().await;
        Self::json_answer("GET", &url, r).await
    }

    /// POST JSON to one explorer: the JSON answer, or its error.
    pub async fn post_json_at(&self, base: &str, path: &str, body: &Value) -> Result<Value> {
        let url = format!("{base}{path}");
        let r = self.http.post(&url).json(body).send().await;
        Self::json_answer("POST", &url, r).await
    }

    async fn json_answer(
        method: &str,
        url: &str,
        r: reqwest::Result<reqwest::Response>,
    ) -> Result<Value> {
        let r = r.with_context(|| format!("cannot reach {url}"))?;
        let status = r.status();
        let body: Value = r
            .json()
            .await
            .with_context(|| format!("{url} did not answer JSON"))?;
        if !status.is_success() {
            return Err(Refused {
                status: status.as_u16(),
                code: body["code"].as_str().unwrap_or("unknown").to_string(),
                message: body["message"].as_str().unwrap_or("").to_string(),
            })
            .with_context(|| format!("{method} {url}"));
        }
        Ok(body)
    }

    /// The status of many records (`POST /api/v1/records/status`, at most
    /// 10,000 ids a request), from the first explorer that answers; in the
    /// order asked.
    pub async fn statuses(&self, ids: &[RecordId]) -> Result<Vec<Value>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(10_000) {
            let body = serde_json::json!({
                "ids": chunk.iter().map(RecordId::to_hex).collect::<Vec<_>>()
            });
            let mut last = None;
            let mut answer = None;
            for base in &self.urls {
                match self
                    .post_json_at(base, "/api/v1/records/status", &body)
                    .await
                {
                    Ok(v) => {
                        answer = Some(v);
                        break;
                    }
                    Err(e) => last = Some(e),
                }
            }
            let v = match answer {
                Some(v) => v,
                None => return Err(last.unwrap_or_else(|| anyhow!("no explorer"))),
            };
            let list = v
                .as_array()
                .filter(|a| a.len() == chunk.len())
                .ok_or_else(|| {
                    anyhow!("the explorer answered a status list of the wrong length")
                })?;
            out.extend(list.iter().cloned());
        }
        Ok(out)
    }

    /// GET from the first explorer that answers it (a node that lags, or is
    /// down, is skipped).
    pub async fn get(&self, path: &str) -> Result<Value> {
        let mut last = None;
        for base in &self.urls {
            match self.get_at(base, path).await {
                Ok(v) => return Ok(v),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| anyhow!("no explorer")))
    }

    /// Submits one record's bytes to the first node that answers.
    pub async fn submit(&self, bytes: &[u8]) -> Result<()> {
        let mut last = None;
        for base in &self.urls {
            match self.submit_at(base, bytes).await {
                Ok(()) => return Ok(()),
                Err(e) if e.downcast_ref::<Refused>().is_some_and(|r| r.status < 500) => {
                    return Err(e)
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| anyhow!("no explorer")))
    }

    async fn submit_at(&self, base: &str, bytes: &[u8]) -> Result<()> {
        let url = format!("{base}/api/v1/records");
        let r = self
            .http
            .post(&url)
            .header("content-type", "application/octet-stream")
            .body(bytes.to_vec())
            .send()
            .await
            .with_context(|| format!("cannot reach {url}"))?;
        let status = r.status();
        if status.is_success() {
            return Ok(());
        }
        let body: Value = r.json().await.unwrap_or_default();
        Err(Refused {
            status: status.as_u16(),
            code: body["code"].as_str().unwrap_or("unknown").to_string(),
            message: body["message"].as_str().unwrap_or("").to_string(),
        }
        .into())
    }

    /// Submits many records in one request (each framed by its u32 LE
    /// length), to the first node that answers.
    pub async fn submit_batch(&self, records: &[Vec<u8>]) -> Result<BatchAnswer> {
        let mut body = Vec::with_capacity(records.iter().map(|r| r.len() + 4).sum());
        for r in records {
            body.extend_from_slice(&(r.len() as u32).to_le_bytes());
            body.extend_from_slice(r);
        }
        let mut last = None;
        for base in &self.urls {
            let url = format!("{base}/api/v1/records/batch");
            let sent = self
                .http
                .post(&url)
                .header("content-type", "application/octet-stream")
                .body(body.clone())
                .send()
                .await;
            let r = match sent {
                Ok(r) => r,
                Err(e) => {
                    last = Some(anyhow!(e).context(format!("cannot reach {url}")));
                    continue;
                }
            };
            let status = r.status();
            let v: Value = r.json().await.unwrap_or_default();
            if !status.is_success() {
                let e = Refused {
                    status: status.as_u16(),
                    code: v["code"].as_str().unwrap_or("unknown").into(),
                    message: v["message"].as_str().unwrap_or("").into(),
                };
                if status.is_server_error() {
                    last = Some(e.into());
                    continue;
                }
                return Err(e.into());
            }
            let ids = v["ids"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            let refused = v["refused"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|x| {
                            (
                                x["index"].as_u64().unwrap_or(0) as usize,
                                x["code"].as_str().unwrap_or("").to_string(),
                                x["message"].as_str().unwrap_or("").to_string(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            return Ok(BatchAnswer { ids, refused });
        }
        Err(last.unwrap_or_else(|| anyhow!("no explorer")))
    }

    /// Waits until the record is committed on some node; returns (height,
    /// index). Resubmits its bytes to the next node when the nodes asked
    /// have not seen it for a while (a node that crashed after taking it).
    pub async fn wait(&self, id: &RecordId, bytes: &[u8], timeout: Duration) -> Result<(u64, u32)> {
        let start = Instant::now();
        let mut last_submit = Instant::now();
        let mut next_node = 1usize;
        loop {
            let mut unknown_everywhere = true;
            for base in &self.urls {
                let Ok(v) = self
                    .get_at(base, &format!("/api/v1/records/{}/status", id.to_hex()))
                    .await
                else {
                    continue;
                };
                match v["status"].as_str() {
                    Some("committed") => {
                        return Ok((
                            v["height"].as_u64().unwrap_or(0),
                            v["index"].as_u64().unwrap_or(0) as u32,
                        ))
                    }
                    Some("refused") => {
                        return Err(Refused {
                            status: 400,
                            code: v["code"].as_str().unwrap_or("").into(),
                            message: v["message"].as_str().unwrap_or("").into(),
                        }
                        .into())
                    }
                    Some("expired") => bail!(
                        "record {id} expired before a block took it: sign it again (a later --expires)"
                    ),
                    Some("pending") => unknown_everywhere = false,
                    _ => {}
                }
            }
            if start.elapsed() > timeout {
                bail!("record {id} was not committed within {} s; it may still be: ask `shanlian status {id}` later", timeout.as_secs());
            }
            if unknown_everywhere && last_submit.elapsed() > Duration::from_secs(2) {
                let base = &self.urls[next_node % self.urls.len()];
                next_node += 1;
                let _ = self.submit_at(base, bytes).await;
                last_submit = Instant::now();
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}
