//! SDK errors → messages a user can act on.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use berth_provider::ProviderError;

/// Maps an SDK error of `operation` (an IAM action such as `ecs:CreateService`) on `resource`.
pub fn map<E, R>(operation: &str, resource: &str, err: SdkError<E, R>) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let code = err.code().unwrap_or_default().to_string();
    let message = err.message().unwrap_or_default().to_string();
    let full = DisplayErrorContext(&err).to_string();
    if let SdkError::DispatchFailure(_) | SdkError::ConstructionFailure(_) = &err {
        if full.contains("credentials") || full.contains("Credentials") {
            return ProviderError::Invalid(format!(
                "no AWS credentials found for {operation}: tried the environment (AWS_ACCESS_KEY_ID), the shared config and credentials files (profile, SSO, credential_process), web identity (AWS_WEB_IDENTITY_TOKEN_FILE), the ECS/CodeBuild container role and EC2 instance metadata; set one of them up, e.g. `aws configure` or AWS_PROFILE"
            ));
        }
        return ProviderError::Other(format!("{operation} could not reach AWS: {full}"));
    }
    if let SdkError::TimeoutError(_) = &err {
        return ProviderError::Server { operation: operation.into(), message: "timed out".into() };
    }
    match code.as_str() {
        "ThrottlingException" | "Throttling" | "TooManyRequestsException" | "RequestLimitExceeded" => {
            ProviderError::Throttled { operation: operation.into() }
        }
        "AccessDeniedException" | "AccessDenied" | "UnauthorizedOperation" | "UnrecognizedClientException" => {
            ProviderError::AccessDenied { action: operation.into(), resource: resource.into() }
        }
        "ServerException" | "InternalFailure" | "ServiceUnavailable" | "InternalError" => {
            ProviderError::Server { operation: operation.into(), message: if message.is_empty() { full } else { message } }
        }
        c if c.contains("NotFound") => ProviderError::NotFound { what: format!("{resource} ({operation}: {message})") },
        c if c.contains("AlreadyExists") || c.contains("Duplicate") || c.contains("InUse") || c == "PriorityInUse" => {
            ProviderError::Conflict { operation: operation.into(), message: format!("{code}: {message}") }
        }
        "" => ProviderError::Other(format!("{operation} on {resource} failed: {full}")),
        _ => ProviderError::Other(format!("{operation} on {resource} failed: {code}: {message}")),
    }
}

/// `Result<T, SdkError>` → `Result<T, ProviderError>` with the action and resource named.
pub trait Context<T> {
    fn ctx(self, operation: &str, resource: &str) -> Result<T, ProviderError>;
}

impl<T, E, R> Context<T> for Result<T, SdkError<E, R>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    fn ctx(self, operation: &str, resource: &str) -> Result<T, ProviderError> {
        self.map_err(|e| map(operation, resource, e))
    }
}

/// The SDK's error code, when it is a service error.
pub fn code<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<String> {
    err.code().map(str::to_string)
}

pub fn build_error(e: aws_smithy_types::error::operation::BuildError) -> ProviderError {
    ProviderError::Invalid(format!("berth built an invalid AWS request: {e}"))
}
