//! berth-compose: the Compose Specification alone, as its reference
//! implementation compose-go reads it. A project's files are parsed with
//! positions ([`node`]), interpolated ([`interpolate`], with variables from
//! the environment and [`dotenv`] files), extended, included, merged
//! ([`merge`], with `!reset` and `!override`), filtered by profiles and
//! normalized into a [`Project`] ([`project`]). Every value keeps the
//! `file:line:col` it came from, and every problem is a [`Diagnostic`].
//! Nothing here knows where the project runs.

pub mod diag;
pub mod dotenv;
pub mod interpolate;
pub mod merge;
pub mod node;
pub mod ports;
pub mod project;

pub use diag::{Diagnostic, Diagnostics, Pos, Severity};
pub use project::{load, Cast, Options, Project, SourceFile};
