//! The JSON documents Flagger posts to each chat system, field for field
//! (Flagger's `pkg/notifier`: `slack.go`, `discord.go`, `rocket.go`,
//! `teams.go`, `gchat.go`).
//!
//! Field order follows Flagger's Go structs, and [`Payload::to_json`]
//! escapes strings the way Go's `encoding/json` does, so the bytes a chat
//! system receives are the bytes Flagger would send for the same
//! notification.

use std::io;

use serde::{Deserialize, Serialize};
use weir_api::{AlertProviderType, AlertSeverity};
use weir_engine::ports::Notification;

/// Flagger's bot icon on Slack, Discord and Rocket.Chat.
pub const SLACK_ICON_EMOJI: &str = ":rocket:";
/// The only attachment property Flagger lets Slack render as Markdown.
pub const SLACK_MARKDOWN_IN: &str = "text";
/// Slack's named colours: green for every notification but errors.
pub const SLACK_COLOR_OK: &str = "good";
/// Slack's named colour for error notifications (red).
pub const SLACK_COLOR_ERROR: &str = "danger";
/// Rocket.Chat does not know Slack's named colours: Flagger sends hex (blue).
pub const ROCKET_COLOR_OK: &str = "#0076D7";
/// Rocket.Chat's colour for error notifications (red).
pub const ROCKET_COLOR_ERROR: &str = "#FF0000";
/// The MessageCard type and schema Microsoft Teams' incoming webhooks accept.
pub const TEAMS_CARD_TYPE: &str = "MessageCard";
/// The MessageCard `@context` Flagger sends.
pub const TEAMS_CARD_CONTEXT: &str = "http://schema.org/extensions";
/// MessageCard theme colour (blue), without `#` as Teams expects.
pub const TEAMS_COLOR_OK: &str = "0076D7";
/// MessageCard theme colour for error notifications (red).
pub const TEAMS_COLOR_ERROR: &str = "FF0000";
/// The Google Chat card title.
pub const GOOGLE_CHAT_TITLE: &str = "Flagger";
/// The Google Chat card icon.
pub const GOOGLE_CHAT_IMAGE_URL: &str = "https://flagger.app/favicon.png";

/// A notification rendered for one chat system.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Payload {
    /// Slack, Discord (through its Slack-compatible endpoint) and Rocket.Chat.
    Slack(SlackPayload),
    /// Microsoft Teams.
    Teams(TeamsPayload),
    /// Google Chat.
    GoogleChat(GoogleChatPayload),
}

impl Payload {
    /// `notification` as `kind` renders it. `username` and `channel` are
    /// only used by the Slack-shaped payloads.
    pub fn render(
        kind: AlertProviderType,
        username: &str,
        channel: &str,
        notification: &Notification,
    ) -> Payload {
        match kind {
            AlertProviderType::Slack | AlertProviderType::Discord => Payload::Slack(
                SlackPayload::render(username, channel, notification, SlackColors::SLACK),
            ),
            AlertProviderType::Rocket => Payload::Slack(SlackPayload::render(
                username,
                channel,
                notification,
                SlackColors::ROCKET,
            )),
            AlertProviderType::Msteams => Payload::Teams(TeamsPayload::render(notification)),
            AlertProviderType::Gchat => {
                Payload::GoogleChat(GoogleChatPayload::render(notification))
            }
        }
    }

    /// The compact JSON Go's `json.Marshal` produces for the same document.
    pub fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        let mut body = Vec::new();
        let mut serializer = serde_json::Serializer::with_formatter(&mut body, GoFormatter);
        self.serialize(&mut serializer)?;
        Ok(body)
    }
}

/// `<canary>.<namespace>`: how Flagger names the canary in every payload.
fn subject(notification: &Notification) -> String {
    format!("{}.{}", notification.canary_name, notification.namespace)
}

/// Flagger compares the severity string with `"error"`: warn and info
/// notifications share the same colour.
fn is_error(severity: AlertSeverity) -> bool {
    severity == AlertSeverity::Error
}

/// The colours a Slack-shaped payload uses.
#[derive(Clone, Copy, Debug)]
struct SlackColors {
    ok: &'static str,
    error: &'static str,
}

impl SlackColors {
    const SLACK: SlackColors = SlackColors {
        ok: SLACK_COLOR_OK,
        error: SLACK_COLOR_ERROR,
    };
    const ROCKET: SlackColors = SlackColors {
        ok: ROCKET_COLOR_OK,
        error: ROCKET_COLOR_ERROR,
    };
}

/// Flagger's `SlackPayload`: a message with one attachment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlackPayload {
    /// The provider's channel (default `general`).
    pub channel: String,
    /// The provider's username (default `flagger`).
    pub username: String,
    /// Always empty: Flagger sets `icon_emoji` instead, but sends the key.
    pub icon_url: String,
    /// Always `:rocket:`.
    pub icon_emoji: String,
    /// Never set by Flagger (`omitempty`): the message is in the attachment.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
    /// Exactly one.
    pub attachments: Vec<SlackAttachment>,
}

