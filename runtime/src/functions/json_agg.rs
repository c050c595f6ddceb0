//! Flink's `JSON_ARRAYAGG(expr [NULL | ABSENT ON NULL])` and `JSON_OBJECTAGG([KEY] k
//! VALUE v [NULL | ABSENT ON NULL])`: a JSON array of the values in the order they
//! arrived (NULLs left out unless `NULL ON NULL`), and a JSON object of the key-value
//! pairs (NULL values kept as `null` unless `ABSENT ON NULL`; keys in order, as Flink's
//! JSON_OBJECT has them; a key twice fails the query as in Flink). Never NULL: `[]` and
//! `{}` over no rows, as Flink's `VARCHAR NOT NULL` results are.
//!
//! The SQL layer passes the null clause first, as the mode literal of `JSON_ARRAY` (which
//! also says whether the value is JSON already, `JSON(s)` or a nested constructor). Each
//! value is written by Eddy's `JSON_ARRAY` called with that mode, one value per row, so
//! an element is exactly what `JSON_ARRAY(x)` would hold: numbers as Flink's Jackson
//! writes them, strings escaped and quoted, timestamps in ISO form; a type JSON cannot
//! hold is refused when the query is planned, with JSON_ARRAY's message. The state is
//! the elements' text in order (for an object, key and value alternating); a retraction
//! takes out the first equal element (the key's pair), as Flink's `ListView` /
//! `MapView` removal does.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{Array, ArrayRef, AsArray, ListArray, StringArray};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::ScalarValue;
use datafusion::config::ConfigOptions;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, ColumnarValue, ReturnFieldArgs,
    ScalarFunctionArgs, ScalarUDF, Signature, Volatility,
};
use datafusion::physical_expr::expressions::Literal;
use datafusion::physical_expr::PhysicalExpr;

