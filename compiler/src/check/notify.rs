//! `notify { ... }` in a budget or a monitor: where its notifications go (E0015). A secret never sits in
//! the file: `token` is only ever `env("NAME")`, which the head reads from its environment
//! when it delivers; `webhook` may be either, since some services put the secret in the URL.

use super::Checker;
use crate::ast::{Attribute, Block, ExprKind};
use crate::diag::{Code, Diagnostic};
use crate::ir::{FromEnv, Notify};
use crate::schema::NOTIFY;
use crate::source::Span;

impl Checker<'_> {
    pub(super) fn notify(&mut self, block: &Block) -> Option<Notify> {
        self.expect_label(block, false);
        let f = self.fields(block, &NOTIFY);
        let webhook = f.attr("webhook").and_then(|a| self.string_or_env(a));
        if let Some((FromEnv::Literal(url), span)) = &webhook {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                self.target(
                    *span,
                    format!("`{url}` is not an http(s) URL"),
                    "not http(s)",
                    "write the receiver's URL, such as `https://hooks.example.com/gaform`",
                );
            }
        }
        let token = f.attr("token").and_then(|a| self.string_or_env(a));
        let token_env = match token {
            Some((FromEnv::Env(name), _)) => Some(name),
            Some((FromEnv::Literal(_), span)) => {
                self.target(
                    span,
                    "a token is a secret: it must not be written in the file",
                    "a secret in the file",
                    "write `token = env(\"GAFORM_WEBHOOK_TOKEN\")` and set that variable where `gaform apply` runs",
                );
                None
            }
            None => None,
        };
        if let (Some(attr), None) = (f.attr("token"), f.attr("webhook")) {
            self.target(
                attr.span,
                "a token without a webhook goes nowhere",
                "no webhook",
                "add `webhook = ...` beside it",
            );
        }
        let sns = self.string(f.attr("sns"));
        if let Some(arn) = &sns {
            let parts: Vec<&str> = arn.value.split(':').collect();
            let sns_arn = parts.get(..3) == Some(&["arn", "aws", "sns"][..]);
            if !(parts.len() == 6 && sns_arn && parts.iter().all(|p| !p.is_empty())) {
                self.target(
                    arn.span,
                    format!("`{}` is not an SNS topic ARN", arn.value),
                    "not an SNS topic",
                    "write `arn:aws:sns:REGION:ACCOUNT:TOPIC`",
                );
            }
        }
        if webhook.is_none() && sns.is_none() && f.attr("webhook").is_none() && f.attr("sns").is_none() {
            self.target(
                block.header,
                "`notify` names no target",
                "no target",
                "add `webhook = \"https://...\"` or `sns = \"arn:aws:sns:...\"`",
            );
            return None;
        }
        Some(Notify { webhook: webhook.map(|(w, _)| w), token_env, sns: sns.map(|s| s.value) })
    }

    /// A string, or `env("NAME")` with a valid variable name.
    fn string_or_env(&mut self, attr: &Attribute) -> Option<(FromEnv, Span)> {
        let ExprKind::Call(call) = &attr.value.kind else {
            return self.string(Some(attr)).map(|s| (FromEnv::Literal(s.value), s.span));
        };
        let span = attr.value.span;
        let name = match (&*call.name.name, call.args.as_slice()) {
            ("env", [arg]) if arg.name.is_none() => match &arg.value.kind {
                ExprKind::Str(name) => name.clone(),
                _ => {
                    self.target(
                        arg.value.span,
                        "`env` takes the variable's name as a string",
                        "not a string",
                        "write `env(\"NAME\")`",
                    );
                    return None;
                }
            },
            _ => {
                self.target(
                    span,
                    format!("`{}(...)` cannot stand here", call.name.name),
                    "not env(\"NAME\")",
                    "write a string, or `env(\"NAME\")` to read it from the environment",
                );
                return None;
            }
        };
        let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            self.target(
                span,
                format!("`{name}` is not an environment variable name"),
                "bad variable name",
                "names are letters, digits and `_`, not starting with a digit",
            );
            return None;
        }
        Some((FromEnv::Env(name), span))
    }

    fn target(&mut self, span: Span, message: impl Into<String>, label: &str, help: &str) {
        self.report(Diagnostic::new(Code::E0015, message, span, label).with_help(help));
    }
}
