//! The client's meeting logic, without sockets, threads or clocks.

pub(crate) mod assembler;
