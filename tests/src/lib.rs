//! Support code for the workspace-level integration tests in `tests/tests/`.
