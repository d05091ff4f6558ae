//! Asking the service, politely: a bounded number of pairs in flight, at most `max_rps`
//! requests a second over all of them, a timeout per request, retries with exponential backoff
//! (and jitter drawn from the seed) after a 429, a 5xx, a timeout or a connection error, and a
//! budget of requests. The two twins of a pair are asked back to back by one worker. Every
//! final outcome goes to the log; failures and malformed answers are counted by class, never
//! dropped, and when their share passes `max_error_share` the probe gives up.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Stdio};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::log::{Entry, Log};
use super::plan::{PlannedPair, Request};
use crate::config::probe::FollowRedirects;
use crate::error::{Error, Result};
use crate::stats::SplitMix;

/// What came back for one attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Answer {
        status: u16,
        body: String,
        /// A 429's or 503's `Retry-After`, in seconds.
        retry_after: Option<Duration>,
    },
    Timeout,
    Connection,
}

/// A way to reach the service. `worker` is the asking thread, for transports that keep one
/// connection or process per thread.
pub trait Transport: Sync {
    fn ask(&self, worker: usize, body: &str) -> Reply;
}

/// One JSON POST per quote.
pub struct Http {
    agent: ureq::Agent,
    url: String,
    follow: FollowRedirects,
}

impl Http {
    pub fn new(url: &str, timeout: Duration, follow: FollowRedirects) -> Http {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            // ureq would follow any redirect, to any host, and turn the POST into a GET; which
            // redirects are followed is the config's to say (see `follow`).
            .max_redirects(0)
            .user_agent(concat!("fairmark-probe/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Http {
            agent,
            url: url.to_string(),
            follow,
        }
    }

    /// One POST of `body` to `url`: the reply, and where a redirect points.
    fn post(&self, url: &str, body: &str) -> (Reply, Option<String>) {
        let sent = self
            .agent
            .post(url)
            .header("content-type", "application/json")
            .send(body);
        match sent {
            Ok(mut response) => {
                let status = response.status().as_u16();
                let header = |name: &str| {
                    response
                        .headers()
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .map(str::trim)
                        .map(str::to_string)
                };
                let retry_after = header("retry-after")
                    .and_then(|v| v.parse::<u64>().ok())
                    .map(Duration::from_secs);
                let location = (300..400)
                    .contains(&status)
                    .then(|| header("location"))
                    .flatten();
                let reply = match response
                    .body_mut()
                    .with_config()
                    .limit(MAX_ANSWER_BYTES)
                    .read_to_string()
                {
                    Ok(body) => Reply::Answer {
                        status,
                        body,
                        retry_after,
                    },
                    Err(ureq::Error::Timeout(_)) => Reply::Timeout,
                    // A body that is not text, or too long, is still an answer: a malformed one.
                    Err(_) => Reply::Answer {
                        status,
                        body: String::new(),
                        retry_after,
                    },
                };
                (reply, location)
            }
            Err(ureq::Error::Timeout(_)) => (Reply::Timeout, None),
            Err(ureq::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
                ) =>
            {
                (Reply::Timeout, None)
            }
            Err(_) => (Reply::Connection, None),
        }
    }
}

/// Answers are prices, not documents: a megabyte is plenty.
const MAX_ANSWER_BYTES: u64 = 1 << 20;

/// Same-origin redirects followed for one request; a longer chain (a loop) is answered by its
/// last redirect, a failure of class `redirect`.
const MAX_REDIRECTS: usize = 5;

impl Transport for Http {
    fn ask(&self, _worker: usize, body: &str) -> Reply {
        let mut url = self.url.clone();
        let mut hops = 0;
        loop {
            let (reply, location) = self.post(&url, body);
            // The same request goes to the new path: a 301, 302 or 303 would make a browser
            // ask with GET, but a probe's question is its POST body, and a GET asks something
            // else.
            let next = match (self.follow, location) {
                (FollowRedirects::SameOrigin, Some(location)) if hops < MAX_REDIRECTS => {
                    same_origin_target(&self.url, &url, &location)
                }
                _ => None,
            };
            match next {
                Some(next) => {
                    url = next;
                    hops += 1;
                }
                None => return reply,
            }
        }
    }
}

/// Where `location` (a redirect's `Location`, absolute or relative to `current`) points, when
/// that is on the origin (scheme, host and port) of `endpoint`; `None` for any other place.
fn same_origin_target(endpoint: &str, current: &str, location: &str) -> Option<String> {
    use ureq::http::Uri;
    let current_uri: Uri = current.parse().ok()?;
    let scheme = current_uri.scheme_str()?;
    let authority = current_uri.authority()?.as_str();
    let target = if location.contains("://") {
        location.to_string()
    } else if let Some(rest) = location.strip_prefix("//") {
        format!("{scheme}://{rest}")
    } else if location.starts_with('/') {
        format!("{scheme}://{authority}{location}")
    } else {
        let path = current_uri.path();
        let directory = &path[..path.rfind('/').map_or(0, |i| i + 1)];
        format!("{scheme}://{authority}{directory}{location}")
    };
    let origin = |url: &str| -> Option<(String, String, u16)> {
        let uri: Uri = url.parse().ok()?;
        let scheme = uri.scheme_str()?.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            _ => return None,
        };
        let port = uri.port_u16().unwrap_or(default_port);
        Some((scheme, uri.host()?.to_ascii_lowercase(), port))
    };
    (origin(&target)? == origin(endpoint)?).then_some(target)
}