/// `JSON_ARRAYAGG` and `JSON_OBJECTAGG`, for registration.
pub(super) fn all() -> Vec<Arc<AggregateUDF>> {
    [false, true]
        .into_iter()
        .map(|object| {
            Arc::new(AggregateUDF::from(JsonAgg {
                object,
                signature: Signature::user_defined(Volatility::Immutable),
            }))
        })
        .collect()
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct JsonAgg {
    object: bool,
    signature: Signature,
}

/// JSON_ARRAY reads no option; one set serves every call.
static CONFIG: LazyLock<Arc<ConfigOptions>> = LazyLock::new(|| Arc::new(ConfigOptions::default()));

fn user_error(msg: String) -> DataFusionError {
    DataFusionError::External(Box::new(crate::RuntimeError::User(msg)))
}

/// Writes values as JSON through Eddy's `JSON_ARRAY`.
#[derive(Debug)]
struct Writer {
    json_array: Arc<ScalarUDF>,
    /// The mode argument JSON_ARRAY is called with.
    mode: ScalarValue,
    /// `NULL ON NULL`: a NULL value is written as `null`.
    keep_nulls: bool,
}

impl Writer {
    fn new(mode: Option<String>, object: bool) -> Result<Self> {
        let json_array = super::json_build::all()
            .into_iter()
            .find(|f| f.name() == "json_array")
            .ok_or_else(|| DataFusionError::Internal("JSON_ARRAY is missing".into()))?;
        // Flink's defaults: JSON_OBJECTAGG keeps NULLs, JSON_ARRAYAGG drops them.
        let mode = mode.unwrap_or_else(|| super::json_build::mode_literal(!object, &[]));
        let keep_nulls = mode.contains("NULL ON NULL") && !mode.contains("ABSENT");
        Ok(Self {
            json_array,
            mode: ScalarValue::Utf8(Some(mode)),
            keep_nulls,
        })
    }

    fn fields(value: FieldRef) -> Vec<FieldRef> {
        vec![Arc::new(Field::new("mode", DataType::Utf8, false)), value]
    }

    /// JSON_ARRAY's refusal of a value type JSON cannot hold, if `value`'s is one.
    fn check(&self, value: &FieldRef) -> Result<()> {
        let fields = Self::fields(value.clone());
        let scalars = [Some(&self.mode), None];
        self.json_array.return_field_from_args(ReturnFieldArgs {
            arg_fields: &fields,
            scalar_arguments: &scalars,
        })?;
        Ok(())
    }

    /// Each value of `values` as JSON text; None for a NULL left out.
    fn write(&self, values: &ArrayRef) -> Result<Vec<Option<String>>> {
        let rows = values.len();
        if rows == 0 {
            return Ok(Vec::new());
        }
        let arrays = self
            .json_array
            .invoke_with_args(ScalarFunctionArgs {
                args: vec![
                    ColumnarValue::Scalar(self.mode.clone()),
                    ColumnarValue::Array(values.clone()),
                ],
                arg_fields: Self::fields(Arc::new(Field::new(
                    "value",
                    values.data_type().clone(),
                    true,
                ))),
                number_rows: rows,
                return_field: Arc::new(Field::new("json_array", DataType::Utf8, false)),
                config_options: CONFIG.clone(),
            })?
            .into_array(rows)?;
        let Some(arrays) = arrays.as_string_opt::<i32>() else {
            return Err(DataFusionError::Internal("JSON_ARRAY gave no text".into()));
        };
        let nulls = values.logical_nulls();
        Ok((0..rows)
            .map(|i| {
                if nulls.as_ref().is_some_and(|n| n.is_null(i)) || arrays.is_null(i) {
                    return self.keep_nulls.then(|| "null".to_string());
                }
                // `[v]`: the element is what the brackets hold.
                let text = arrays.value(i);
                let element = text
                    .strip_prefix('[')
                    .and_then(|t| t.strip_suffix(']'))
                    .unwrap_or(text);
                Some(element.to_string())
            })
            .collect())
    }
}

fn list_of(t: DataType) -> DataType {
    DataType::List(Arc::new(Field::new("item", t, true)))
}

impl JsonAgg {
    fn upper(&self) -> &'static str {
        match self.object {
            true => "JSON_OBJECTAGG",
            false => "JSON_ARRAYAGG",
        }
    }

    /// How many arguments the call has without the mode: the key and value, or the value.
    fn values(&self) -> usize {
        1 + self.object as usize
    }

    fn arity_error(&self, n: usize) -> DataFusionError {
        DataFusionError::Plan(format!(
            "function {} takes {}, not {n} arguments",
            self.upper(),
            match self.object {
                true => "KEY k VALUE v",
                false => "one value",
            }
        ))
    }
}

/// A dictionary is written as its values.
fn plain(t: &DataType) -> DataType {
    match t {
        DataType::Dictionary(_, values) => (**values).clone(),
        t => t.clone(),
    }
}

