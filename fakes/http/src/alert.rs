//! [`AlertSink`]: a chat webhook that records what the notifiers post and
//! reads the human message out of each payload shape (§10 of the Flagger
//! reference).

use std::time::Duration;

use serde_json::Value;

use crate::server::FakeError;
use crate::webhook::{RecordedCall, WaitError, WebhookReceiver};

/// The payload shapes the notifiers post.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlertFormat {
    /// Slack's attachments, which Discord (at `<url>/slack`) and
    /// Rocket.Chat receive too: the message is `attachments[0].text`.
    Slack,
    /// A Microsoft Teams MessageCard: the message is
    /// `sections[0].activityTitle`.
    MicrosoftTeams,
    /// A Google Chat card: the message is the first `textParagraph`.
    GoogleChat,
    /// A bare `{"text": …}` message.
    PlainText,
    /// Not JSON, or JSON of no known shape.
    Unrecognized,
}

/// One post, with the human-readable parts pulled out.
#[derive(Clone, Debug)]
pub struct AlertMessage {
    /// Which shape the payload has.
    pub format: AlertFormat,
    /// The message (HTML tags stripped for Google Chat), e.g.
    /// `Failed checks threshold reached 5`.
    pub text: Option<String>,
    /// The canary, `<name>.<namespace>` (Slack `author_name`, Teams
    /// `activitySubtitle`, Google Chat header subtitle).
    pub subject: Option<String>,
    /// The metadata fields, `(name, value)` in order (Slack `fields`,
    /// Teams `facts`, Google Chat's later sections).
    pub fields: Vec<(String, String)>,
    /// The colour: Slack `color` (`good`, `danger`, `#FF0000`) or Teams
    /// `themeColor` (`0076D7`, `FF0000`).
    pub color: Option<String>,
    /// The request itself (path, headers such as `Authorization`, body).
    pub call: RecordedCall,
}

impl AlertMessage {
    /// Reads `call`'s payload.
    pub fn from_call(call: RecordedCall) -> AlertMessage {
        let mut message = AlertMessage {
            format: AlertFormat::Unrecognized,
            text: None,
            subject: None,
            fields: Vec::new(),
            color: None,
            call,
        };
        if let Some(payload) = message.call.json.clone() {
            message.read(&payload);
        }
        message
    }

    fn read(&mut self, payload: &Value) {
        if let Some(attachment) = payload.pointer("/attachments/0") {
            self.format = AlertFormat::Slack;
            self.text = text_at(attachment, "/text");
            self.subject = text_at(attachment, "/author_name");
            self.color = text_at(attachment, "/color");
            self.fields = pairs(attachment.get("fields"), "title", "value");
        } else if let Some(section) = payload.pointer("/sections/0") {
            self.format = AlertFormat::MicrosoftTeams;
            self.text = text_at(section, "/activityTitle");
            self.subject =
                text_at(section, "/activitySubtitle").or_else(|| text_at(payload, "/summary"));
            self.color = text_at(payload, "/themeColor");
            self.fields = pairs(section.get("facts"), "name", "value");
        } else if let Some(card) = payload.pointer("/cards/0") {
            self.format = AlertFormat::GoogleChat;
            self.subject = text_at(card, "/header/subtitle");
            let paragraphs: Vec<String> = card
                .get("sections")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|section| text_at(section, "/widgets/0/textParagraph/text"))
                .collect();
            if let Some((first, rest)) = paragraphs.split_first() {
                self.text = Some(strip_tags(first));
                // Each field reads `NAME<br><font …><strong>VALUE</strong></font>`.
                self.fields = rest
                    .iter()
                    .map(|paragraph| match paragraph.split_once("<br>") {
                        Some((name, value)) => (strip_tags(name), strip_tags(value)),
                        None => (strip_tags(paragraph), String::new()),
                    })
                    .collect();
            }
        } else if let Some(text) = text_at(payload, "/text") {
            self.format = AlertFormat::PlainText;
            self.text = Some(text);
        }
    }

    /// The value of the field `name`, if the payload has it.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, value)| value.as_str())
    }
}

fn text_at(value: &Value, pointer: &str) -> Option<String> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn pairs(list: Option<&Value>, name_key: &str, value_key: &str) -> Vec<(String, String)> {
    list.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|entry| {
            let read = |key: &str| {
                entry
                    .get(key)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            (read(name_key), read(value_key))
        })
        .collect()
}

/// The text of an HTML fragment: tags dropped (Google Chat's `<font>`,
/// `<strong>`); `<br>` separates fields before this is called.
fn strip_tags(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    let mut characters = html.chars().peekable();
    while let Some(character) = characters.next() {
        if in_tag {
            in_tag = character != '>';
            continue;
        }
        // `<` opens a tag only before a tag name or `/`: "a < b" stays text.
        let opens_tag = character == '<'
            && characters
                .peek()
                .is_some_and(|next| next.is_ascii_alphabetic() || *next == '/');
        if opens_tag {
            in_tag = true;
        } else {
            text.push(character);
        }
    }
    text
}

/// A chat webhook for Slack, Microsoft Teams, Discord, Rocket.Chat and
/// Google Chat notifiers: records every post (any path, so one sink can
/// stand for several providers) and reads the message out of each.
/// Answers 200 `OK` unless scripted through [`AlertSink::receiver`].
#[derive(Debug)]
pub struct AlertSink {
    receiver: WebhookReceiver,
}

impl AlertSink {
    /// Starts a sink. Must run inside a Tokio runtime, which then runs it.
    pub async fn start() -> Result<AlertSink, FakeError> {
        Ok(AlertSink {
            receiver: WebhookReceiver::start_named("alert sink").await?,
        })
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn url(&self) -> &str {
        self.receiver.url()
    }

    /// The URL of `path` on this sink, e.g. `/services/T000/B000/XXX`.
    pub fn url_for(&self, path: &str) -> String {
        self.receiver.url_for(path)
    }

    /// The underlying receiver, to script failures and delays or read raw calls.
    pub fn receiver(&self) -> &WebhookReceiver {
        &self.receiver
    }

    /// Every post so far, read, oldest first.
    pub fn messages(&self) -> Vec<AlertMessage> {
        self.receiver
            .calls()
            .into_iter()
            .map(AlertMessage::from_call)
            .collect()
    }

    /// Just the message texts, oldest first (posts without one are skipped).
    pub fn texts(&self) -> Vec<String> {
        self.messages()
            .into_iter()
            .filter_map(|message| message.text)
            .collect()
    }

    /// Waits until at least `count` posts have arrived and returns them all,
    /// read; gives up after `timeout`.
    pub async fn wait_for_messages(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<AlertMessage>, WaitError> {
        let calls = self.receiver.wait_for_calls(count, timeout).await?;
        Ok(calls.into_iter().map(AlertMessage::from_call).collect())
    }

    /// Stops serving and waits until the port is closed.
    pub async fn shutdown(self) {
        self.receiver.shutdown().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_stripped_from_google_chat_paragraphs() {
        assert_eq!(
            strip_tags("<font color=#848484><strong>Canary failed!</strong></font>"),
            "Canary failed!"
        );
        assert_eq!(strip_tags("latency < 500ms<br>"), "latency < 500ms");
    }
}