/// A program speaking JSON lines: one request per line on its stdin, one answer per line on
/// its stdout, in order. Each asking thread runs its own copy; a copy that times out, dies or
/// closes its output is killed and started again for the next request.
pub struct Command {
    argv: Vec<String>,
    dir: PathBuf,
    timeout: Duration,
    running: Vec<Mutex<Option<Running>>>,
}

struct Running {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<Option<String>>,
}

impl Running {
    fn stop(mut self) {
        drop(self.stdin);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Command {
    /// `argv` run in `dir` (the config file's directory), one copy per worker.
    pub fn new(argv: &[String], dir: PathBuf, timeout: Duration, workers: usize) -> Command {
        Command {
            argv: argv.to_vec(),
            dir,
            timeout,
            running: (0..workers).map(|_| Mutex::new(None)).collect(),
        }
    }

    fn start(&self) -> std::io::Result<Running> {
        let mut child = std::process::Command::new(&self.argv[0])
            .args(&self.argv[1..])
            .current_dir(&self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                match line {
                    Ok(line) => {
                        if sender.send(Some(line)).is_err() {
                            return;
                        }
                    }
                    Err(_) => break,
                }
            }
            let _ = sender.send(None);
        });
        Ok(Running {
            child,
            stdin,
            lines,
        })
    }
}

impl Transport for Command {
    fn ask(&self, worker: usize, body: &str) -> Reply {
        let mut slot = self.running[worker]
            .lock()
            .expect("a worker's process lock is not poisoned");
        if slot.is_none() {
            match self.start() {
                Ok(running) => *slot = Some(running),
                Err(_) => return Reply::Connection,
            }
        }
        let running = slot.as_mut().expect("started");
        let written = writeln!(running.stdin, "{body}").and_then(|_| running.stdin.flush());
        let reply = match written {
            Err(_) => Reply::Connection,
            Ok(()) => match running.lines.recv_timeout(self.timeout) {
                Ok(Some(line)) => {
                    return Reply::Answer {
                        status: 200,
                        body: line,
                        retry_after: None,
                    };
                }
                Ok(None) | Err(RecvTimeoutError::Disconnected) => Reply::Connection,
                Err(RecvTimeoutError::Timeout) => Reply::Timeout,
            },
        };
        // Out of step with its requests, or gone: start afresh next time.
        if let Some(running) = slot.take() {
            running.stop();
        }
        reply
    }
}

impl Drop for Command {
    fn drop(&mut self) {
        for slot in &self.running {
            if let Some(running) = slot.lock().ok().and_then(|mut s| s.take()) {
                running.stop();
            }
        }
    }
}

