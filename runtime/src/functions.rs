//! SQL functions Eddy adds to DataFusion's, registered both where queries are planned and
//! where TaskManagers decode expressions.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use crate::time::now_millis;

/// Flink's `PROCTIME()`: the wall-clock time at which a row is processed, as
/// TIMESTAMP_LTZ(3). Volatile, so DataFusion evaluates it per batch instead of folding it
/// into a constant when the query is planned, as it does with `now()`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ProcTime {
    signature: Signature,
}

impl Default for ProcTime {
    fn default() -> Self {
        Self {
            signature: Signature::exact(vec![], Volatility::Volatile),
        }
    }
}

/// The name PROCTIME is registered under.
pub const PROCTIME: &str = "proctime";

/// PROCTIME's type: TIMESTAMP_LTZ(3).
pub fn proctime_type() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
}

impl ScalarUDFImpl for ProcTime {
    fn name(&self) -> &str {
        PROCTIME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(proctime_type())
    }

    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        Ok(ColumnarValue::Scalar(ScalarValue::TimestampMillisecond(
            Some(now_millis()),
            Some("UTC".into()),
        )))
    }
}

/// Every function Eddy adds.
pub fn eddy_functions() -> Vec<Arc<ScalarUDF>> {
    vec![Arc::new(ScalarUDF::from(ProcTime::default()))]
}
