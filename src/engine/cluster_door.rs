//! Who may use a cluster: the processes that hold its token (the scheduler, the executors and
//! the audits, each from its own `[cluster] token` in fairmark.toml), and nobody else.
//!
//! Every gRPC and Arrow Flight request between them carries a credential derived from the
//! token, and every server (the scheduler's gRPC service, each executor's Flight service)
//! refuses a request without it before the request reaches Ballista. The credential travels
//! in the `user-agent` header because that is the one header Ballista 55 lets every client
//! set: its clients (the audit's to the scheduler and to the executors' Flight services, an
//! executor's to the scheduler and to other executors) are built inside Ballista and accept
//! only an override of tonic's `Endpoint`, which can set the user agent and nothing else a
//! request carries. Executors take their tasks by polling the scheduler (Ballista's pull
//! mode), so they run no gRPC service of their own: push mode's executor service is built
//! inside Ballista with no place for the check.
//!
//! The channels are not encrypted (see the security model in docs/operations.md): whoever can
//! read the network can read the credential, as they can read the rows.

use std::path::Path;
use std::sync::Arc;

use ballista_core::extension::EndpointOverrideFn;
use sha2::{Digest, Sha256};
use tonic::service::Interceptor;
use tonic::transport::Endpoint;
use tonic::{Request, Status};

use crate::config::Config;
use crate::error::{CLUSTER_TOKEN_REFUSED, Error, Result};

/// What begins the credential in the `user-agent` header.
const CREDENTIAL_PREFIX: &str = "fairmark-cluster/";
/// A token shorter than this is not a random secret.
const MIN_TOKEN_BYTES: usize = 32;

/// The cluster's shared token, as its credential: SHA-256 of the token under a fixed label,
/// so the token file's own bytes never travel.
#[derive(Clone)]
pub struct ClusterToken {
    credential: String,
}

impl std::fmt::Debug for ClusterToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClusterToken(..)")
    }
}

impl ClusterToken {
    /// The token `config`'s `[cluster]` names, `None` without a `[cluster]` table. Errors name
    /// the setting, never its value: a token (or a key) pasted where its source belongs would
    /// otherwise be printed.
    pub fn load(config: &Config) -> Result<Option<ClusterToken>> {
        let Some(cluster) = &config.cluster else {
            return Ok(None);
        };
        let refused = |message: String| Error::config(&config.file, format!("[cluster] {message}"));
        let material = match (&cluster.token.env, &cluster.token.file) {
            (Some(var), None) => std::env::var_os(var)
                .ok_or_else(|| {
                    refused("token: the environment variable `token.env` names is not set".into())
                })?
                .into_encoded_bytes(),
            (None, Some(file)) => read_token_file(&config.base_dir.join(file)).map_err(refused)?,
            _ => {
                return Err(refused(
                    "token: write exactly one of `token = { env = \"VAR\" }` or `token = { file = \"path\" }`".into(),
                ));
            }
        };
        ClusterToken::from_material(&material)
            .map(Some)
            .map_err(refused)
    }

    fn from_material(material: &[u8]) -> std::result::Result<ClusterToken, String> {
        let material = material.trim_ascii();
        if material.len() < MIN_TOKEN_BYTES {
            return Err(format!(
                "token: shorter than {MIN_TOKEN_BYTES} bytes, which is not a random secret; generate one with `openssl rand -hex 32`"
            ));
        }
        let digest = Sha256::new()
            .chain_update(b"fairmark cluster token\0")
            .chain_update(material)
            .finalize();
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        Ok(ClusterToken {
            credential: format!("{CREDENTIAL_PREFIX}{hex}"),
        })
    }

    /// What every client of the cluster in this process does to its channels: present the
    /// credential.
    pub fn endpoint_override(&self) -> EndpointOverrideFn {
        let credential = self.credential.clone();
        Arc::new(move |endpoint: Endpoint| {
            let endpoint: std::result::Result<Endpoint, Box<dyn std::error::Error + Send + Sync>> =
                Ok(endpoint.user_agent(credential.as_str())?);
            endpoint
        })
    }

    /// Whether `user_agent` (the header as a request brought it) presents this credential.
    fn presented_in(&self, user_agent: &str) -> bool {
        user_agent
            .split(' ')
            .any(|part| constant_time_eq(part.as_bytes(), self.credential.as_bytes()))
    }
}

fn read_token_file(path: &Path) -> std::result::Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| {
        format!(
            "token: the file `token.file` names cannot be read ({})",
            e.kind()
        )
    })
}

/// Compares without stopping at the first difference, so the time a refusal takes does not
/// say how much of a guess was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

/// The check a cluster's server makes of every request: with a token, only requests that
/// present it pass; without one (a cluster on loopback, see the CLI), every request does.
#[derive(Clone, Debug)]
pub struct Door {
    token: Option<ClusterToken>,
}

impl Door {
    pub fn new(token: Option<ClusterToken>) -> Door {
        Door { token }
    }
}

impl Interceptor for Door {
    fn call(&mut self, request: Request<()>) -> std::result::Result<Request<()>, Status> {
        let Some(token) = &self.token else {
            return Ok(request);
        };
        let presented = request
            .metadata()
            .get("user-agent")
            .and_then(|value| value.to_str().ok())
            .is_some_and(|user_agent| token.presented_in(user_agent));
        if presented {
            Ok(request)
        } else {
            Err(Status::unauthenticated(CLUSTER_TOKEN_REFUSED))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(material: &str) -> ClusterToken {
        ClusterToken::from_material(material.as_bytes()).unwrap()
    }

    fn request(user_agent: Option<&str>) -> Request<()> {
        let mut request = Request::new(());
        if let Some(value) = user_agent {
            request
                .metadata_mut()
                .insert("user-agent", value.parse().unwrap());
        }
        request
    }

    #[test]
    fn a_door_admits_the_credential_of_its_token_and_nothing_else() {
        let ours = token(&"ab".repeat(32));
        let theirs = token(&"cd".repeat(32));
        let mut door = Door::new(Some(ours.clone()));
        // tonic puts its own name after the one a client sets.
        let sent = format!("{} tonic/0.14.9", ours.credential);
        assert!(door.call(request(Some(&sent))).is_ok());
        for refused in [
            None,
            Some("tonic/0.14.9".to_string()),
            Some(format!("{} tonic/0.14.9", theirs.credential)),
            Some(format!("{}0", ours.credential)),
            Some(
                ours.credential
                    .trim_start_matches(CREDENTIAL_PREFIX)
                    .to_string(),
            ),
        ] {
            let status = door.call(request(refused.as_deref())).unwrap_err();
            assert_eq!(status.code(), tonic::Code::Unauthenticated);
            assert_eq!(status.message(), CLUSTER_TOKEN_REFUSED);
        }
        let mut open = Door::new(None);
        assert!(open.call(request(None)).is_ok());
    }

    #[test]
    fn the_credential_is_not_the_token_and_a_short_token_is_refused() {
        let material = "ab".repeat(32);
        assert!(!token(&material).credential.contains(&material));
        assert_eq!(
            token(&format!("{material}\n")).credential,
            token(&material).credential
        );
        let short = ClusterToken::from_material(b"hunter2").unwrap_err();
        assert!(short.contains("openssl rand -hex 32"), "{short}");
        assert!(!short.contains("hunter2"));
    }
}