/// The price in an answer: `field` (dots for nesting) holding a positive finite number, or
/// text that reads as one.
pub fn price_in(body: &str, field: &str) -> Option<f64> {
    let answer: Value = serde_json::from_str(body).ok()?;
    let found = field
        .split('.')
        .try_fold(&answer, |value, part| value.get(part))?;
    let price = match found {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    (price.is_finite() && price > 0.0).then_some(price)
}

/// How politely to ask.
#[derive(Debug, Clone)]
pub struct Manners {
    pub concurrency: usize,
    pub max_rps: f64,
    pub retries: u32,
    pub budget: u64,
    pub seed: u64,
    pub max_error_share: f64,
    pub price_field: String,
    /// The first retry waits about this long, each further one twice as long.
    pub backoff: Duration,
}

/// What the asking did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    /// Requests sent in this run, retries included.
    pub made: u64,
    pub retried: u64,
    /// Requests answered with a price in this run.
    pub answered: u64,
    /// Requests given up on after their retries, and answers without a price.
    pub failed: u64,
    pub malformed: u64,
    /// Final outcomes that were not a price, by class.
    pub errors: BTreeMap<String, u64>,
    /// Pairs whose answers were all in the log already.
    pub pairs_from_log: usize,
    pub budget_exhausted: bool,
    pub seconds: f64,
}

/// Every request's price, by key (from the log and from this run), and the tally.
#[derive(Debug)]
pub struct Asked {
    pub prices: HashMap<String, f64>,
    pub tally: Tally,
}

/// Spaces requests `1 / max_rps` apart over every worker.
struct Rate {
    interval: Duration,
    next: Mutex<Instant>,
}

impl Rate {
    fn wait(&self) {
        let at = {
            let mut next = self.next.lock().expect("the rate lock is not poisoned");
            let at = (*next).max(Instant::now());
            *next = at + self.interval;
            at
        };
        let now = Instant::now();
        if at > now {
            std::thread::sleep(at - now);
        }
    }
}

/// The final outcome of one request.
enum Outcome {
    Price {
        price: f64,
        status: u16,
    },
    Failed {
        class: String,
        status: Option<u16>,
    },
    Malformed {
        status: u16,
    },
    /// The budget ran out before it could be asked (again).
    Unasked,
}

/// The final outcomes so far: prices by key, and what failed.
#[derive(Default)]
struct Settled {
    prices: HashMap<String, f64>,
    errors: BTreeMap<String, u64>,
    failed: u64,
    malformed: u64,
}

struct Shared<'a> {
    transport: &'a dyn Transport,
    log: &'a Log,
    manners: &'a Manners,
    comparisons: &'a [String],
    rate: Rate,
    budget: AtomicI64,
    made: AtomicU64,
    retried: AtomicU64,
    finished: AtomicU64,
    failures: AtomicU64,
    stop: AtomicBool,
    budget_exhausted: AtomicBool,
    /// Abandon the run once this many failures make the share unreachable.
    failure_limit: f64,
    outcomes: Mutex<Settled>,
    log_error: Mutex<Option<Error>>,
}

