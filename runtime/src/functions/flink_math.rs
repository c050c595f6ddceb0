//! Flink's arithmetic functions whose answers differ from DataFusion's: `LOG(x)` is the
//! natural logarithm (DataFusion's, like PostgreSQL's, is base 10) and `LOG(b, x)` and
//! `LOG2(x)` divide natural logarithms as Java does (so `LOG2(10)` ends in ...626, as in
//! Flink); `SQRT` of a negative number is NaN, not an error; and `CEIL`, `FLOOR`,
//! `TRUNCATE` and `SIGN` keep their argument's kind: an integer stays that integer, a
//! float that float, and a `DECIMAL(p, s)` rounded to an integer is the
//! `DECIMAL(1 + p - s, 0)` Flink's `LogicalTypeMerging.findRoundDecimalType` gives.
//! `TRUNCATE(d, r)` of a DECIMAL with a literal `r` has Flink's type for it (scale `r`,
//! `DECIMAL(1 + p - s + r, r)` when `r < s`); with places read from a column it keeps the
//! argument's scale, since a type cannot depend on a row.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Decimal128Array, Float64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    DataType, Decimal128Type, Float64Type, Int64Type, DECIMAL128_MAX_PRECISION,
};
use datafusion::arrow::datatypes::{Field, FieldRef};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};

/// The third argument the parser gives `TRUNCATE` when its places are a literal as written
/// (`handler/literals.rs`), so that every stage of planning gives the call one type.
pub const LITERAL_PLACES: &str = "__eddy_literal_places";

#[derive(Debug, PartialEq, Eq, Hash, Clone, Copy)]
enum Math {
    Log,
    Log2,
    Sqrt,
    Ceil,
    Floor,
    Truncate,
    Sign,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct FlinkMath {
    function: Math,
    signature: Signature,
    aliases: Vec<String>,
}

/// Every function of this module, for registration.
pub(super) fn all() -> Vec<Arc<ScalarUDF>> {
    [
        Math::Log,
        Math::Log2,
        Math::Sqrt,
        Math::Ceil,
        Math::Floor,
        Math::Truncate,
        Math::Sign,
    ]
    .into_iter()
    .map(|function| {
        let aliases = match function {
            Math::Ceil => vec!["ceiling".to_string()],
            _ => vec![],
        };
        Arc::new(ScalarUDF::from(FlinkMath {
            function,
            signature: Signature::user_defined(Volatility::Immutable),
            aliases,
        }))
    })
    .collect()
}

fn plan_error(msg: String) -> DataFusionError {
    DataFusionError::Plan(msg)
}

/// The type a value of type `t` is rounded in: itself for integers, decimals and
/// doubles; FLOAT and NULL as DOUBLE.
fn roundable(name: &str, t: &DataType) -> Result<DataType> {
    match t {
        t if t.is_integer() => Ok(t.clone()),
        DataType::Decimal128(..) | DataType::Float64 => Ok(t.clone()),
        DataType::Decimal32(p, s) | DataType::Decimal64(p, s) => Ok(DataType::Decimal128(*p, *s)),
        DataType::Float16 | DataType::Float32 | DataType::Null => Ok(DataType::Float64),
        DataType::Decimal256(..) => Ok(DataType::Float64),
        t => Err(plan_error(format!(
            "function {} takes a number, not {t}",
            name.to_uppercase()
        ))),
    }
}

/// `DECIMAL(p, s)` rounded to `r` places, as Flink types it.
fn rounded_decimal(p: u8, s: i8, r: i64) -> DataType {
    let (p, s) = (p as i64, s as i64);
    if r >= s {
        return DataType::Decimal128(p as u8, s as i8);
    }
    let r = r.max(0);
    let precision = (1 + p - s + r).clamp(1, DECIMAL128_MAX_PRECISION as i64);
    DataType::Decimal128(precision as u8, r as i8)
}

impl ScalarUDFImpl for FlinkMath {
    fn name(&self) -> &str {
        match self.function {
            Math::Log => "log",
            Math::Log2 => "log2",
            Math::Sqrt => "sqrt",
            Math::Ceil => "ceil",
            Math::Floor => "floor",
            Math::Truncate => "truncate",
            Math::Sign => "sign",
        }
    }

