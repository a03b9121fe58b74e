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

/// How often [`Nodes::wait`] asks the explorers.
const POLL: Duration = Duration::from_millis(200);

/// How long [`Nodes::wait`] gives the other explorers to commit a record one
/// has committed (a node a block or two behind catches up well within it;
/// a stuck one is not waited for longer).
const SETTLE: Duration = Duration::from_secs(10);

/// How long a request an explorer keeps answering "too many requests" (429)
/// or "busy, retry" (503 with `Retry-After`) is retried before the answer
/// is taken as it is. Every request made here is safe to repeat: reads, and
/// records (idempotent by id). Other 503s (a node that is faulty, stopping,
/// or takes no records) are answers: the caller tries the next node.
const BUSY_BUDGET: Duration = Duration::from_secs(120);

/// The longest single wait for a busy explorer.
const BUSY_WAIT_MAX: Duration = Duration::from_secs(10);

/// An explorer's `Retry-After` in its seconds form (whole seconds, often
/// 0 under a per-second limit).
fn retry_after(r: &reqwest::Response) -> Option<Duration> {
    r.headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// Whether an answer says "not now, later": 429, or 503 with `Retry-After`.
fn is_busy(r: &reqwest::Response) -> bool {
    match r.status() {
        reqwest::StatusCode::TOO_MANY_REQUESTS => true,
        reqwest::StatusCode::SERVICE_UNAVAILABLE => retry_after(r).is_some(),
        _ => false,
    }
}

/// How long to wait before asking a busy explorer again: what its
/// `Retry-After` says, but at least the growing `backoff`, at most
/// [`BUSY_WAIT_MAX`].
fn busy_wait(r: &reqwest::Response, backoff: Duration) -> Duration {
    retry_after(r)
        .unwrap_or(Duration::ZERO)
        .max(backoff)
        .min(BUSY_WAIT_MAX)
}

/// The explorers of one network, tried in order.
#[derive(Clone)]
pub struct Nodes {
    pub urls: Vec<String>,
    http: reqwest::Client,
    /// How long a busy explorer is waited for ([`BUSY_BUDGET`]).
    busy_budget: Duration,
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
        Ok(Nodes {
            urls,
            http,
            busy_budget: BUSY_BUDGET,
        })
    }

    /// Sends a request, waiting and sending it again while the explorer
    /// answers busy ([`is_busy`]), for up to `busy_budget`: a client
    /// reading a whole chain is slowed down, not failed.
    async fn send(
        &self,
        request: impl Fn() -> reqwest::RequestBuilder,
    ) -> reqwest::Result<reqwest::Response> {
        let start = Instant::now();
        let mut backoff = Duration::from_millis(50);
        loop {
            let r = request().send().await?;
            if !is_busy(&r) || start.elapsed() >= self.busy_budget {
                return Ok(r);
            }
            let wait = busy_wait(&r, backoff);
            tokio::time::sleep(wait).await;
            backoff = (backoff * 2).min(BUSY_WAIT_MAX);
        }
    }

    /// GET from one explorer: the JSON, or its `{code, message}` error.
    pub async fn get_at(&self, base: &str, path: &str) -> Result<Value> {
        let url = format!("{base}{path}");
        let r = self.send(|| self.http.get(&url)).await;
        Self::json_answer("GET", &url, r).await
    }

    /// POST JSON to one explorer: the JSON answer, or its error.
    pub async fn post_json_at(&self, base: &str, path: &str, body: &Value) -> Result<Value> {
        let url = format!("{base}{path}");
        let r = self.send(|| self.http.post(&url).json(body)).await;
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
            .send(|| {
                self.http
                    .post(&url)
                    .header("content-type", "application/octet-stream")
                    .body(bytes.to_vec())
            })
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
                .send(|| {
                    self.http
                        .post(&url)
                        .header("content-type", "application/octet-stream")
                        .body(body.clone())
                })
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

    /// Waits until the record is committed; returns (height, index).
    /// Resubmits its bytes to the next node when the nodes asked have not
    /// seen it for a while (a node that crashed after taking it).
    ///
    /// Once one node has committed it, the others that answer are given up
    /// to [`SETTLE`] to commit it too: a command run next (a settle after a
    /// reveal, a correction after a donation) goes to the first explorer,
    /// which must not still be a block behind and refuse it.
    pub async fn wait(&self, id: &RecordId, bytes: &[u8], timeout: Duration) -> Result<(u64, u32)> {
        self.wait_settled(id, bytes, timeout, SETTLE).await
    }

    /// A status answer's `status` (`None`: the node has not seen the record).
    fn status_of(v: &Option<Value>) -> Option<&str> {
        v.as_ref().and_then(|v| v["status"].as_str())
    }

    async fn wait_settled(
        &self,
        id: &RecordId,
        bytes: &[u8],
        timeout: Duration,
        settle: Duration,
    ) -> Result<(u64, u32)> {
        let start = Instant::now();
        let mut last_submit = Instant::now();
        let mut next_node = 1usize;
        // Where it was first seen committed, and when.
        let mut committed: Option<((u64, u32), Instant)> = None;
        loop {
            let mut answers = Vec::with_capacity(self.urls.len());
            for base in &self.urls {
                let path = format!("/api/v1/records/{}/status", id.to_hex());
                match self.get_at(base, &path).await {
                    Ok(v) => answers.push(Some(v)),
                    // Up, but has not seen the record (yet).
                    Err(e) if e.downcast_ref::<Refused>().is_some_and(|r| r.status == 404) => {
                        answers.push(None)
                    }
                    // Unreachable: not waited for.
                    Err(_) => {}
                }
            }
            if committed.is_none() {
                if let Some(v) = answers
                    .iter()
                    .flatten()
                    .find(|v| v["status"] == "committed")
                {
                    let at = (
                        v["height"].as_u64().unwrap_or(0),
                        v["index"].as_u64().unwrap_or(0) as u32,
                    );
                    committed = Some((at, Instant::now()));
                } else if let Some(v) = answers.iter().flatten().find(|v| v["status"] == "refused")
                {
                    return Err(Refused {
                        status: 400,
                        code: v["code"].as_str().unwrap_or("").into(),
                        message: v["message"].as_str().unwrap_or("").into(),
                    }
                    .into());
                } else if answers
                    .iter()
                    .any(|v| Self::status_of(v) == Some("expired"))
                {
                    bail!("record {id} expired before a block took it: sign it again (a later --expires)");
                }
            }
            match committed {
                Some((at, since)) => {
                    let behind = answers
                        .iter()
                        .any(|v| Self::status_of(v) != Some("committed"));
                    if !behind || since.elapsed() >= settle {
                        return Ok(at);
                    }
                }
                None => {
                    if start.elapsed() > timeout {
                        bail!("record {id} was not committed within {} s; it may still be: ask `shanlian status {id}` later", timeout.as_secs());
                    }
                    let unknown_everywhere = !answers
                        .iter()
                        .any(|v| Self::status_of(v) == Some("pending"));
                    if unknown_everywhere && last_submit.elapsed() > Duration::from_secs(2) {
                        let base = &self.urls[next_node % self.urls.len()];
                        next_node += 1;
                        let _ = self.submit_at(base, bytes).await;
                        last_submit = Instant::now();
                    }
                }
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    /// How a fake explorer answers its `n`th status request: (HTTP status,
    /// body).
    type Answer = fn(u32) -> (u16, Value);

    /// An explorer answering every record-status request with `answer`.
    async fn explorer(answer: Answer) -> (String, Arc<AtomicU32>) {
        let polls = Arc::new(AtomicU32::new(0));
        let counter = Arc::clone(&polls);
        let app = axum::Router::new().route(
            "/api/v1/records/{id}/status",
            axum::routing::get(move || {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                async move {
                    let (code, body) = answer(n);
                    let code = axum::http::StatusCode::from_u16(code).expect("status");
                    // A body's `retry_after` is sent as the header.
                    let mut headers = axum::http::HeaderMap::new();
                    if let Some(s) = body["retry_after"].as_str() {
                        headers.insert("retry-after", s.parse().expect("header"));
                    }
                    (code, headers, axum::Json(body))
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        (url, polls)
    }

    fn committed(_: u32) -> (u16, Value) {
        (200, json!({"status": "committed", "height": 7, "index": 1}))
    }
    fn pending(_: u32) -> (u16, Value) {
        (200, json!({"status": "pending"}))
    }

    async fn wait(urls: Vec<String>, settle: Duration) -> Result<(u64, u32)> {
        Nodes::new(urls)
            .expect("nodes")
            .wait_settled(&RecordId([1; 32]), b"", Duration::from_secs(20), settle)
            .await
    }

    /// The auditor's download stopped at block 457 of a demo chain: the
    /// explorer's per-client rate limit answered 429 and the client gave
    /// up. A busy answer (429 or 503) is now waited out.
    #[tokio::test]
    async fn a_rate_limited_read_is_retried() {
        fn limited_twice(n: u32) -> (u16, Value) {
            match n {
                0 => (
                    429,
                    json!({"code": "request.rate_limited", "message": "retry in 0 s"}),
                ),
                1 => (
                    503,
                    json!({"code": "server.busy", "message": "busy", "retry_after": "0"}),
                ),
                _ => committed(n),
            }
        }
        let (url, polls) = explorer(limited_twice).await;
        let nodes = Nodes::new(vec![url]).expect("nodes");
        let v = nodes
            .get(&format!(
                "/api/v1/records/{}/status",
                RecordId([1; 32]).to_hex()
            ))
            .await
            .expect("answered after the waits");
        assert_eq!(v["status"], "committed");
        assert_eq!(polls.load(Ordering::SeqCst), 3);
    }

    /// An explorer that stays rate limited is answered with its refusal
    /// once the budget is spent, not waited for forever; other errors are
    /// not retried at all.
    #[tokio::test]
    async fn a_busy_explorer_is_waited_for_only_so_long() {
        fn always_limited(_: u32) -> (u16, Value) {
            (
                429,
                json!({"code": "request.rate_limited", "message": "retry in 0 s"}),
            )
        }
        let (url, polls) = explorer(always_limited).await;
        let mut nodes = Nodes::new(vec![url]).expect("nodes");
        nodes.busy_budget = Duration::from_millis(300);
        let path = format!("/api/v1/records/{}/status", RecordId([1; 32]).to_hex());
        let e = nodes.get(&path).await.expect_err("still limited");
        let refused = e.downcast_ref::<Refused>().expect("the explorer's refusal");
        assert_eq!(
            (refused.status, refused.code.as_str()),
            (429, "request.rate_limited")
        );
        assert!(polls.load(Ordering::SeqCst) >= 2);

        fn gone(_: u32) -> (u16, Value) {
            (404, json!({"code": "record.unknown", "message": "no"}))
        }
        let (url, polls) = explorer(gone).await;
        let e = Nodes::new(vec![url])
            .expect("nodes")
            .get(&path)
            .await
            .expect_err("404");
        assert_eq!(e.downcast_ref::<Refused>().map(|r| r.status), Some(404));
        assert_eq!(polls.load(Ordering::SeqCst), 1);
        // A 503 without Retry-After (a faulty node, one stopping, one that
        // takes no records) is an answer: the next node is asked at once.
        fn faulty(_: u32) -> (u16, Value) {
            (
                503,
                json!({"code": "node.fault", "message": "submit to another node"}),
            )
        }
        let (bad, bad_polls) = explorer(faulty).await;
        let (good, good_polls) = explorer(committed).await;
        let v = Nodes::new(vec![bad, good])
            .expect("nodes")
            .get(&path)
            .await
            .expect("the next node");
        assert_eq!(v["status"], "committed");
        assert_eq!(
            (
                bad_polls.load(Ordering::SeqCst),
                good_polls.load(Ordering::SeqCst)
            ),
            (1, 1)
        );
    }

    /// The draw e2e test's failure: the reveal was committed on node 1,
    /// the settle that followed went to node 0, a block behind, and was
    /// refused as not ready. `wait` now returns once node 0 has it too,
    /// whether node 0 still holds it as pending or has not seen it (404).
    #[tokio::test]
    async fn a_node_behind_is_waited_for() {
        fn pending_4_times(n: u32) -> (u16, Value) {
            if n < 4 {
                pending(n)
            } else {
                committed(n)
            }
        }
        fn unseen_twice(n: u32) -> (u16, Value) {
            if n < 2 {
                (
                    404,
                    json!({"code": "record.unknown", "message": "not seen"}),
                )
            } else {
                committed(n)
            }
        }
        let cases: [(Answer, u32); 2] = [(pending_4_times, 5), (unseen_twice, 3)];
        for (answer, polls_until_committed) in cases {
            let (ahead, _) = explorer(committed).await;
            let (behind, polls) = explorer(answer).await;
            assert_eq!(wait(vec![behind, ahead], SETTLE).await.unwrap(), (7, 1));
            assert_eq!(polls.load(Ordering::SeqCst), polls_until_committed);
        }
    }

    /// A stuck node, or an unreachable one, holds the answer up for at most
    /// the settling time.
    #[tokio::test]
    async fn a_stuck_node_is_waited_for_only_so_long() {
        let (ahead, _) = explorer(committed).await;
        let (stuck, _) = explorer(pending).await;
        let started = Instant::now();
        let settle = Duration::from_millis(600);
        let urls = vec![stuck, "http://127.0.0.1:9".into(), ahead];
        assert_eq!(wait(urls, settle).await.unwrap(), (7, 1));
        let took = started.elapsed();
        assert!(took >= settle && took < settle * 4, "{took:?}");
    }

    /// A refusal is the answer unless another node committed the record.
    #[tokio::test]
    async fn a_refusal_is_the_answer_unless_another_node_committed_it() {
        fn refused(_: u32) -> (u16, Value) {
            let body = json!({"status": "refused", "code": "draw.not_ready", "message": "later"});
            (200, body)
        }
        let (no, _) = explorer(refused).await;
        let (maybe, _) = explorer(pending).await;
        let err = wait(vec![no.clone(), maybe], SETTLE).await.unwrap_err();
        let refusal = err.downcast_ref::<Refused>().expect("a refusal");
        assert_eq!(refusal.code, "draw.not_ready");
        let (yes, _) = explorer(committed).await;
        let settle = Duration::from_millis(400);
        assert_eq!(wait(vec![no, yes], settle).await.unwrap(), (7, 1));
    }
}
