//! Turns a deployment descriptor into a running [`StreamTask`]: wires its input channels,
//! builds its operator chain and its record writers.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use eddy_runtime::checkpoint::{operator_uids, CheckpointSettings, TaskCommand};
use eddy_runtime::config::{checkpointing, execution, pipeline, table};
use eddy_runtime::connector::{ConnectorResolver, SubtaskInfo};
use eddy_runtime::error::{Result, RuntimeError};
use eddy_runtime::exchange::{
    ChannelKey, InputChannel, LocalChannelRegistry, OutputChannel, RecordWriter,
};
use eddy_runtime::expr_codec::function_context;
use eddy_runtime::jobgraph::{OperatorSpec, Partitioner};
use eddy_runtime::metrics::TaskMetrics;
use eddy_runtime::operators::{self, OperatorContext, SourceDriver};
use eddy_runtime::task::{OperatorChain, SourceTiming, StreamTask, TaskCheckpointing, TaskInput};

use super::TaskDeploymentDescriptor;
use crate::checkpoint::responder::{read_restored_state, TaskCheckpointResponder};
use crate::checkpoint::storage::CheckpointStorage;
use crate::gateway::JobMasterGateway;
use crate::shuffle::NetworkEnvironment;

/// What the TaskExecutor lends a task.
pub(super) struct TaskEnvironment {
    pub task_executor: String,
    pub resolver: Arc<dyn ConnectorResolver>,
    pub channels: Arc<LocalChannelRegistry>,
    pub network: Option<Arc<NetworkEnvironment>>,
    pub channel_capacity: usize,
    pub cancel: Arc<AtomicBool>,
    pub metrics: Arc<TaskMetrics>,
    pub commands: crossbeam_channel::Receiver<TaskCommand>,
    pub job_master: Arc<dyn JobMasterGateway>,
    pub runtime: tokio::runtime::Handle,
}

