//! Where the processes of a standalone cluster listen and how they watch each other
//! (Flink's `JobManagerOptions`, `TaskManagerOptions` and `HeartbeatManagerOptions`).

use super::{ConfigOption, ValueKind};

/// Address TaskManagers and gateways reach the JobManager at.
pub const JOBMANAGER_RPC_ADDRESS: ConfigOption = ConfigOption {
    key: "jobmanager.rpc.address",
    default: "127.0.0.1",
    kind: ValueKind::String,
    description: "Host of the JobManager's RPC endpoint, as TaskManagers and gateways reach it.",
};

/// Port of the JobManager's RPC endpoint.
pub const JOBMANAGER_RPC_PORT: ConfigOption = ConfigOption {
    key: "jobmanager.rpc.port",
    default: "6123",
    kind: ValueKind::Int { min: 0, max: 65535 },
    description: "Port of the JobManager's RPC endpoint (0: any free port).",
};

/// Address the JobManager's RPC endpoint binds to.
pub const JOBMANAGER_BIND_HOST: ConfigOption = ConfigOption {
    key: "jobmanager.bind-host",
    default: "127.0.0.1",
    kind: ValueKind::String,
    description: "Address the JobManager's RPC endpoint binds to (0.0.0.0 for all).",
};

/// Address other processes reach this TaskManager at.
pub const TASKMANAGER_HOST: ConfigOption = ConfigOption {
    key: "taskmanager.host",
    default: "127.0.0.1",
    kind: ValueKind::String,
    description: "Host the JobManager and other TaskManagers reach this TaskManager at.",
};

/// Address the TaskManager's endpoints bind to.
pub const TASKMANAGER_BIND_HOST: ConfigOption = ConfigOption {
    key: "taskmanager.bind-host",
    default: "127.0.0.1",
    kind: ValueKind::String,
    description: "Address the TaskManager's RPC and data endpoints bind to (0.0.0.0 for all).",
};

/// Port of the TaskManager's RPC endpoint.
pub const TASKMANAGER_RPC_PORT: ConfigOption = ConfigOption {
    key: "taskmanager.rpc.port",
    default: "0",
    kind: ValueKind::Int { min: 0, max: 65535 },
    description: "Port of the TaskManager's RPC endpoint (0: any free port).",
};

/// Port of the TaskManager's data exchange server.
pub const TASKMANAGER_DATA_PORT: ConfigOption = ConfigOption {
    key: "taskmanager.data.port",
    default: "0",
    kind: ValueKind::Int { min: 0, max: 65535 },
    description: "Port other TaskManagers fetch this one's subtask output from (0: any free port).",
};

/// The TaskManager's id.
pub const TASKMANAGER_RESOURCE_ID: ConfigOption = ConfigOption {
    key: "taskmanager.resource-id",
    default: "",
    kind: ValueKind::String,
    description:
        "Id of the TaskManager (empty: host:port of its RPC endpoint plus a random suffix).",
};

/// How often a TaskManager heartbeats.
pub const HEARTBEAT_INTERVAL: ConfigOption = ConfigOption {
    key: "heartbeat.interval",
    default: "10 s",
    kind: ValueKind::Duration,
    description: "How often TaskManagers send heartbeats to the JobManager.",
};

/// How long without a heartbeat before a TaskManager is lost.
pub const HEARTBEAT_TIMEOUT: ConfigOption = ConfigOption {
    key: "heartbeat.timeout",
    default: "50 s",
    kind: ValueKind::Duration,
    description: "A TaskManager without a heartbeat for this long is lost: its slots are released and the jobs with tasks on it fail.",
};

/// Every option in this file.
pub const OPTIONS: &[ConfigOption] = &[
    JOBMANAGER_RPC_ADDRESS,
    JOBMANAGER_RPC_PORT,
    JOBMANAGER_BIND_HOST,
    TASKMANAGER_HOST,
    TASKMANAGER_BIND_HOST,
    TASKMANAGER_RPC_PORT,
    TASKMANAGER_DATA_PORT,
    TASKMANAGER_RESOURCE_ID,
    HEARTBEAT_INTERVAL,
    HEARTBEAT_TIMEOUT,
];
