//! Flink's `PythonOptions` that Eddy's Python functions read.

use super::{ConfigOption, ValueKind};

/// The Python that runs Python functions.
pub const EXECUTABLE: ConfigOption = ConfigOption {
    key: "python.executable",
    default: "python3",
    kind: ValueKind::String,
    description: "The Python interpreter that runs Python functions (CREATE FUNCTION ... LANGUAGE PYTHON), on the server and on every TaskManager. A function keeps the value set when it was created.",
};

/// Files and folders put on Python's module path.
pub const FILES: ConfigOption = ConfigOption {
    key: "python.files",
    default: "",
    kind: ValueKind::String,
    description: "Comma-separated .py files, .zip files or folders put on Python's module path, where CREATE FUNCTION ... AS 'module.function' LANGUAGE PYTHON finds its module. Eddy: a function keeps the value set when it was created, and reads the files from the same paths on every TaskManager (Flink ships them with the job).",
};

pub const OPTIONS: &[&ConfigOption] = &[&EXECUTABLE, &FILES];
