//! Why a command failed: a message of its own, or a cloud's typed error, which the CLI
//! renders as it renders diagnostics (code, message, help).

use gaform_providers::CloudError;
use std::fmt;

/// A command's failure.
#[derive(Debug)]
pub enum Failure {
    /// What the command itself found wrong (a bad argument, a file that does not check).
    Said(String),
    /// What a cloud, the books or a job's setup could not do, by kind.
    Cloud(CloudError),
}

impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure::Said(message)
    }
}

impl From<&str> for Failure {
    fn from(message: &str) -> Failure {
        Failure::Said(message.to_string())
    }
}

impl From<CloudError> for Failure {
    fn from(error: CloudError) -> Failure {
        Failure::Cloud(error)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Said(message) => f.write_str(message),
            Failure::Cloud(error) => error.fmt(f),
        }
    }
}

impl Failure {
    /// The failure as the terminal shows it: `error: MESSAGE`, and a cloud's error as
    /// miette renders a diagnostic, with its code and what to do about it.
    pub fn render(&self, colour: bool) -> String {
        match self {
            Failure::Said(message) => format!("error: {message}\n"),
            Failure::Cloud(error) => {
                let mut out = String::new();
                if crate::render::diagnostics::handler(colour).render_report(&mut out, error).is_err() {
                    return format!("error: {error}\n");
                }
                out
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Failure;
    use gaform_providers::CloudError;

    #[test]
    fn a_cloud_error_renders_with_its_code_message_and_help() {
        let denied = CloudError::from_service(Some("AccessDenied"), Some(403), "AccessDenied: no".into())
            .context("cannot read s3://b/k");
        insta::assert_snapshot!(Failure::from(denied).render(false));
        assert_eq!(Failure::from("no such file".to_string()).render(false), "error: no such file\n");
    }
}
