//! The `blackhole` connector (Flink's `BlackHoleTableSinkFactory`): a sink that discards
//! every row, for benchmarks and for running a query only for its side effects.

use std::sync::Arc;

use datafusion::arrow::record_batch::RecordBatch;
use eddy_runtime::connector::{Sink, SinkWriter, SubtaskInfo};
use eddy_runtime::jobgraph::ConnectorSpec;

use crate::error::Result;
use crate::factory::TableFactory;
use crate::options::OptionKey;

/// The `blackhole` connector.
#[derive(Debug, Default)]
pub struct BlackHoleTableFactory;

impl TableFactory for BlackHoleTableFactory {
    fn identifier(&self) -> &'static str {
        "blackhole"
    }

    fn required_options(&self) -> Vec<OptionKey> {
        vec![]
    }

    fn optional_options(&self) -> Vec<OptionKey> {
        vec![]
    }

    fn create_sink(&self, _spec: &ConnectorSpec) -> Result<Arc<dyn Sink>> {
        Ok(Arc::new(BlackHoleSink))
    }
}

/// Discards rows.
#[derive(Debug)]
pub struct BlackHoleSink;

impl Sink for BlackHoleSink {
    fn create_writer(&self, _info: &SubtaskInfo) -> eddy_runtime::Result<Box<dyn SinkWriter>> {
        Ok(Box::new(BlackHoleSink))
    }
}

impl SinkWriter for BlackHoleSink {
    fn write(&mut self, _batch: &RecordBatch) -> eddy_runtime::Result<()> {
        Ok(())
    }

    fn finish(&mut self) -> eddy_runtime::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    use super::*;
    use crate::error::ConnectorError;
    use crate::testing::{spec, subtask};

    #[test]
    fn discards_and_takes_no_options() {
        let schema = Schema::new(vec![Field::new("id", DataType::Int64, true)]);
        let f = BlackHoleTableFactory;
        let sink = f
            .create_sink(&spec(&schema, &[("connector", "blackhole")]))
            .unwrap();
        let mut writer = sink.create_writer(&subtask(0, 1, 1)).unwrap();
        writer
            .write(&RecordBatch::new_empty(Arc::new(schema.clone())))
            .unwrap();
        writer.finish().unwrap();
        let opts = [("rows".to_string(), "1".to_string())].into();
        assert!(matches!(
            f.validate("t", &schema, &opts),
            Err(ConnectorError::UnknownOption { .. })
        ));
        assert!(matches!(
            f.create_source(&spec(&schema, &[])),
            Err(ConnectorError::NotASource { .. })
        ));
    }
}