    fn aliases(&self) -> &[String] {
        &self.aliases
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let n = arg_types.len();
        let arity_ok = match self.function {
            Math::Log => n == 1 || n == 2,
            // A third argument is the parser's mark of literal places.
            Math::Truncate => (1..=3).contains(&n),
            _ => n == 1,
        };
        if !arity_ok {
            return Err(plan_error(format!(
                "function {} does not take {n} arguments",
                self.name().to_uppercase()
            )));
        }
        match self.function {
            Math::Log | Math::Log2 | Math::Sqrt => {
                for t in arg_types {
                    roundable(self.name(), t)?;
                }
                Ok(vec![DataType::Float64; n])
            }
            Math::Truncate if n >= 2 => {
                if !(arg_types[1].is_integer() || arg_types[1].is_null()) {
                    return Err(plan_error(format!(
                        "TRUNCATE takes its number of places as an integer, not {}",
                        arg_types[1]
                    )));
                }
                // The places keep their integer type: a cast would hide a literal from
                // `return_field_from_args`, which gives the result its scale from it.
                let places = match &arg_types[1] {
                    DataType::Null => DataType::Int64,
                    t => t.clone(),
                };
                let mut types = vec![roundable(self.name(), &arg_types[0])?, places];
                types.extend(arg_types.get(2).map(|_| DataType::Utf8));
                Ok(types)
            }
            _ => Ok(vec![roundable(self.name(), &arg_types[0])?]),
        }
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(match self.function {
            Math::Log | Math::Log2 | Math::Sqrt => DataType::Float64,
            Math::Ceil | Math::Floor => match &arg_types[0] {
                DataType::Decimal128(p, s) => rounded_decimal(*p, *s, 0),
                t => t.clone(),
            },
            Math::Truncate => match &arg_types[0] {
                DataType::Decimal128(p, s) if arg_types.len() == 1 => rounded_decimal(*p, *s, 0),
                t => t.clone(),
            },
            Math::Sign => arg_types[0].clone(),
        })
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let types: Vec<DataType> = args
            .arg_fields
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        let mut t = self.return_type(&types)?;
        let marked = args
            .scalar_arguments
            .get(2)
            .copied()
            .flatten()
            .is_some_and(|m| m.to_string() == LITERAL_PLACES);
        if types.len() == 3 && !marked {
            return Err(plan_error(
                "function TRUNCATE takes a number and its places, not 3 arguments".into(),
            ));
        }
        let places = args.scalar_arguments.get(1).copied().flatten();
        if let (Math::Truncate, true, Some(DataType::Decimal128(p, s)), Some(places)) =
            (self.function, marked, types.first(), places)
        {
            if let Ok(ScalarValue::Int64(Some(r))) = places.cast_to(&DataType::Int64) {
                t = rounded_decimal(*p, *s, r);
            }
        }
        Ok(Arc::new(Field::new(self.name(), t, true)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let all_scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let target = args.return_field.data_type().clone();
        let mut arrays = ColumnarValue::values_to_arrays(&args.args)?;
        if let (Math::Truncate, Some(places)) = (self.function, arrays.get_mut(1)) {
            *places = cast(places, &DataType::Int64)?;
        }
        let out = match self.function {
            Math::Log | Math::Log2 | Math::Sqrt => doubles(self.function, &arrays),
            Math::Ceil | Math::Floor | Math::Truncate | Math::Sign => {
                round(self.function, &arrays, &target)?
            }
        };
        match all_scalar {
            true => Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?)),
            false => Ok(ColumnarValue::Array(out)),
        }
    }
}

/// LOG, LOG2 and SQRT over DOUBLEs, as `java.lang.Math` computes them.
fn doubles(function: Math, arrays: &[ArrayRef]) -> ArrayRef {
    let x = arrays[arrays.len() - 1].as_primitive::<Float64Type>();
    let base = (arrays.len() == 2).then(|| arrays[0].as_primitive::<Float64Type>());
    let out: Float64Array = (0..x.len())
        .map(|r| {
            if x.is_null(r) || base.is_some_and(|b| b.is_null(r)) {
                return None;
            }
            let v = x.value(r);
            Some(match (function, base) {
                (Math::Log, Some(b)) => v.ln() / b.value(r).ln(),
                (Math::Log, None) => v.ln(),
                (Math::Log2, _) => v.ln() / std::f64::consts::LN_2,
                _ => v.sqrt(),
            })
        })
        .collect();
    Arc::new(out)
}

/// CEIL, FLOOR, TRUNCATE and SIGN, in the argument's own kind of number.
fn round(function: Math, arrays: &[ArrayRef], target: &DataType) -> Result<ArrayRef> {
    let places = |r: usize| -> Option<i64> {
        match arrays.get(1) {
            None => Some(0),
            Some(p) => {
                let p = p.as_primitive::<Int64Type>();
                (!p.is_null(r)).then(|| p.value(r))
            }
        }
    };
    let input = &arrays[0];
    match input.data_type() {
        DataType::Decimal128(_, s) => {
            let s = *s as i64;
            let values = input.as_primitive::<Decimal128Type>();
            let (_, target_scale) = match target {
                DataType::Decimal128(p, ts) => (*p, *ts as i64),
                _ => (0, s),
            };
            let out: Decimal128Array = (0..values.len())
                .map(|r| {
                    let v = (!values.is_null(r)).then(|| values.value(r))?;
                    let places = places(r)?;
                    Some(match function {
                        Math::Sign => v.signum() * 10i128.pow(s as u32),
                        _ => round_decimal(function, v, s, places, target_scale),
                    })
                })
                .collect();
            Ok(Arc::new(out.with_data_type(target.clone())))
        }
        DataType::Float64 => {
            let values = input.as_primitive::<Float64Type>();
            let out: Float64Array = (0..values.len())
                .map(|r| {
                    let v = (!values.is_null(r)).then(|| values.value(r))?;
                    Some(match function {
                        Math::Ceil => v.ceil(),
                        Math::Floor => v.floor(),
                        Math::Sign if v == 0.0 || v.is_nan() => v,
                        Math::Sign => v.signum(),
                        _ => truncate_double(v, places(r)?),
                    })
                })
                .collect();
            Ok(Arc::new(out))
        }
        t if t.is_integer() => {
            let wide = cast(input, &DataType::Int64)?;
            let values = wide.as_primitive::<Int64Type>();
            let out: datafusion::arrow::array::Int64Array = (0..values.len())
                .map(|r| {
                    let v = (!values.is_null(r)).then(|| values.value(r))?;
                    Some(match function {
                        Math::Sign => v.signum(),
                        Math::Truncate => match places(r)? {
                            p if p >= 0 => v,
                            p => {
                                let unit = 10i64
                                    .checked_pow(p.unsigned_abs() as u32)
                                    .unwrap_or(i64::MAX);
                                v / unit * unit
                            }
                        },
                        _ => v,
                    })
                })
                .collect();
            Ok(cast(&(Arc::new(out) as ArrayRef), t)?)
        }
        t => Err(plan_error(format!("rounding takes a number, not {t}"))),
    }
}

/// `v` (a decimal at scale `s`) rounded toward ±∞ (CEIL, FLOOR) or zero (TRUNCATE) to
/// `places` digits after the point, expressed at `target_scale`.
fn round_decimal(function: Math, v: i128, s: i64, places: i64, target_scale: i64) -> i128 {
    if places >= s {
        return rescale(v, s, target_scale);
    }
    let drop = (s - places).min(38) as u32;
    let unit = 10i128.pow(drop);
    let (mut q, rem) = (v / unit, v % unit);
    match function {
        Math::Ceil if rem > 0 => q += 1,
        Math::Floor if rem < 0 => q -= 1,
        _ => {}
    }
    // `q` counts units of 10^-places.
    rescale(q, places, target_scale)
}

/// `v` at scale `from` as a value at scale `to` (exact when `to >= from`).
fn rescale(v: i128, from: i64, to: i64) -> i128 {
    match to - from {
        0 => v,
        d if d > 0 => v.saturating_mul(10i128.pow(d.min(38) as u32)),
        d => v / 10i128.pow((-d).min(38) as u32),
    }
}

/// Java's `BigDecimal.valueOf(v).setScale(places, DOWN).doubleValue()`: truncation of the
/// shortest decimal that reads back as `v`, so 0.29 truncated to 2 places stays 0.29.
fn truncate_double(v: f64, places: i64) -> f64 {
    if !v.is_finite() {
        return v;
    }
    let text = format!("{v}");
    let (int_part, frac) = text.split_once('.').unwrap_or((&text, ""));
    let truncated = if places >= 0 {
        let keep = (places as usize).min(frac.len());
        format!("{int_part}.{}", &frac[..keep])
    } else {
        let digits = int_part.trim_start_matches('-');
        let zeroed = (places.unsigned_abs() as usize).min(digits.len());
        let sign = if int_part.starts_with('-') { "-" } else { "" };
        format!(
            "{sign}{}{}",
            &digits[..digits.len() - zeroed],
            "0".repeat(zeroed)
        )
    };
    truncated.trim_end_matches('.').parse().unwrap_or(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::{Field, FieldRef};
    use datafusion::logical_expr::ReturnFieldArgs;

    fn call(function: Math, args: Vec<ColumnarValue>) -> ArrayRef {
        let udf = all()
            .into_iter()
            .find(|u| u.inner().downcast_ref::<FlinkMath>().map(|f| f.function) == Some(function))
            .unwrap();
        let arg_fields: Vec<FieldRef> = args
            .iter()
            .map(|a| Arc::new(Field::new("a", a.data_type(), true)))
            .collect();
        let scalars: Vec<Option<ScalarValue>> = args
            .iter()
            .map(|a| match a {
                ColumnarValue::Scalar(s) => Some(s.clone()),
                ColumnarValue::Array(_) => None,
            })
            .collect();
        let scalar_refs: Vec<Option<&ScalarValue>> = scalars.iter().map(|s| s.as_ref()).collect();
        let return_field = udf
            .return_field_from_args(ReturnFieldArgs {
                arg_fields: &arg_fields,
                scalar_arguments: &scalar_refs,
            })
            .unwrap();
        udf.invoke_with_args(ScalarFunctionArgs {
            args,
            arg_fields,
            number_rows: 1,
            return_field,
            config_options: Default::default(),
        })
        .unwrap()
        .into_array(1)
        .unwrap()
    }

    fn text(a: &ArrayRef) -> String {
        datafusion::arrow::util::display::array_value_to_string(a, 0).unwrap()
    }

    fn dec(v: i128, p: u8, s: i8) -> ColumnarValue {
        ColumnarValue::Scalar(ScalarValue::Decimal128(Some(v), p, s))
    }

    fn double(v: f64) -> ColumnarValue {
        ColumnarValue::Scalar(ScalarValue::Float64(Some(v)))
    }

    fn int(v: i64) -> ColumnarValue {
        ColumnarValue::Scalar(ScalarValue::Int64(Some(v)))
    }

    #[test]
    fn logarithms_as_java_computes_them() {
        assert_eq!(text(&call(Math::Log, vec![double(1.0)])), "0.0");
        assert_eq!(
            text(&call(Math::Log, vec![double(10.0)])),
            "2.302585092994046"
        );
        assert_eq!(
            text(&call(Math::Log, vec![double(2.0), double(8.0)])),
            "3.0"
        );
        assert_eq!(
            text(&call(Math::Log, vec![double(1.0), double(8.0)])),
            "inf"
        );
        assert_eq!(
            text(&call(Math::Log2, vec![double(10.0)])),
            "3.3219280948873626"
        );
        assert_eq!(text(&call(Math::Sqrt, vec![double(-1.0)])), "NaN");
    }

    #[test]
    fn rounding_keeps_the_kind_of_number() {
        let ceil = call(Math::Ceil, vec![dec(12, 2, 1)]);
        assert_eq!(ceil.data_type(), &DataType::Decimal128(2, 0));
        assert_eq!(text(&ceil), "2");
        assert_eq!(text(&call(Math::Ceil, vec![dec(-12, 2, 1)])), "-1");
        assert_eq!(text(&call(Math::Floor, vec![dec(-12, 2, 1)])), "-2");
        assert_eq!(text(&call(Math::Floor, vec![double(1.8)])), "1.0");
        let seven = call(
            Math::Ceil,
            vec![ColumnarValue::Scalar(ScalarValue::Int32(Some(7)))],
        );
        assert_eq!(seven.data_type(), &DataType::Int32);
        // The scale stays the argument's: a type that depended on the literal could
        // differ between the logical and the physical plan.
        let literal = || ColumnarValue::Scalar(ScalarValue::Utf8(Some(LITERAL_PLACES.into())));
        let t = call(Math::Truncate, vec![dec(42324, 5, 3), int(2), literal()]);
        // Flink's TRUNCATE(42.324, 2): DECIMAL(5, 2), 42.32; past the scale it keeps it.
        assert_eq!(t.data_type(), &DataType::Decimal128(5, 2));
        assert_eq!(text(&t), "42.32");
        // Places the parser did not mark as written literally keep the scale.
        let t = call(Math::Truncate, vec![dec(42324, 5, 3), int(2)]);
        assert_eq!(
            (t.data_type(), text(&t)),
            (&DataType::Decimal128(5, 3), "42.320".into())
        );
        let t = call(Math::Truncate, vec![dec(42324, 5, 3), int(4), literal()]);
        assert_eq!(
            (t.data_type(), text(&t)),
            (&DataType::Decimal128(5, 3), "42.324".into())
        );
        assert_eq!(text(&call(Math::Truncate, vec![dec(-429, 3, 1)])), "-42");
        assert_eq!(
            text(&call(Math::Truncate, vec![double(0.29), int(2)])),
            "0.29"
        );
        assert_eq!(
            text(&call(Math::Truncate, vec![double(42.324), int(1)])),
            "42.3"
        );
        assert_eq!(
            text(&call(Math::Truncate, vec![int(4567), int(-2)])),
            "4500"
        );
        let sign = call(Math::Sign, vec![dec(25, 2, 1)]);
        assert_eq!(text(&sign), "1.0");
        assert_eq!(text(&call(Math::Sign, vec![int(-5)])), "-1");
        assert_eq!(text(&call(Math::Sign, vec![double(-0.5)])), "-1.0");
    }
}
