//! What a cloud, the books or a job's setup could not do, typed by what trying again can
//! do about it. Decisions to retry, to wait or to give up read the kind, never the message:
//! a head tolerates a transient failure for a while and gives up on a denied one at once;
//! a deletion waits out a resource still busy; the CLI renders each kind with its own help.

use std::fmt;

/// A failure of a cloud call (or of reading what a cloud keeps), by kind.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum CloudError {
    /// Throttled, timed out, the connection cut, the service briefly unavailable, no
    /// capacity just now: the same call may work in a moment.
    #[error("{0}")]
    #[diagnostic(
        code(gaform::cloud::transient),
        help("the cloud did not answer, or asked to be called less often, after the SDK's own retries; run the command again in a moment")
    )]
    Transient(Detail),
    /// Something else holds the resource (an instance still using a security group, a
    /// conditional write lost to another writer): it works once that is over.
    #[error("{0}")]
    #[diagnostic(
        code(gaform::cloud::busy),
        help("another process or resource holds what this changes; run the command again once it is done")
    )]
    Busy(Detail),
    /// The credentials may not do this, or are missing or expired.
    #[error("{0}")]
    #[diagnostic(
        code(gaform::cloud::denied),
        help("the credentials in use may not do this: check the IAM policy of the profile or role (docs/plan-apply.md, 'The aws cloud', lists what gaform calls) and that they have not expired")
    )]
    Denied(Detail),
    /// What the call names does not exist (any more).
    #[error("{0}")]
    #[diagnostic(
        code(gaform::cloud::missing),
        help("something the stack relies on is gone; `gaform plan` shows what would be made again")
    )]
    Missing(Detail),
    /// The request, or what was read back, is wrong: trying again cannot help.
    #[error("{0}")]
    #[diagnostic(code(gaform::cloud::invalid))]
    Invalid(Detail),
}

/// The message of a [`CloudError`] and the service's own error code, where it gave one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detail {
    pub message: String,
    pub code: Option<String>,
}

impl fmt::Display for Detail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// A check of gaform's own that failed (a record that does not parse, a name that is
/// not there): the input is wrong, and trying again cannot help.
impl From<String> for CloudError {
    fn from(message: String) -> CloudError {
        CloudError::Invalid(Detail { message, code: None })
    }
}

/// A store's failure, by what its files or objects said (the S3 store keeps a call's kind
/// as the I/O error's kind).
impl From<gaform_runtime::store::StoreError> for CloudError {
    fn from(error: gaform_runtime::store::StoreError) -> CloudError {
        match error {
            gaform_runtime::store::StoreError::Io { path, source } => CloudError::io(&path, &source),
            other => CloudError::from(other.to_string()),
        }
    }
}

impl From<&str> for CloudError {
    fn from(message: &str) -> CloudError {
        CloudError::from(message.to_string())
    }
}

impl CloudError {
    /// A transient failure saying `message`.
    pub fn transient(message: impl Into<String>) -> CloudError {
        CloudError::Transient(Detail { message: message.into(), code: None })
    }

    /// A resource held by another (a stack locked by another apply) saying `message`.
    pub fn busy(message: impl Into<String>) -> CloudError {
        CloudError::Busy(Detail { message: message.into(), code: None })
    }

    /// Something the call needs that is not there (yet), saying `message`.
    pub fn missing(message: impl Into<String>) -> CloudError {
        CloudError::Missing(Detail { message: message.into(), code: None })
    }

    /// A failure of a local file or process, by what the system said.
    pub fn io(doing: &str, error: &std::io::Error) -> CloudError {
        use std::io::ErrorKind as Io;
        let detail = Detail { message: format!("{doing}: {error}"), code: None };
        match error.kind() {
            Io::TimedOut
            | Io::Interrupted
            | Io::WouldBlock
            | Io::ConnectionReset
            | Io::ConnectionAborted
            | Io::ConnectionRefused
            | Io::NotConnected
            | Io::BrokenPipe
            | Io::ResourceBusy => CloudError::Transient(detail),
            Io::PermissionDenied | Io::ReadOnlyFilesystem => CloudError::Denied(detail),
            Io::NotFound => CloudError::Missing(detail),
            _ => CloudError::Invalid(detail),
        }
    }

    /// The failure of a service call that answered `code` (its error code, as AWS names
    /// them) with HTTP `status`, saying `message`.
    pub fn from_service(code: Option<&str>, status: Option<u16>, message: String) -> CloudError {
        let detail = Detail { message, code: code.map(str::to_string) };
        let code = code.unwrap_or("");
        if TRANSIENT_CODES.contains(&code)
            || matches!(status, Some(429 | 500..=599)) && !code.ends_with("Denied")
        {
            CloudError::Transient(detail)
        } else if BUSY_CODES.contains(&code) || matches!(status, Some(409 | 412)) {
            CloudError::Busy(detail)
        } else if DENIED_CODES.contains(&code) || matches!(status, Some(401 | 403)) {
            CloudError::Denied(detail)
        } else if code.starts_with("NoSuch")
            || code.ends_with("NotFound")
            || matches!(status, Some(404 | 410))
        {
            CloudError::Missing(detail)
        } else {
            CloudError::Invalid(detail)
        }
    }