/// Flagger's `SlackAttachment`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlackAttachment {
    /// `good`/`danger` (Slack, Discord) or `#0076D7`/`#FF0000` (Rocket.Chat).
    pub color: String,
    /// `<canary>.<namespace>`.
    pub author_name: String,
    /// The message.
    pub text: String,
    /// Always `["text"]`.
    pub mrkdwn_in: Vec<String>,
    /// The notification's fields, in order (`[]` when there are none).
    pub fields: Vec<SlackField>,
}

/// Flagger's `SlackField`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlackField {
    /// The field's name (`Target`, `Cluster`, ...).
    pub title: String,
    /// The field's value.
    pub value: String,
    /// Always `false`: each field takes a full line.
    pub short: bool,
}

impl SlackPayload {
    fn render(
        username: &str,
        channel: &str,
        notification: &Notification,
        colors: SlackColors,
    ) -> SlackPayload {
        let color = if is_error(notification.severity) {
            colors.error
        } else {
            colors.ok
        };
        SlackPayload {
            channel: channel.to_owned(),
            username: username.to_owned(),
            icon_url: String::new(),
            icon_emoji: SLACK_ICON_EMOJI.to_owned(),
            text: String::new(),
            attachments: vec![SlackAttachment {
                color: color.to_owned(),
                author_name: subject(notification),
                text: notification.message.clone(),
                mrkdwn_in: vec![SLACK_MARKDOWN_IN.to_owned()],
                fields: notification
                    .fields
                    .iter()
                    .map(|(title, value)| SlackField {
                        title: title.clone(),
                        value: value.clone(),
                        short: false,
                    })
                    .collect(),
            }],
        }
    }
}

/// Flagger's `MSTeamsPayload`: a legacy Office 365 connector MessageCard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamsPayload {
    /// `@type`: always `MessageCard`.
    #[serde(rename = "@type")]
    pub card_type: String,
    /// `@context`: always `http://schema.org/extensions`.
    #[serde(rename = "@context")]
    pub context: String,
    /// `0076D7`, or `FF0000` for errors.
    #[serde(rename = "themeColor")]
    pub theme_color: String,
    /// `<canary>.<namespace>`.
    pub summary: String,
    /// Exactly one.
    pub sections: Vec<TeamsSection>,
}

/// Flagger's `MSTeamsSection`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamsSection {
    /// The message.
    #[serde(rename = "activityTitle")]
    pub activity_title: String,
    /// `<canary>.<namespace>`.
    #[serde(rename = "activitySubtitle")]
    pub activity_subtitle: String,
    /// The notification's fields, in order (`[]` when there are none).
    pub facts: Vec<TeamsFact>,
}

/// Flagger's `MSTeamsField`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamsFact {
    /// The field's name.
    pub name: String,
    /// The field's value.
    pub value: String,
}

impl TeamsPayload {
    fn render(notification: &Notification) -> TeamsPayload {
        let theme_color = if is_error(notification.severity) {
            TEAMS_COLOR_ERROR
        } else {
            TEAMS_COLOR_OK
        };
        TeamsPayload {
            card_type: TEAMS_CARD_TYPE.to_owned(),
            context: TEAMS_CARD_CONTEXT.to_owned(),
            theme_color: theme_color.to_owned(),
            summary: subject(notification),
            sections: vec![TeamsSection {
                activity_title: notification.message.clone(),
                activity_subtitle: subject(notification),
                facts: notification
                    .fields
                    .iter()
                    .map(|(name, value)| TeamsFact {
                        name: name.clone(),
                        value: value.clone(),
                    })
                    .collect(),
            }],
        }
    }
}

/// Flagger's `GChatPayload`: one card, one section for the message and one
/// per field. Google Chat has no colours: severity does not show.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoogleChatPayload {
    /// Exactly one.
    pub cards: Vec<GoogleChatCard>,
}

/// Flagger's `GChatCards`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoogleChatCard {
    /// Title, canary and icon.
    pub header: GoogleChatHeader,
    /// The message, then one section per field.
    pub sections: Vec<GoogleChatSection>,
}

/// Flagger's `GChatHeader`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoogleChatHeader {
    /// Always `Flagger`.
    pub title: String,
    /// `<canary>.<namespace>`.
    pub subtitle: String,
    /// Always Flagger's favicon.
    #[serde(rename = "imageUrl")]
    pub image_url: String,
}

/// Flagger's `GChatSections`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoogleChatSection {
    /// Exactly one.
    pub widgets: Vec<GoogleChatWidget>,
}

/// Flagger's `GChatWidgets`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoogleChatWidget {
    /// The text.
    #[serde(rename = "textParagraph")]
    pub text_paragraph: GoogleChatText,
}

/// Flagger's `GChatText`: Google Chat's small HTML subset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoogleChatText {
    /// `<font color=#848484><strong>message</strong></font>`, or
    /// `name<br><font color=#848484><strong>value</strong></font>` for a field.
    pub text: String,
}