/// Builds and runs one subtask to its end.
pub(super) fn run_task(tdd: &TaskDeploymentDescriptor, env: TaskEnvironment) -> Result<()> {
    let graph = &tdd.job_graph;
    let me = tdd.attempt.subtask_index;
    let vertex = graph.vertex(tdd.attempt.vertex_id)?;
    let max_parallelism = graph.config.get_int(&pipeline::MAX_PARALLELISM).max(1) as u32;
    let info = SubtaskInfo {
        job_id: tdd.attempt.job_id.clone(),
        vertex_name: vertex.name.clone(),
        subtask_index: me,
        parallelism: vertex.parallelism,
        attempt: tdd.attempt.attempt,
        metrics: env.metrics.clone(),
        batch_size: graph.config.get_int(&execution::BATCH_SIZE).max(1) as usize,
        buffer_timeout: graph.config.get_duration(&execution::BUFFER_TIMEOUT),
        cancel: env.cancel.clone(),
    };
    let key = |edge: usize, producer: u32, consumer: u32| ChannelKey {
        job_id: tdd.attempt.job_id.clone(),
        attempt: tdd.attempt.attempt,
        edge,
        producer,
        consumer,
    };

    // Where subtask i of any vertex runs: on this TaskExecutor (a local queue), or on
    // another one, reached through the network stack.
    let remote = |subtask: u32| -> Option<(&NetworkEnvironment, &str)> {
        let slot = tdd.slots.get(subtask as usize)?;
        let network = env.network.as_deref()?;
        (slot.task_executor != env.task_executor).then_some((network, slot.data_address.as_str()))
    };

    // Outputs first, so that downstream subtasks never wait on a channel nobody holds.
    let mut outputs = Vec::new();
    for (edge_index, edge) in graph.edges.iter().enumerate() {
        if edge.source != vertex.id {
            continue;
        }
        let target = graph.vertex(edge.target)?;
        let consumers: Vec<u32> = match edge.partitioner {
            Partitioner::Forward => vec![me],
            _ => (0..target.parallelism).collect(),
        };
        let senders = consumers
            .into_iter()
            .map(|c| match remote(c) {
                Some((network, _)) => {
                    network.output_channel(key(edge_index, me, c), env.cancel.clone())
                }
                None => OutputChannel::Local(
                    env.channels
                        .sender(key(edge_index, me, c), env.channel_capacity),
                ),
            })
            .collect();
        outputs.push(
            RecordWriter::new(edge.partitioner.clone(), senders, max_parallelism).with_buffering(
                info.batch_size,
                graph.config.get_duration(&execution::BUFFER_TIMEOUT),
            ),
        );
    }

    let functions = function_context();
    let timing = SourceTiming {
        watermark_interval: graph
            .config
            .get_duration(&pipeline::AUTO_WATERMARK_INTERVAL),
        idle_timeout: graph.config.get_duration(&table::SOURCE_IDLE_TIMEOUT),
        rows_per_second: graph
            .config
            .get_float(&eddy_runtime::config::core::SOURCE_ROWS_PER_SECOND)
            .max(0.0),
    };
    let ctx = OperatorContext {
        config: &graph.config,
        resolver: env.resolver.as_ref(),
        info: &info,
        functions,
        watermark_interval: timing.watermark_interval,
        max_parallelism,
        window_buffer_limit: graph
            .config
            .get_int(&table::WINDOW_AGG_BUFFER_SIZE_LIMIT)
            .max(1) as usize,
        buffer_memory_limit: usize::try_from(
            graph
                .config
                .get_memory_size(&table::WINDOW_BUFFER_MEMORY_LIMIT),
        )
        .unwrap_or(usize::MAX),
    };
    let (input, rest) = match vertex.operators.split_first() {
        Some((OperatorSpec::Source(spec), rest)) => (
            TaskInput::Source(SourceDriver::try_new(spec, tdd.splits.clone(), &ctx)?),
            rest,
        ),
        _ => {
            let mut receivers = Vec::new();
            let mut input = 0;
            for (edge_index, edge) in graph.edges.iter().enumerate() {
                if edge.target != vertex.id {
                    continue;
                }
                input += 1;
                let source = graph.vertex(edge.source)?;
                let producers: Vec<u32> = match edge.partitioner {
                    Partitioner::Forward => vec![me],
                    _ => (0..source.parallelism).collect(),
                };
                for p in producers {
                    let channel = match remote(p) {
                        Some((network, address)) => network.input_channel(
                            &key(edge_index, p, me),
                            address,
                            env.channel_capacity,
                        )?,
                        None => InputChannel::local(
                            env.channels
                                .receiver(key(edge_index, p, me), env.channel_capacity),
                        ),
                    };
                    receivers.push((input - 1, channel));
                }
            }
            if receivers.is_empty() {
                return Err(RuntimeError::Internal(format!(
                    "vertex {} has neither a source nor inputs",
                    vertex.name
                )));
            }
            (TaskInput::Channels(receivers), vertex.operators.as_slice())
        }
    };
    let operators = rest
        .iter()
        .map(|spec| operators::build(spec, &ctx))
        .collect::<Result<Vec<_>>>()?;
    let uids = operator_uids(graph);
    let offset = vertex.operators.len() - rest.len();
    let chain_uids = (0..rest.len())
        .map(|i| uids.get(&(vertex.id, i + offset)).cloned())
        .collect();
    let mut chain =
        OperatorChain::new(operators, outputs, env.metrics.clone()).with_uids(chain_uids);
    let mut input = input;
    if let Some(restore) = &tdd.restore {
        let state = env
            .runtime
            .block_on(read_restored_state(restore))
            .map_err(cluster_to_runtime)?;
        chain.initialize_state(state)?;
        if let (TaskInput::Source(driver), Some(w)) = (&mut input, restore.watermark) {
            driver.restore_watermark(w);
        }
    }
    let source_uid = (offset == 1)
        .then(|| uids.get(&(vertex.id, 0)).cloned())
        .flatten();
    let checkpointing = match graph
        .config
        .get_string(&checkpointing::CHECKPOINTS_DIR)
        .as_str()
    {
        "" => TaskCheckpointing::disabled(),
        dir => TaskCheckpointing {
            settings: CheckpointSettings::from_config(&graph.config),
            commands: env.commands,
            responder: Arc::new(TaskCheckpointResponder {
                storage: CheckpointStorage::open(dir).map_err(cluster_to_runtime)?,
                job_master: env.job_master,
                runtime: env.runtime,
                attempt: tdd.attempt.clone(),
                source_uid,
            }),
        },
    };
    tracing::debug!(job = %tdd.attempt.job_id, vertex = %vertex.name, subtask = me, "task starting");
    StreamTask::new(input, chain, env.cancel, info, timing)
        .with_checkpointing(checkpointing)
        .run()
}

/// A cluster error met while setting a task up, as the task's failure.
fn cluster_to_runtime(e: crate::error::ClusterError) -> RuntimeError {
    match e {
        crate::error::ClusterError::Runtime(r) => r,
        other => RuntimeError::External(other.to_string()),
    }
}
