//! Crash and power-cut recovery tests (in progress).
