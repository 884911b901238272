//! berth-engine: applies a [`berth_plan::Plan`] through a
//! [`berth_provider::Provider`], waiting on the deployments it starts and
//! reporting [`Event`]s as it goes.

mod apply;
pub mod blue_green;
pub mod diagnose;
mod events;
pub mod lock;
mod migrate;
pub mod oneoff;
pub mod poll;
mod rollback;
mod scaling;
pub mod wait;

pub use apply::{apply, ApplyOptions, ApplyResult, Failure, WaitMode};
pub use events::{Collect, Event, EventKind, Reporter, TrafficWeight};
pub use rollback::rollback;
pub use wait::{DeployFailure, PollPolicy};