impl AggregateUDFImpl for JsonAgg {
    fn name(&self) -> &str {
        match self.object {
            true => "json_objectagg",
            false => "json_arrayagg",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let n = arg_types.len();
        if n != self.values() && n != self.values() + 1 {
            return Err(self.arity_error(n));
        }
        let mut types: Vec<DataType> = arg_types.iter().map(plain).collect();
        if n > self.values() {
            types[0] = DataType::Utf8;
        }
        if self.object {
            types[n - 2] = DataType::Utf8;
        }
        Ok(types)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    /// Never NULL; a value type JSON cannot hold is refused here, when planned.
    fn return_field(&self, arg_fields: &[FieldRef]) -> Result<FieldRef> {
        let Some(value) = arg_fields.last() else {
            return Err(self.arity_error(0));
        };
        Writer::new(None, self.object)?.check(value)?;
        Ok(Arc::new(Field::new(self.name(), DataType::Utf8, false)))
    }

    fn is_nullable(&self) -> bool {
        false
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let with_mode = args.exprs.len() > self.values();
        let mode = match args.exprs.first() {
            Some(expr) if with_mode => {
                // The downcast is defined on `dyn PhysicalExpr + 'static` only.
                let expr: &(dyn PhysicalExpr + 'static) = &**expr;
                match expr.downcast_ref::<Literal>().map(|l| l.value()) {
                    Some(ScalarValue::Utf8(Some(mode))) => Some(mode.clone()),
                    _ => {
                        return Err(DataFusionError::Plan(format!(
                            "{}: the null clause must be a literal",
                            self.upper()
                        )))
                    }
                }
            }
            _ => None,
        };
        Ok(Box::new(JsonAggAccumulator {
            writer: Writer::new(mode, self.object)?,
            object: self.object,
            skip: with_mode as usize,
            elements: Vec::new(),
        }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(
            format_state_name(args.name, "elements"),
            list_of(DataType::Utf8),
            true,
        ))])
    }

    fn default_value(&self, _data_type: &DataType) -> Result<ScalarValue> {
        Ok(ScalarValue::Utf8(Some(
            match self.object {
                true => "{}",
                false => "[]",
            }
            .into(),
        )))
    }
}

#[derive(Debug)]
struct JsonAggAccumulator {
    writer: Writer,
    object: bool,
    /// 1 when the first argument is the mode.
    skip: usize,
    /// The elements' JSON text, in arrival order; for an object, each key (as text)
    /// followed by its value's JSON.
    elements: Vec<String>,
}

impl JsonAggAccumulator {
    /// The rows of `values` as elements: (key, value) for an object, (value) for an array.
    fn rows(&self, values: &[ArrayRef]) -> Result<Vec<(Option<String>, String)>> {
        let args = &values[self.skip.min(values.len())..];
        let Some(column) = args.last() else {
            return Ok(Vec::new());
        };
        let written = self.writer.write(column)?;
        let keys = match self.object {
            true => args.first().and_then(|k| k.as_string_opt::<i32>()),
            false => None,
        };
        let mut rows = Vec::with_capacity(written.len());
        for (i, value) in written.into_iter().enumerate() {
            let key = match keys {
                Some(k) if k.is_null(i) => {
                    return Err(user_error("JSON_OBJECTAGG: a key is NULL".into()))
                }
                Some(k) => Some(k.value(i).to_string()),
                None => None,
            };
            if let Some(value) = value {
                rows.push((key, value));
            }
        }
        Ok(rows)
    }

    fn key_at(&self, key: &str) -> Option<usize> {
        self.elements
            .iter()
            .step_by(2)
            .position(|k| k == key)
            .map(|i| i * 2)
    }
}

impl Accumulator for JsonAggAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        for (key, value) in self.rows(values)? {
            if let Some(key) = key {
                if self.key_at(&key).is_some() {
                    return Err(user_error(format!(
                        "Key '{key}' is already present. Duplicate keys are not allowed in JSON_OBJECTAGG"
                    )));
                }
                self.elements.push(key);
            }
            self.elements.push(value);
        }
        Ok(())
    }

