//! Limits that keep a statement of any shape from overflowing a thread's stack.
//!
//! Planning, optimizing and evaluating an expression recurse once per nesting level (in
//! sqlparser, DataFusion and Eddy alike), and a stack overflow aborts the whole process,
//! with every job in it. So every thread that plans or runs statements is started with
//! [`THREAD_STACK_SIZE`], and the gateway refuses (SQLSTATE 54001) a statement nested
//! deeper than [`MAX_EXPRESSION_DEPTH`]. Measured in a debug build (the larger frames):
//! every deep shape `tests/failure_limits.rs` runs just under the limit (operator chains,
//! `OR` / `AND` lists, `UNION ALL` chains, CASE sums, in batch queries and in jobs) runs on
//! an 8 MiB stack and overflows a 3 MiB one; the stack below leaves eight times that.

/// Deepest nesting of expressions, subqueries, set operations and joins a statement may
/// have (PostgreSQL's `max_stack_depth`, counted in levels rather than bytes).
pub const MAX_EXPRESSION_DEPTH: usize = 1000;

/// Stack size of the threads that plan and run statements: tokio's workers and blocking
/// threads in `eddy`, and each subtask's thread. Only touched pages use memory.
pub const THREAD_STACK_SIZE: usize = 64 * 1024 * 1024;
