//! API call statistics: an SDK interceptor counts every operation (a call,
//! however many attempts it took) by `service:Operation` (IAM action
//! names), and every attempt sent, for `--stats` and for tests.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// Counts of API calls and attempts, shared by every client of one connection.
#[derive(Debug, Clone, Default)]
pub struct ApiStats {
    calls: Arc<Mutex<BTreeMap<String, u64>>>,
    attempts: Arc<AtomicU64>,
}

impl ApiStats {
    /// Calls per `service:Operation`.
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Calls (operations), each counted once however often it was retried.
    pub fn total(&self) -> u64 {
        self.snapshot().values().sum()
    }

    /// Requests sent: every call's first attempt and each retry.
    pub fn attempts(&self) -> u64 {
        self.attempts.load(Ordering::Relaxed)
    }

    /// Retries of throttled, 5xx or transient failures: attempts beyond each call's first.
    pub fn retries(&self) -> u64 {
        self.attempts().saturating_sub(self.total())
    }

    fn add(&self, key: String) {
        *self.calls.lock().unwrap_or_else(|e| e.into_inner()).entry(key).or_default() += 1;
    }
}

/// Counts each operation of one client; `service` is its IAM prefix.
#[derive(Debug)]
pub(crate) struct CountCalls {
    pub stats: ApiStats,
    pub service: &'static str,
}

impl Intercept for CountCalls {
    fn name(&self) -> &'static str {
        "berth::CountCalls"
    }

    fn read_before_execution(&self, context: &BeforeSerializationInterceptorContextRef<'_>, cfg: &mut ConfigBag) -> Result<(), BoxError> {
        let operation = match cfg.load::<Metadata>() {
            Some(m) => m.name().to_string(),
            // Else from the input's type: `Input(TypeErasedBox[..]:<Operation>Input { .. })`.
            None => operation_from_input(&format!("{:?}", context.input())),
        };
        // The crash-safety tests' kill point (BERTH_CRASH_AT, debug builds).
        if berth_provider::crash::due(&operation) {
            berth_provider::crash::die(&operation);
        }
        self.stats.add(format!("{}:{operation}", self.service));
        Ok(())
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.stats.attempts.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

fn operation_from_input(debug: &str) -> String {
    let after = debug.split_once("]:").map_or(debug, |(_, rest)| rest);
    after.split([' ', '{', '(', ')']).next().unwrap_or_default().trim_end_matches("Input").to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn operation_names_from_input_types() {
        assert_eq!(
            super::operation_from_input("Input(TypeErasedBox[!Clone]:DescribeClustersInput { clusters: None })"),
            "DescribeClusters"
        );
        assert_eq!(super::operation_from_input("ListServicesInput { cluster: None }"), "ListServices");
    }
}