    fn retract_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        for (key, value) in self.rows(values)? {
            match key {
                Some(key) => {
                    if let Some(at) = self.key_at(&key) {
                        self.elements.drain(at..at + 2);
                    }
                }
                None => {
                    if let Some(at) = self.elements.iter().position(|e| *e == value) {
                        self.elements.remove(at);
                    }
                }
            }
        }
        Ok(())
    }

    fn supports_retract_batch(&self) -> bool {
        true
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let values: ArrayRef = Arc::new(StringArray::from_iter_values(&self.elements));
        let field = Arc::new(Field::new("item", DataType::Utf8, true));
        let offsets = OffsetBuffer::from_lengths([values.len()]);
        Ok(vec![ScalarValue::List(Arc::new(ListArray::try_new(
            field, offsets, values, None,
        )?))])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let bad_state =
            || DataFusionError::Internal("a JSON aggregate's state is not its own".into());
        let Some(lists) = states.first().and_then(|a| a.as_list_opt::<i32>()) else {
            return Err(bad_state());
        };
        for row in 0..lists.len() {
            if lists.is_null(row) {
                continue;
            }
            let list = lists.value(row);
            let Some(texts) = list.as_string_opt::<i32>() else {
                return Err(bad_state());
            };
            let texts: Vec<String> = texts.iter().flatten().map(str::to_string).collect();
            if self.object {
                for pair in texts.chunks(2) {
                    if self.key_at(&pair[0]).is_some() {
                        return Err(user_error(format!(
                            "Key '{}' is already present. Duplicate keys are not allowed in JSON_OBJECTAGG",
                            pair[0]
                        )));
                    }
                    self.elements.extend(pair.iter().cloned());
                }
            } else {
                self.elements.extend(texts);
            }
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let text = match self.object {
            false => format!("[{}]", self.elements.join(",")),
            true => {
                // Keys in Java's string order (UTF-16 code units), as JSON_OBJECT writes them.
                let mut pairs: Vec<(&String, &String)> = self
                    .elements
                    .chunks(2)
                    .filter_map(|p| Some((p.first()?, p.get(1)?)))
                    .collect();
                pairs.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
                let body: Vec<String> = pairs
                    .into_iter()
                    .map(|(k, v)| {
                        let key = serde_json::to_string(k).unwrap_or_else(|_| format!("\"{k}\""));
                        format!("{key}:{v}")
                    })
                    .collect();
                format!("{{{}}}", body.join(","))
            }
        };
        Ok(ScalarValue::Utf8(Some(text)))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
            + self.elements.capacity() * std::mem::size_of::<String>()
            + self.elements.iter().map(String::capacity).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{BooleanArray, Float64Array, Int32Array};

    fn accumulator() -> JsonAggAccumulator {
        JsonAggAccumulator {
            writer: Writer::new(None, false).unwrap(),
            object: false,
            skip: 0,
            elements: Vec::new(),
        }
    }

    fn object(mode: Option<String>) -> JsonAggAccumulator {
        JsonAggAccumulator {
            writer: Writer::new(mode, true).unwrap(),
            object: true,
            skip: 0,
            elements: Vec::new(),
        }
    }

    fn text(acc: &mut JsonAggAccumulator) -> String {
        match acc.evaluate().unwrap() {
            ScalarValue::Utf8(Some(s)) => s,
            other => panic!("not text: {other:?}"),
        }
    }

    fn strings(values: &[Option<&str>]) -> ArrayRef {
        Arc::new(StringArray::from(values.to_vec()))
    }

    #[test]
    fn numbers_strings_and_booleans() {
        // Flink: JSON_ARRAYAGG(x) over 1, 2, NULL is [1,2].
        let mut acc = accumulator();
        assert_eq!(text(&mut acc), "[]");
        let ints: ArrayRef = Arc::new(Int32Array::from(vec![Some(1), Some(2), None]));
        acc.update_batch(&[ints]).unwrap();
        assert_eq!(text(&mut acc), "[1,2]");
        // Flink: over 'a', 'b', NULL, 'c' it is ["a","b","c"].
        let mut acc = accumulator();
        acc.update_batch(&[strings(&[Some("a"), Some("b"), None, Some("c")])])
            .unwrap();
        assert_eq!(text(&mut acc), r#"["a","b","c"]"#);
        let mut acc = accumulator();
        let bools: ArrayRef = Arc::new(BooleanArray::from(vec![Some(true), None, Some(false)]));
        let doubles: ArrayRef = Arc::new(Float64Array::from(vec![1.5]));
        acc.update_batch(&[bools]).unwrap();
        acc.update_batch(&[doubles]).unwrap();
        acc.update_batch(&[strings(&[Some("say \"hi\"\n")])])
            .unwrap();
        assert_eq!(text(&mut acc), r#"[true,false,1.5,"say \"hi\"\n"]"#);
    }

    #[test]
    fn retraction_takes_out_the_first_equal_element() {
        let mut acc = accumulator();
        acc.update_batch(&[strings(&[Some("a"), Some("b"), Some("a"), Some("c")])])
            .unwrap();
        acc.retract_batch(&[strings(&[Some("a"), None, Some("x")])])
            .unwrap();
        assert_eq!(text(&mut acc), r#"["b","a","c"]"#);
        acc.retract_batch(&[strings(&[Some("b"), Some("a"), Some("c")])])
            .unwrap();
        assert_eq!(text(&mut acc), "[]");
    }

    #[test]
    fn states_merge_in_order() {
        let mut left = accumulator();
        let mut right = accumulator();
        left.update_batch(&[strings(&[Some("a"), Some("b")])])
            .unwrap();
        right.update_batch(&[strings(&[Some("c")])]).unwrap();
        let mut merged = accumulator();
        for acc in [&mut left, &mut right] {
            let state = acc
                .state()
                .unwrap()
                .iter()
                .map(|s| s.to_array().unwrap())
                .collect::<Vec<_>>();
            merged.merge_batch(&state).unwrap();
        }
        assert_eq!(text(&mut merged), r#"["a","b","c"]"#);
    }

    #[test]
    fn objects_keep_nulls_and_refuse_a_key_twice() {
        // Flink: JSON_OBJECTAGG(KEY k VALUE v) over ('b', NULL), ('a', 1) is {"a":1,"b":null}.
        let mut acc = object(None);
        assert_eq!(text(&mut acc), "{}");
        let values: ArrayRef = Arc::new(Int32Array::from(vec![None, Some(1)]));
        acc.update_batch(&[strings(&[Some("b"), Some("a")]), values.clone()])
            .unwrap();
        assert_eq!(text(&mut acc), r#"{"a":1,"b":null}"#);
        let again = acc.update_batch(&[strings(&[Some("a")]), values.slice(1, 1)]);
        assert!(again
            .unwrap_err()
            .to_string()
            .contains("Key 'a' is already present"));
        acc.retract_batch(&[strings(&[Some("a")]), values.slice(1, 1)])
            .unwrap();
        assert_eq!(text(&mut acc), r#"{"b":null}"#);
        let mut absent = object(Some(super::super::json_build::mode_literal(true, &[])));
        absent
            .update_batch(&[strings(&[Some("b"), Some("a")]), values])
            .unwrap();
        assert_eq!(text(&mut absent), r#"{"a":1}"#);
    }

    #[test]
    fn null_on_null_arrays_keep_nulls() {
        let mut acc = accumulator();
        acc.writer = Writer::new(
            Some(super::super::json_build::mode_literal(false, &[])),
            false,
        )
        .unwrap();
        let ints: ArrayRef = Arc::new(Int32Array::from(vec![Some(1), Some(2), None]));
        acc.update_batch(&[ints]).unwrap();
        assert_eq!(text(&mut acc), "[1,2,null]");
    }

    #[test]
    fn the_planned_call() {
        let udaf = all().remove(0);
        let field: FieldRef = Arc::new(Field::new("x", DataType::Int32, true));
        let out = udaf.return_field(std::slice::from_ref(&field)).unwrap();
        assert_eq!(out.data_type(), &DataType::Utf8);
        assert!(!out.is_nullable());
        // JSON has no DATE: refused when planned, as Flink does.
        let date: FieldRef = Arc::new(Field::new("d", DataType::Date32, true));
        assert!(udaf.return_field(&[date]).is_err());
        assert_eq!(
            udaf.default_value(&DataType::Utf8).unwrap(),
            ScalarValue::Utf8(Some("[]".into()))
        );
    }
}
