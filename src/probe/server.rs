//! A small price API on 127.0.0.1 (tiny_http): every POST body goes to a handler, whose reply
//! is sent back as JSON. The demo's price service (`fairmark demo --serve`) and the CLI tests'
//! services run on it.

use std::io::Read;
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::error::{Error, Result};

/// What a handler answers.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    /// Sent as `Retry-After` (seconds), for a 429 or 503.
    pub retry_after: Option<u64>,
}

impl Reply {
    pub fn json(status: u16, body: serde_json::Value) -> Reply {
        Reply {
            status,
            body: body.to_string(),
            retry_after: None,
        }
    }
}

/// A running server; stopped when dropped.
pub struct PriceServer {
    server: Arc<tiny_http::Server>,
    threads: Vec<JoinHandle<()>>,
    pub port: u16,
}

/// Requests bodies beyond this are refused: a quote request is a few hundred bytes.
const MAX_REQUEST_BYTES: u64 = 64 * 1024;

impl PriceServer {
    /// Listens on 127.0.0.1:`port` (0: any free port) and answers with `handler` on `threads`
    /// threads.
    pub fn start(
        port: u16,
        threads: usize,
        handler: impl Fn(&[u8]) -> Reply + Send + Sync + 'static,
    ) -> Result<PriceServer> {
        let server = tiny_http::Server::http(("127.0.0.1", port))
            .map_err(|e| Error::Usage(format!("cannot listen on 127.0.0.1:{port}: {e}")))?;
        let port = server
            .server_addr()
            .to_ip()
            .map(|a| a.port())
            .ok_or_else(|| Error::Usage("the price server has no IP address".into()))?;
        let server = Arc::new(server);
        let handler = Arc::new(handler);
        let threads = (0..threads.max(1))
            .map(|_| {
                let (server, handler) = (Arc::clone(&server), Arc::clone(&handler));
                std::thread::spawn(move || {
                    loop {
                        let mut request = match server.recv() {
                            Ok(request) => request,
                            // `unblock`: the server is stopping.
                            Err(e) if e.kind() == std::io::ErrorKind::Other => break,
                            // A connection that failed to open; the next one may not.
                            Err(_) => continue,
                        };
                        let mut body = Vec::new();
                        let read = request
                            .as_reader()
                            .take(MAX_REQUEST_BYTES + 1)
                            .read_to_end(&mut body);
                        let reply = match read {
                            Ok(_) if body.len() as u64 <= MAX_REQUEST_BYTES => handler(&body),
                            _ => Reply::json(
                                413,
                                serde_json::json!({"error": "request too large or unreadable"}),
                            ),
                        };
                        let mut response = tiny_http::Response::from_string(reply.body)
                            .with_status_code(reply.status)
                            .with_header(
                                tiny_http::Header::from_bytes("content-type", "application/json")
                                    .expect("a valid header"),
                            );
                        if let Some(seconds) = reply.retry_after {
                            response = response.with_header(
                                tiny_http::Header::from_bytes("retry-after", seconds.to_string())
                                    .expect("a valid header"),
                            );
                        }
                        let _ = request.respond(response);
                    }
                })
            })
            .collect();
        Ok(PriceServer {
            server,
            threads,
            port,
        })
    }

    /// Where to send quote requests.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/price", self.port)
    }

    /// Serves until the process ends.
    pub fn wait(mut self) {
        for thread in std::mem::take(&mut self.threads) {
            let _ = thread.join();
        }
    }
}

impl Drop for PriceServer {
    fn drop(&mut self) {
        for _ in &self.threads {
            self.server.unblock();
        }
        for thread in std::mem::take(&mut self.threads) {
            let _ = thread.join();
        }
    }
}
