//! A typed, async client for the Nextcloud APIs used by `nextcloud-mcp`.
//!
//! The crate is deliberately free of anything MCP: it can be used by any Rust program that
//! needs to talk to Nextcloud. One [`Nextcloud`] value holds the pooled HTTP client and is
//! shared by every user of a process; [`NextcloudUser`] pairs it with one person's
//! credentials, which are attached per request (no client per user or per call).
//!
//! App APIs hang off [`NextcloudUser`]: `user.notes().get(42)`, `user.capabilities()`, ...

mod client;
mod config;
mod credentials;
mod error;

pub mod calendar;
pub mod capabilities;
pub mod collectives;
pub mod comments;
pub mod contacts;
pub mod cookbook;
pub mod dav;
pub mod deck;
pub mod files;
pub mod freebusy;
pub mod ical;
pub mod login_flow;
pub mod mail;
pub mod news;
pub mod notes;
pub mod ocs;
pub mod sharing;
pub mod shopping_list;
pub mod systemtags;
pub mod tables;
pub mod talk;
pub mod trashbin;
pub mod upload;
pub mod versions;

pub use capabilities::{Capabilities, ProbedApp};
pub use client::{Nextcloud, NextcloudUser};
pub use config::{ClientConfig, RequestObserver, RetryPolicy};
pub use credentials::Credentials;
pub use error::{Error, Result};