    /// The same failure, its message led by `doing` (`cannot read s3://…`).
    pub fn context(self, doing: impl fmt::Display) -> CloudError {
        self.map(|message| format!("{doing}: {message}"))
    }

    /// Whether the same call may work in a moment, unchanged.
    pub fn is_transient(&self) -> bool {
        matches!(self, CloudError::Transient(_))
    }

    /// Whether something else holds the resource for now.
    pub fn is_busy(&self) -> bool {
        matches!(self, CloudError::Busy(_))
    }

    /// The service's error code, where it gave one.
    pub fn code(&self) -> Option<&str> {
        self.detail().code.as_deref()
    }

    /// The kind, as events and logs name it.
    pub fn kind(&self) -> &'static str {
        match self {
            CloudError::Transient(_) => "transient",
            CloudError::Busy(_) => "busy",
            CloudError::Denied(_) => "denied",
            CloudError::Missing(_) => "missing",
            CloudError::Invalid(_) => "invalid",
        }
    }

    fn detail(&self) -> &Detail {
        match self {
            CloudError::Transient(d)
            | CloudError::Busy(d)
            | CloudError::Denied(d)
            | CloudError::Missing(d)
            | CloudError::Invalid(d) => d,
        }
    }

    fn map(self, f: impl FnOnce(String) -> String) -> CloudError {
        let wrap = |d: Detail| Detail { message: f(d.message), code: d.code };
        match self {
            CloudError::Transient(d) => CloudError::Transient(wrap(d)),
            CloudError::Busy(d) => CloudError::Busy(wrap(d)),
            CloudError::Denied(d) => CloudError::Denied(wrap(d)),
            CloudError::Missing(d) => CloudError::Missing(wrap(d)),
            CloudError::Invalid(d) => CloudError::Invalid(wrap(d)),
        }
    }
}

/// Codes AWS answers when the call may work unchanged in a moment (EC2, S3, IAM, STS, SNS,
/// Service Quotas).
const TRANSIENT_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "SlowDown",
    "RequestTimeout",
    "RequestTimeoutException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "Unavailable",
    "InternalError",
    "InternalFailure",
    "InternalServiceError",
    "InsufficientInstanceCapacity",
    "InsufficientCapacity",
    "EC2ThrottledException",
];

/// Codes AWS answers when another holder of the resource must finish first.
const BUSY_CODES: &[&str] = &[
    "DependencyViolation",
    "IncorrectState",
    "IncorrectInstanceState",
    "InvalidGroup.InUse",
    "ResourceInUse",
    "OperationAborted",
    "PreconditionFailed",
    "ConditionalRequestConflict",
    "ConcurrentModification",
    "ConcurrentModificationException",
];

/// Codes AWS answers when the credentials may not do this.
const DENIED_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "AuthFailure",
    "AuthorizationError",
    "InvalidClientTokenId",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
    "OptInRequired",
    "Blocked",
];

#[cfg(test)]
mod tests {
    use super::CloudError;

    fn kind(code: &str, status: u16) -> &'static str {
        CloudError::from_service(Some(code), Some(status), "m".into()).kind()
    }

    #[test]
    fn services_codes_are_sorted_by_what_trying_again_can_do() {
        assert_eq!(kind("RequestLimitExceeded", 503), "transient");
        assert_eq!(kind("SlowDown", 503), "transient");
        assert_eq!(kind("InsufficientInstanceCapacity", 500), "transient");
        assert_eq!(kind("SomethingNew", 502), "transient", "a 5xx is the service's trouble");
        assert_eq!(kind("DependencyViolation", 400), "busy");
        assert_eq!(kind("PreconditionFailed", 412), "busy");
        assert_eq!(kind("UnauthorizedOperation", 403), "denied");
        assert_eq!(kind("ExpiredToken", 400), "denied");
        assert_eq!(kind("InvalidInstanceID.NotFound", 400), "missing");
        assert_eq!(kind("NoSuchBucket", 404), "missing");
        assert_eq!(kind("InvalidParameterValue", 400), "invalid");
        assert_eq!(CloudError::from_service(None, Some(404), "http status: 404".into()).kind(), "missing");
    }

    #[test]
    fn context_leads_the_message_and_keeps_the_kind_and_code() {
        let e = CloudError::from_service(Some("SlowDown"), Some(503), "Please reduce".into())
            .context("cannot read s3://b/k");
        assert!(e.is_transient());
        assert_eq!(e.code(), Some("SlowDown"));
        assert_eq!(e.to_string(), "cannot read s3://b/k: Please reduce");
    }

    #[test]
    fn local_failures_are_sorted_by_what_the_system_said() {
        use std::io::{Error, ErrorKind};
        let io = |k: ErrorKind| CloudError::io("write x", &Error::from(k)).kind();
        assert_eq!(io(ErrorKind::TimedOut), "transient");
        assert_eq!(io(ErrorKind::PermissionDenied), "denied");
        assert_eq!(io(ErrorKind::NotFound), "missing");
        assert_eq!(io(ErrorKind::InvalidData), "invalid");
        assert_eq!(CloudError::from("bad record".to_string()).kind(), "invalid");
    }
}
