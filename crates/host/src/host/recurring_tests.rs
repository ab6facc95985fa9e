//! Recurring validation in-process.