impl Shared<'_> {
    fn reserve(&self, requests: i64) -> bool {
        self.budget
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                (left >= requests).then_some(left - requests)
            })
            .is_ok()
    }

    fn backoff(&self, key: &str, attempt: u32, hint: Option<Duration>) -> Duration {
        let doubled = self
            .manners
            .backoff
            .saturating_mul(1 << (attempt - 1).min(10));
        let capped = doubled.min(Duration::from_secs(5));
        let mut rng = SplitMix::new(
            self.manners.seed ^ u64::from(attempt).rotate_left(32) ^ fnv(key.as_bytes()),
        );
        let jitter = 0.5 + 0.5 * (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        let delay = capped.mul_f64(jitter);
        match hint {
            Some(hint) => delay.max(hint.min(Duration::from_secs(30))),
            None => delay,
        }
    }

    fn ask_one(&self, worker: usize, request: &Request) -> (Outcome, u32) {
        let body = Value::Object(request.body.clone()).to_string();
        let mut last = ("connection error".to_string(), None);
        let mut hint = None;
        for attempt in 0..=self.manners.retries {
            if attempt > 0 {
                if !self.reserve(1) {
                    self.budget_exhausted.store(true, Ordering::SeqCst);
                    return (Outcome::Unasked, attempt);
                }
                self.retried.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(self.backoff(&request.key, attempt, hint));
            }
            self.rate.wait();
            self.made.fetch_add(1, Ordering::SeqCst);
            match self.transport.ask(worker, &body) {
                Reply::Answer { status, body, .. } if (200..300).contains(&status) => {
                    let outcome = match price_in(&body, &self.manners.price_field) {
                        Some(price) => Outcome::Price { price, status },
                        None => Outcome::Malformed { status },
                    };
                    return (outcome, attempt + 1);
                }
                Reply::Answer {
                    status,
                    retry_after,
                    ..
                } if status == 429 || status >= 500 => {
                    last = (format!("HTTP {status}"), Some(status));
                    hint = retry_after;
                }
                // A redirect the transport did not follow: asking again would be sent back.
                Reply::Answer { status, .. } if (300..400).contains(&status) => {
                    return (
                        Outcome::Failed {
                            class: "redirect".into(),
                            status: Some(status),
                        },
                        attempt + 1,
                    );
                }
                Reply::Answer { status, .. } => {
                    return (
                        Outcome::Failed {
                            class: format!("HTTP {status}"),
                            status: Some(status),
                        },
                        attempt + 1,
                    );
                }
                Reply::Timeout => {
                    last = ("timeout".into(), None);
                    hint = None;
                }
                Reply::Connection => {
                    last = ("connection error".into(), None);
                    hint = None;
                }
            }
        }
        (
            Outcome::Failed {
                class: last.0,
                status: last.1,
            },
            self.manners.retries + 1,
        )
    }

    /// Logs and counts a final outcome; whether it was a price.
    fn settle(
        &self,
        pair: &PlannedPair,
        twin: &str,
        request: &Request,
        outcome: &Outcome,
        attempts: u32,
    ) -> bool {
        let (status, price, error) = match outcome {
            Outcome::Price { price, status } => (Some(*status), Some(*price), None),
            Outcome::Failed { class, status } => (*status, None, Some(class.clone())),
            Outcome::Malformed { status } => {
                (Some(*status), None, Some("malformed answer".to_string()))
            }
            Outcome::Unasked => return false,
        };
        let entry = Entry {
            key: request.key.clone(),
            comparison: self.comparisons[pair.test].clone(),
            sku: pair.sku.clone(),
            twin: twin.to_string(),
            sent: Value::Object(request.body.clone()),
            status,
            price,
            error: error.clone(),
            attempts,
        };
        if let Err(e) = self.log.record(&entry) {
            self.stop.store(true, Ordering::SeqCst);
            self.log_error
                .lock()
                .expect("not poisoned")
                .get_or_insert(e);
        }
        self.finished.fetch_add(1, Ordering::SeqCst);
        let mut outcomes = self.outcomes.lock().expect("not poisoned");
        match (price, error) {
            (Some(price), _) => {
                outcomes.prices.insert(request.key.clone(), price);
                true
            }
            (None, Some(class)) => {
                if matches!(outcome, Outcome::Malformed { .. }) {
                    outcomes.malformed += 1;
                } else {
                    outcomes.failed += 1;
                }
                *outcomes.errors.entry(class).or_default() += 1;
                let failures = self.failures.fetch_add(1, Ordering::SeqCst) + 1;
                if failures as f64 > self.failure_limit {
                    self.stop.store(true, Ordering::SeqCst);
                }
                false
            }
            (None, None) => false,
        }
    }
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Asks every pair not answered in the log, `manners.concurrency` at a time. `comparisons`
/// names each pair's comparison (for the log); `progress` hears (requests done, requests to
/// do). An unreliable service (failures above `max_error_share` of the requests) is an error
/// naming the share and the classes; so is a log that cannot be written.
pub fn ask(
    pairs: &[PlannedPair],
    comparisons: &[String],
    transport: &dyn Transport,
    log: &Log,
    from_log: HashMap<String, f64>,
    manners: &Manners,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<Asked> {
    let started = Instant::now();
    let answered = |r: &Request| from_log.contains_key(&r.key);
    let to_ask: Vec<&PlannedPair> = pairs
        .iter()
        .filter(|p| !(answered(&p.treated) && answered(&p.reference)))
        .collect();
    let pairs_from_log = pairs.len() - to_ask.len();
    let requests = 2 * to_ask.len() as u64;
    let shared = Shared {
        transport,
        log,
        manners,
        comparisons,
        rate: Rate {
            interval: Duration::from_secs_f64(1.0 / manners.max_rps),
            next: Mutex::new(Instant::now()),
        },
        budget: AtomicI64::new(manners.budget.min(i64::MAX as u64) as i64),
        made: AtomicU64::new(0),
        retried: AtomicU64::new(0),
        finished: AtomicU64::new(0),
        failures: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        budget_exhausted: AtomicBool::new(false),
        failure_limit: manners.max_error_share * requests as f64,
        outcomes: Mutex::new(Settled::default()),
        log_error: Mutex::new(None),
    };
    let next = AtomicUsize::new(0);
    progress(0, requests);
    std::thread::scope(|scope| {
        for worker in 0..manners.concurrency.min(to_ask.len().max(1)) {
            let (shared, next, to_ask) = (&shared, &next, &to_ask);
            scope.spawn(move || {
                while !shared.stop.load(Ordering::SeqCst) {
                    let Some(pair) = to_ask.get(next.fetch_add(1, Ordering::SeqCst)) else {
                        break;
                    };
                    if !shared.reserve(2) {
                        shared.budget_exhausted.store(true, Ordering::SeqCst);
                        shared.stop.store(true, Ordering::SeqCst);
                        break;
                    }
                    let order = if pair.treated_first {
                        [("treated", &pair.treated), ("reference", &pair.reference)]
                    } else {
                        [("reference", &pair.reference), ("treated", &pair.treated)]
                    };
                    for (i, (twin, request)) in order.into_iter().enumerate() {
                        let (outcome, attempts) = shared.ask_one(worker, request);
                        let priced = shared.settle(pair, twin, request, &outcome, attempts);
                        progress(shared.finished.load(Ordering::SeqCst), requests);
                        if !priced {
                            if matches!(outcome, Outcome::Unasked) {
                                shared.stop.store(true, Ordering::SeqCst);
                            }
                            // The other twin alone is no comparison: its request is returned.
                            if i == 0 {
                                shared.budget.fetch_add(1, Ordering::SeqCst);
                            }
                            break;
                        }
                    }
                }
            });
        }
    });
    if let Some(error) = shared.log_error.lock().expect("not poisoned").take() {
        return Err(error);
    }
    let Settled {
        mut prices,
        errors,
        failed,
        malformed,
    } = shared.outcomes.into_inner().expect("not poisoned");
    let finished = shared.finished.load(Ordering::SeqCst);
    let tally = Tally {
        made: shared.made.load(Ordering::SeqCst),
        retried: shared.retried.load(Ordering::SeqCst),
        answered: finished - failed - malformed,
        failed,
        malformed,
        errors,
        pairs_from_log,
        budget_exhausted: shared.budget_exhausted.load(Ordering::SeqCst),
        seconds: started.elapsed().as_secs_f64(),
    };
    let share = (failed + malformed) as f64 / finished.max(1) as f64;
    if finished > 0 && share > manners.max_error_share {
        let classes: Vec<String> = tally
            .errors
            .iter()
            .rev()
            .map(|(class, n)| format!("{class} ×{n}"))
            .collect();
        return Err(Error::Usage(format!(
            "probe: {:.0}% of requests failed ({}); the service is not answering reliably",
            100.0 * share,
            classes.join(", ")
        )));
    }
    prices.extend(from_log);
    Ok(Asked { prices, tally })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    #[test]
    fn only_redirects_within_the_endpoints_origin_are_targets() {
        let endpoint = "http://127.0.0.1:8080/v1/price";
        let target = |location: &str| same_origin_target(endpoint, endpoint, location);
        assert_eq!(
            target("/v2/price").as_deref(),
            Some("http://127.0.0.1:8080/v2/price")
        );
        assert_eq!(
            target("quote").as_deref(),
            Some("http://127.0.0.1:8080/v1/quote")
        );
        assert_eq!(
            target("http://127.0.0.1:8080/v3").as_deref(),
            Some("http://127.0.0.1:8080/v3")
        );
        for elsewhere in [
            "http://127.0.0.1:8081/v1/price",
            "//127.0.0.2:8080/v1/price",
            "https://127.0.0.1:8080/v1/price",
            "http://evil.example/v1/price",
            "ftp://127.0.0.1:8080/",
        ] {
            assert_eq!(target(elsewhere), None, "{elsewhere}");
        }
        // The default port is the same origin as the port written out.
        assert_eq!(
            same_origin_target(
                "http://shop.test/p",
                "http://shop.test/p",
                "http://SHOP.test:80/q"
            )
            .as_deref(),
            Some("http://SHOP.test:80/q")
        );
    }

    #[test]
    fn a_redirect_not_followed_is_a_failure_of_its_own_class_and_not_retried() {
        let asked = run(vec![status(302)], &pairs(10), 100).unwrap();
        assert_eq!(asked.tally.errors.get("redirect"), Some(&1));
        assert_eq!(asked.tally.retried, 0);
    }

    /// Replies in the order scripted, then a price of 10.
    struct Scripted(Mutex<VecDeque<Reply>>);

    impl Transport for Scripted {
        fn ask(&self, _worker: usize, _body: &str) -> Reply {
            self.0.lock().unwrap().pop_front().unwrap_or(Reply::Answer {
                status: 200,
                body: r#"{"price": 10}"#.into(),
                retry_after: None,
            })
        }
    }

    fn status(status: u16) -> Reply {
        Reply::Answer {
            status,
            body: "{}".into(),
            retry_after: None,
        }
    }

    fn pairs(n: usize) -> Vec<PlannedPair> {
        let request = |key: String| Request {
            key,
            body: serde_json::Map::new(),
        };
        (0..n)
            .map(|i| PlannedPair {
                test: 0,
                sku: "SKU1".into(),
                profile: i,
                treated_first: i % 2 == 0,
                treated: request(format!("t{i}")),
                reference: request(format!("r{i}")),
            })
            .collect()
    }

    fn manners(budget: u64) -> Manners {
        Manners {
            concurrency: 1,
            max_rps: 10_000.0,
            retries: 2,
            budget,
            seed: 1,
            max_error_share: 0.2,
            price_field: "price".into(),
            backoff: Duration::from_millis(1),
        }
    }

    fn run(script: Vec<Reply>, pairs: &[PlannedPair], budget: u64) -> Result<Asked> {
        let dir = tempfile::tempdir().unwrap();
        let (log, from_log) = Log::open(&dir.path().join("log.jsonl")).unwrap();
        let transport = Scripted(Mutex::new(script.into()));
        ask(
            pairs,
            &["tenure".to_string()],
            &transport,
            &log,
            from_log,
            &manners(budget),
            &|_, _| {},
        )
    }

    #[test]
    fn server_errors_429s_and_timeouts_are_retried_other_4xx_and_garbage_are_not() {
        let price = || Reply::Answer {
            status: 200,
            body: r#"{"price": 12}"#.into(),
            retry_after: None,
        };
        let script = vec![
            // the first twin of the first pair: retried twice to a price
            status(500),
            status(429),
            price(),
            // its other twin: a timeout, retried to a price
            Reply::Timeout,
            price(),
            // a 404 is final: the pair lacks a price, and its other twin is not asked
            status(404),
            // and so is an answer without a price
            Reply::Answer {
                status: 200,
                body: "<html>".into(),
                retry_after: None,
            },
        ];
        let asked = run(script, &pairs(10), 1000).unwrap();
        let tally = &asked.tally;
        assert_eq!(tally.retried, 3);
        assert_eq!(tally.failed, 1);
        assert_eq!(tally.malformed, 1);
        assert_eq!(tally.errors["HTTP 404"], 1);
        assert_eq!(tally.errors["malformed answer"], 1);
        // 20 requests: 2 not asked (the twins of the 404 and the malformed one), 3 retries.
        assert_eq!(tally.made, 21);
        assert_eq!(tally.answered, 16);
        assert_eq!(asked.prices.len(), 16);
    }

    #[test]
    fn the_budget_stops_the_probe_between_pairs() {
        let asked = run(Vec::new(), &pairs(10), 7).unwrap();
        assert_eq!(asked.tally.made, 6);
        assert!(asked.tally.budget_exhausted);
    }

    #[test]
    fn too_many_failures_end_the_probe_with_their_classes() {
        let script = (0..30).map(|_| status(503)).collect();
        let error = run(script, &pairs(10), 1000).unwrap_err().to_string();
        assert!(
            error.starts_with("probe: 100% of requests failed (HTTP 503 ×"),
            "{error}"
        );
        assert!(
            error.ends_with("; the service is not answering reliably"),
            "{error}"
        );
    }

    #[test]
    fn prices_are_read_from_the_named_field_and_nothing_else() {
        assert_eq!(price_in(r#"{"price": 12.5}"#, "price"), Some(12.5));
        assert_eq!(
            price_in(r#"{"data": {"price": "99.00"}}"#, "data.price"),
            Some(99.0)
        );
        assert_eq!(price_in(r#"{"price": -1}"#, "price"), None);
        assert_eq!(price_in(r#"{"cost": 3}"#, "price"), None);
        assert_eq!(price_in("<html>busy</html>", "price"), None);
    }
}
