//! berth-engine: applies a [`berth_plan::Plan`] through a
//! [`berth_provider::Provider`], waiting on the deployments it starts and
//! reporting [`Event`]s as it goes.

mod apply;
mod events;
pub mod wait;

pub use apply::{apply, ApplyOptions, ApplyResult, Failure, WaitMode};
pub use events::{Collect, Event, EventKind, Reporter};
pub use wait::{DeployFailure, PollPolicy};
