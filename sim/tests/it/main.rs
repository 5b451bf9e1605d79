//! The simulator's integration tests: one binary, real HTTP over 127.0.0.1, reqwest as client.

mod binary;
mod chunk_rule;
mod cors;
mod faults;
mod flow;
mod oauth;
mod refusals;
mod support;
