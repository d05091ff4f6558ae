//! A small mail log for the mail checks' unit tests: sends and consent events written as CSV
//! files with every column mapped, opened by the real engine under the built-in `cn` pack, and
//! one check run through the registry as the audit runs it (its shared tables built first, its
//! settings and severity from the pack).

use std::sync::Arc;

use crate::checks::{self, Check, CheckStatus, Context};
use crate::config::Config;
use crate::engine::Engine;
use crate::findings::Severity;
use crate::policy::EffectivePolicy;
use crate::pseudonym::Key;

/// One marketing message sent: a row of the sends file.
#[derive(Debug, Clone)]
pub struct Message {
    pub recipient: String,
    pub channel: &'static str,
    pub campaign: &'static str,
    /// UTC, as `2026-03-02T10:00:00`.
    pub sent_at: &'static str,
    pub has_unsubscribe: bool,
    pub one_click_unsubscribe: bool,
    /// Empty for none (an empty CSV cell reads as NULL).
    pub sender_id: &'static str,
}

impl Message {
    /// An e-mail of `campaign` to the `n`th recipient that offers a one-click unsubscribe and
    /// names its sender_id: only its consent is left for a check to judge.
    pub fn email(n: usize, campaign: &'static str, sent_at: &'static str) -> Message {
        Message {
            recipient: format!("r{n}@example.com"),
            channel: "email",
            campaign,
            sent_at,
            has_unsubscribe: true,
            one_click_unsubscribe: true,
            sender_id: "Example Shop Ltd",
        }
    }

    /// [`Message::email`] as a text message to the `n`th phone number.
    pub fn sms(n: usize, campaign: &'static str, sent_at: &'static str) -> Message {
        Message {
            recipient: format!("138{n:08}"),
            channel: "sms",
            ..Message::email(n, campaign, sent_at)
        }
    }
}

/// One consent event: a row of the consents file.
#[derive(Debug, Clone)]
pub struct Consent {
    recipient: String,
    channel: &'static str,
    action: &'static str,
    at: &'static str,
}

impl Consent {
    /// The recipient of `send` opting in on its channel at `at`.
    pub fn opt_in(send: &Message, at: &'static str) -> Consent {
        Consent {
            recipient: send.recipient.clone(),
            channel: send.channel,
            action: "opt_in",
            at,
        }
    }

    /// The recipient of `send` opting out on its channel at `at`.
    pub fn opt_out(send: &Message, at: &'static str) -> Consent {
        Consent {
            action: "opt_out",
            ..Consent::opt_in(send, at)
        }
    }
}

/// The columns of the sends file, in [`Message`]'s order, each named for the config key that
/// maps it.
const SEND_COLUMNS: [&str; 7] = [
    "recipient",
    "channel",
    "campaign",
    "sent_at",
    "has_unsubscribe",
    "one_click_unsubscribe",
    "sender_id",
];
/// The columns of the consents file, in [`Consent`]'s order, named likewise.
const CONSENT_COLUMNS: [&str; 4] = ["recipient", "channel", "action", "at"];

/// The config: the cn pack, a key file, and the two CSV files with every column mapped.
fn config() -> String {
    let mapped = |columns: &[&str]| -> String {
        columns.iter().map(|c| format!("{c} = \"{c}\"\n")).collect()
    };
    format!(
        "policies = [\"cn\"]\nkey = {{ file = \"test.key\" }}\n\n\
         [datasets.mail_sends]\npath = \"sends.csv\"\n{}\n\
         [datasets.consents]\npath = \"consents.csv\"\n{}\
         actions = {{ opt_in = [\"opt_in\"], opt_out = [\"opt_out\"] }}\n",
        mapped(&SEND_COLUMNS),
        mapped(&CONSENT_COLUMNS)
    )
}

/// What the tests read of a finding: how severe, which campaign on which channel, and what it
/// says (evidence is for the renderers, and changes shape without changing the judgement).
#[derive(Debug, PartialEq)]
pub struct Flagged {
    pub severity: Severity,
    pub campaign: String,
    pub channel: String,
    pub message: String,
}

impl Flagged {
    pub fn new(severity: Severity, campaign: &str, channel: &str, message: &str) -> Flagged {
        Flagged {
            severity,
            campaign: campaign.into(),
            channel: channel.into(),
            message: message.into(),
        }
    }
}

/// The findings of `check` on `sends` and `consents` (at least one event: an empty dataset is
/// refused), in report order. Panics unless the check ran (a near miss must be judged, not
/// skipped) and unless each finding is the check's own about the sends.
pub async fn flagged(check: &dyn Check, sends: &[Message], consents: &[Consent]) -> Vec<Flagged> {
    let dir = tempfile::tempdir().unwrap();
    let mut sends_csv = SEND_COLUMNS.join(",") + "\n";
    for s in sends {
        sends_csv.push_str(&format!(
            "{},{},{},{},{},{},{}\n",
            s.recipient,
            s.channel,
            s.campaign,
            s.sent_at,
            s.has_unsubscribe,
            s.one_click_unsubscribe,
            s.sender_id
        ));
    }
    let mut consents_csv = CONSENT_COLUMNS.join(",") + "\n";
    for c in consents {
        consents_csv.push_str(&format!(
            "{},{},{},{}\n",
            c.recipient, c.channel, c.action, c.at
        ));
    }
    for (name, text) in [
        ("sends.csv", sends_csv.as_str()),
        ("consents.csv", consents_csv.as_str()),
        ("test.key", &"7e".repeat(32)),
        ("fairmark.toml", &config()),
    ] {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let config = Config::load(&dir.path().join("fairmark.toml")).unwrap();
    let policy = EffectivePolicy::for_config(&config, &checks::Registry).unwrap();
    let key = Arc::new(Key::load(&config.key, &config.base_dir).unwrap());
    let engine = Engine::open(&config, crate::functions::all(key))
        .await
        .unwrap();
    let cx = Context::new(&config, &policy, None, Some(&engine), &|_| {});
    let id = check.info().id;
    let checks::Ran { findings, runs, .. } = checks::run(&cx, |c| c.info().id == id).await.unwrap();
    let status = &runs.iter().find(|r| r.id == id).unwrap().status;
    assert!(
        matches!(status, CheckStatus::Ran { .. }),
        "{id} did not run: {status:?}"
    );
    findings
        .into_iter()
        .map(|f| {
            assert_eq!(
                (f.check.as_str(), f.subject.dataset.as_deref()),
                (id, Some("mail_sends"))
            );
            Flagged {
                severity: f.severity,
                campaign: f.subject.campaign.unwrap_or_default(),
                channel: f.subject.channel.unwrap_or_default(),
                message: f.message,
            }
        })
        .collect()
}
