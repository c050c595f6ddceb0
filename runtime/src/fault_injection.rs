//! Functions that exist to show the engine survives its own bugs: `eddy_test_panic(text)`
//! panics with `text` wherever it is evaluated (a batch query in the gateway, an operator
//! in a subtask). The gateway offers it only when `debug.testing-functions` is true;
//! TaskManagers can always decode it, since only the gateway decides what a plan holds.

use std::sync::Arc;

use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

/// The name the panicking function is registered under.
pub const TEST_PANIC: &str = "eddy_test_panic";

#[derive(Debug, PartialEq, Eq, Hash)]
struct TestPanic {
    signature: Signature,
}

impl ScalarUDFImpl for TestPanic {
    fn name(&self) -> &str {
        TEST_PANIC
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let message = match args.args.first() {
            Some(ColumnarValue::Scalar(ScalarValue::Utf8(Some(s)))) => s.clone(),
            Some(ColumnarValue::Array(a)) if !a.is_empty() && a.data_type() == &DataType::Utf8 => {
                a.as_string::<i32>().value(0).to_string()
            }
            _ => "no message".to_string(),
        };
        panic!("{TEST_PANIC}: {message}");
    }
}

/// The fault-injection functions.
pub fn testing_functions() -> Vec<Arc<ScalarUDF>> {
    vec![Arc::new(ScalarUDF::from(TestPanic {
        // Volatile: evaluated per batch where rows are, never folded while planning.
        signature: Signature::exact(vec![DataType::Utf8], Volatility::Volatile),
    }))]
}