/// Grey bold text, as Flagger formats the message and field values.
/// Flagger does not escape HTML in them, and neither does weir: the same
/// text renders the same way.
fn grey_bold(text: &str) -> String {
    format!("<font color=#848484><strong>{text}</strong></font>")
}

impl GoogleChatPayload {
    fn render(notification: &Notification) -> GoogleChatPayload {
        let paragraph = |text: String| GoogleChatSection {
            widgets: vec![GoogleChatWidget {
                text_paragraph: GoogleChatText { text },
            }],
        };
        let mut sections = Vec::with_capacity(notification.fields.len() + 1);
        sections.push(paragraph(grey_bold(&notification.message)));
        sections.extend(
            notification
                .fields
                .iter()
                .map(|(name, value)| paragraph(format!("{name}<br>{}", grey_bold(value)))),
        );
        GoogleChatPayload {
            cards: vec![GoogleChatCard {
                header: GoogleChatHeader {
                    title: GOOGLE_CHAT_TITLE.to_owned(),
                    subtitle: subject(notification),
                    image_url: GOOGLE_CHAT_IMAGE_URL.to_owned(),
                },
                sections,
            }],
        }
    }
}

/// serde_json's compact output with Go's string escaping on top.
///
/// Go's `encoding/json` escapes `<`, `>` and `&` (so JSON can be embedded in
/// HTML) and U+2028/U+2029 (JavaScript line terminators); serde_json does
/// not. Everything else already matches: control characters as `\n`, `\r`,
/// `\t`, `\b`, `\f` (Go ≥ 1.22) or `\u00xx` in lowercase hex, no escaping of
/// `/` or non-ASCII text. The Google Chat payload is full of `<font>` tags,
/// so without this the bytes would differ from Flagger's on every alert.
#[derive(Clone, Copy, Debug)]
struct GoFormatter;

impl serde_json::ser::Formatter for GoFormatter {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (index, character) in fragment.char_indices() {
            let escaped = match character {
                '<' => "\\u003c",
                '>' => "\\u003e",
                '&' => "\\u0026",
                '\u{2028}' => "\\u2028",
                '\u{2029}' => "\\u2029",
                _ => continue,
            };
            writer.write_all(&fragment.as_bytes()[start..index])?;
            writer.write_all(escaped.as_bytes())?;
            start = index + character.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notification(message: &str, fields: &[(&str, &str)]) -> Notification {
        Notification {
            canary_name: "podinfo".to_owned(),
            namespace: "test".to_owned(),
            message: message.to_owned(),
            fields: fields
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect(),
            severity: AlertSeverity::Warn,
        }
    }

    #[test]
    fn html_characters_are_escaped_as_go_escapes_them() {
        let payload = Payload::render(
            AlertProviderType::Gchat,
            "flagger",
            "general",
            &notification("a < b && c > d\u{2028}", &[]),
        );
        let body = String::from_utf8(payload.to_json().expect("encodes")).expect("UTF-8");
        assert!(
            body.contains(
                r#""text":"\u003cfont color=#848484\u003e\u003cstrong\u003ea \u003c b \u0026\u0026 c \u003e d\u2028\u003c/strong\u003e\u003c/font\u003e""#
            ),
            "{body}"
        );
    }

    #[test]
    fn control_characters_and_unicode_are_encoded_as_go_encodes_them() {
        let payload = Payload::render(
            AlertProviderType::Msteams,
            "flagger",
            "general",
            &notification("line\nbreak\ttab \u{1} é / \"quoted\" \\", &[]),
        );
        let body = String::from_utf8(payload.to_json().expect("encodes")).expect("UTF-8");
        assert!(
            body.contains(r#""activityTitle":"line\nbreak\ttab \u0001 é / \"quoted\" \\""#),
            "{body}"
        );
    }

    #[test]
    fn the_encoding_is_compact_and_keeps_go_field_order() {
        let payload = Payload::render(
            AlertProviderType::Slack,
            "flagger",
            "general",
            &notification("hello", &[("Target", "Deployment/podinfo.test")]),
        );
        let body = String::from_utf8(payload.to_json().expect("encodes")).expect("UTF-8");
        assert_eq!(
            body,
            r#"{"channel":"general","username":"flagger","icon_url":"","icon_emoji":":rocket:","attachments":[{"color":"good","author_name":"podinfo.test","text":"hello","mrkdwn_in":["text"],"fields":[{"title":"Target","value":"Deployment/podinfo.test","short":false}]}]}"#
        );
    }

    #[test]
    fn warnings_use_the_same_colour_as_info_as_in_flagger() {
        let warning = notification("waiting", &[]);
        let Payload::Slack(slack) = Payload::render(AlertProviderType::Rocket, "u", "c", &warning)
        else {
            panic!("rocket renders a Slack payload");
        };
        assert_eq!(slack.attachments[0].color, ROCKET_COLOR_OK);
    }
}
