//! One module per noun of `kw`: each parses nothing and prints through
//! `output`, calling the core for the work.

pub(crate) mod alert;
pub(crate) mod audit;
pub(crate) mod config;
pub(crate) mod connect;
pub(crate) mod credential;
pub(crate) mod expiry;
pub(crate) mod health;
pub(crate) mod integration;
pub(crate) mod keys;
pub(crate) mod overview;
pub(crate) mod policy;
pub(crate) mod run;
pub(crate) mod serve;
pub(crate) mod support;
pub(crate) mod team;
pub(crate) mod vault;
