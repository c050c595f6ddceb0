//! From events to Arrow: [`EventLayout`] matches the table's declared physical columns
//! (any subset and order of `event_type`, `person`, `auction`, `bid`, and of each ROW's
//! fields) to the generator's values once, by name and ignoring case, and then fills
//! one column at a time from a batch of events. A column the generator cannot fill is
//! an error naming it at `CREATE TABLE`.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, Int16Array, Int32Array, Int64Array, Int8Array, PrimitiveArray, StringBuilder,
    StructArray,
};
use datafusion::arrow::buffer::{BooleanBuffer, NullBuffer, ScalarBuffer};
use datafusion::arrow::datatypes::{
    ArrowTimestampType, DataType, Fields, Schema, SchemaRef, TimeUnit, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType,
};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::{RecordBatch, RecordBatchOptions};

use super::model::{Event, EventKind};
use crate::error::{ConnectorError, Result};
use crate::types::sql_type_name;

/// How a ROW field's value is read from an event of the ROW's kind.
#[derive(Clone, Copy)]
enum Value {
    /// BIGINT.
    Long(fn(&Event) -> i64),
    /// VARCHAR.
    Text(for<'a> fn(&'a Event) -> &'a str),
    /// TIMESTAMP(p), from milliseconds since the epoch.
    Time(fn(&Event) -> i64),
}

impl Value {
    fn accepts(&self, data_type: &DataType) -> bool {
        match self {
            Value::Long(_) => *data_type == DataType::Int64,
            Value::Text(_) => *data_type == DataType::Utf8,
            Value::Time(_) => matches!(data_type, DataType::Timestamp(_, _)),
        }
    }

    fn sql_type(&self) -> &'static str {
        match self {
            Value::Long(_) => "BIGINT",
            Value::Text(_) => "VARCHAR",
            Value::Time(_) => "TIMESTAMP(3)",
        }
    }
}

/// A field of a ROW column, under Flink's name.
struct RowField {
    name: &'static str,
    value: Value,
}

const fn field(name: &'static str, value: Value) -> RowField {
    RowField { name, value }
}

const PERSON_FIELDS: [RowField; 8] = [
    field("id", Value::Long(|e| e.person.id)),
    field("name", Value::Text(|e| &e.person.name)),
    field("emailAddress", Value::Text(|e| &e.person.email_address)),
    field("creditCard", Value::Text(|e| &e.person.credit_card)),
    field("city", Value::Text(|e| e.person.city)),
    field("state", Value::Text(|e| e.person.state)),
    field("dateTime", Value::Time(|e| e.person.date_time)),
    field("extra", Value::Text(|e| &e.person.extra)),
];

const AUCTION_FIELDS: [RowField; 10] = [
    field("id", Value::Long(|e| e.auction.id)),
    field("itemName", Value::Text(|e| &e.auction.item_name)),
    field("description", Value::Text(|e| &e.auction.description)),
    field("initialBid", Value::Long(|e| e.auction.initial_bid)),
    field("reserve", Value::Long(|e| e.auction.reserve)),
    field("dateTime", Value::Time(|e| e.auction.date_time)),
    field("expires", Value::Time(|e| e.auction.expires)),
    field("seller", Value::Long(|e| e.auction.seller)),
    field("category", Value::Long(|e| e.auction.category)),
    field("extra", Value::Text(|e| &e.auction.extra)),
];

const BID_FIELDS: [RowField; 7] = [
    field("auction", Value::Long(|e| e.bid.auction)),
    field("bidder", Value::Long(|e| e.bid.bidder)),
    field("price", Value::Long(|e| e.bid.price)),
    field("channel", Value::Text(|e| &e.bid.channel)),
    field("url", Value::Text(|e| &e.bid.url)),
    field("dateTime", Value::Time(|e| e.bid.date_time)),
    field("extra", Value::Text(|e| &e.bid.extra)),
];

/// The physical columns, for error messages.
const COLUMNS_HINT: &str = "its columns are event_type INT, person ROW<...>, auction ROW<...> \
                            and bid ROW<...>, as in Flink's Nexmark DDL";

/// Where one declared column's values come from.
enum ColumnPlan {
    /// `event_type`, in the declared integer type.
    EventType(DataType),
    /// A ROW column, NULL unless the event is of `kind`; `values[i]` fills `fields[i]`.
    Row {
        kind: EventKind,
        fields: Fields,
        values: Vec<Value>,
    },
}

/// The declared physical columns, matched to the generator's values.
pub(crate) struct EventLayout {
    columns: Vec<ColumnPlan>,
}

impl EventLayout {
    /// Matches `schema` (the table's physical columns) or names the column that cannot
    /// be generated.
    pub(crate) fn try_new(schema: &Schema) -> Result<Self> {
        let columns = schema
            .fields()
            .iter()
            .map(|f| {
                let name = f.name();
                let data_type = f.data_type();
                let row = |kind, known: &[RowField]| {
                    plan_row(name, kind, known, data_type, f.is_nullable())
                };
                match name.to_ascii_lowercase().as_str() {
                    "event_type" => match data_type {
                        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => {
                            Ok(ColumnPlan::EventType(data_type.clone()))
                        }
                        _ => Err(unsupported(
                            "event_type is an INT: 0 person, 1 auction, 2 bid",
                            name,
                            data_type,
                        )),
                    },
                    "person" => row(EventKind::Person, &PERSON_FIELDS),
                    "auction" => row(EventKind::Auction, &AUCTION_FIELDS),
                    "bid" => row(EventKind::Bid, &BID_FIELDS),
                    _ => Err(unsupported(COLUMNS_HINT, name, data_type)),
                }
            })
            .collect::<Result<_>>()?;
        Ok(Self { columns })
    }

    /// A batch of `events` in `schema` (the schema [`try_new`](Self::try_new) matched).
    pub(crate) fn build(
        &self,
        schema: &SchemaRef,
        events: &[Event],
    ) -> std::result::Result<RecordBatch, ArrowError> {
        let columns = self
            .columns
            .iter()
            .map(|plan| match plan {
                ColumnPlan::EventType(data_type) => Ok(event_type_column(data_type, events)),
                ColumnPlan::Row {
                    kind,
                    fields,
                    values,
                } => row_column(*kind, fields, values, events),
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        RecordBatch::try_new_with_options(
            schema.clone(),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(events.len())),
        )
    }
}

fn unsupported(hint: &str, column: &str, data_type: &DataType) -> ConnectorError {
    ConnectorError::UnsupportedType {
        connector_or_format: format!("connector 'nexmark' ({hint})"),
        column: column.to_string(),
        data_type: sql_type_name(data_type),
    }
}

/// The ROW type Flink's DDL declares for a kind.
fn row_type_name(known: &[RowField]) -> String {
    let fields: Vec<String> = known
        .iter()
        .map(|f| format!("{} {}", f.name, f.value.sql_type()))
        .collect();
    format!("ROW<{}>", fields.join(", "))
}

fn plan_row(
    column: &str,
    kind: EventKind,
    known: &[RowField],
    data_type: &DataType,
    nullable: bool,
) -> Result<ColumnPlan> {
    let DataType::Struct(fields) = data_type else {
        let hint = format!("{column} is a {}", row_type_name(known));
        return Err(unsupported(&hint, column, data_type));
    };
    if !nullable {
        return Err(ConnectorError::UnsupportedType {
            connector_or_format: format!(
                "connector 'nexmark' ({column} is NULL for the other event types, so it cannot \
                 be NOT NULL)"
            ),
            column: column.to_string(),
            data_type: format!("{} NOT NULL", sql_type_name(data_type)),
        });
    }
    let values = fields
        .iter()
        .map(|f| {
            let path = format!("{column}.{}", f.name());
            let Some(known) = known.iter().find(|k| k.name.eq_ignore_ascii_case(f.name())) else {
                let names: Vec<&str> = known.iter().map(|k| k.name).collect();
                let hint = format!("the fields of {column} are {}", names.join(", "));
                return Err(unsupported(&hint, &path, f.data_type()));
            };
            if !known.value.accepts(f.data_type()) {
                let hint = format!("{column}.{} is a {}", known.name, known.value.sql_type());
                return Err(unsupported(&hint, &path, f.data_type()));
            }
            Ok(known.value)
        })
        .collect::<Result<_>>()?;
    Ok(ColumnPlan::Row {
        kind,
        fields: fields.clone(),
        values,
    })
}

fn event_type_column(data_type: &DataType, events: &[Event]) -> ArrayRef {
    let kinds = events.iter().map(|e| e.kind as u8);
    match data_type {
        DataType::Int8 => Arc::new(Int8Array::from_iter_values(kinds.map(|k| k as i8))),
        DataType::Int16 => Arc::new(Int16Array::from_iter_values(kinds.map(i16::from))),
        DataType::Int64 => Arc::new(Int64Array::from_iter_values(kinds.map(i64::from))),
        _ => Arc::new(Int32Array::from_iter_values(kinds.map(i32::from))),
    }
}

fn row_column(
    kind: EventKind,
    fields: &Fields,
    values: &[Value],
    events: &[Event],
) -> std::result::Result<ArrayRef, ArrowError> {
    let rows = events.len();
    let valid = NullBuffer::new(BooleanBuffer::collect_bool(rows, |i| {
        events[i].kind == kind
    }));
    if fields.is_empty() {
        return Ok(Arc::new(StructArray::new_empty_fields(rows, Some(valid))));
    }
    let children = fields
        .iter()
        .zip(values)
        .map(|(field, value)| field_column(field.data_type(), *value, kind, events, &valid))
        .collect();
    Ok(Arc::new(StructArray::try_new(
        fields.clone(),
        children,
        Some(valid),
    )?))
}

/// One field of a ROW column: the value for events of `kind`, NULL for the others.
fn field_column(
    data_type: &DataType,
    value: Value,
    kind: EventKind,
    events: &[Event],
    valid: &NullBuffer,
) -> ArrayRef {
    let longs = |get: fn(&Event) -> i64| -> Vec<i64> {
        events
            .iter()
            .map(|e| if e.kind == kind { get(e) } else { 0 })
            .collect()
    };
    match value {
        Value::Long(get) => Arc::new(Int64Array::new(
            ScalarBuffer::from(longs(get)),
            Some(valid.clone()),
        )),
        Value::Time(get) => {
            // EventLayout checked that the type is a timestamp.
            let (unit, tz) = match data_type {
                DataType::Timestamp(unit, tz) => (*unit, tz.clone()),
                _ => (TimeUnit::Millisecond, None),
            };
            let tz = &tz;
            let millis = longs(get);
            let nulls = Some(valid.clone());
            match unit {
                TimeUnit::Second => timestamps::<TimestampSecondType>(
                    millis.into_iter().map(|ms| ms.div_euclid(1000)).collect(),
                    nulls,
                    tz,
                ),
                TimeUnit::Millisecond => timestamps::<TimestampMillisecondType>(millis, nulls, tz),
                TimeUnit::Microsecond => timestamps::<TimestampMicrosecondType>(
                    millis
                        .into_iter()
                        .map(|ms| ms.saturating_mul(1000))
                        .collect(),
                    nulls,
                    tz,
                ),
                TimeUnit::Nanosecond => timestamps::<TimestampNanosecondType>(
                    millis
                        .into_iter()
                        .map(|ms| ms.saturating_mul(1_000_000))
                        .collect(),
                    nulls,
                    tz,
                ),
            }
        }
        Value::Text(get) => {
            let bytes = events
                .iter()
                .filter(|e| e.kind == kind)
                .map(|e| get(e).len())
                .sum();
            let mut builder = StringBuilder::with_capacity(events.len(), bytes);
            for e in events {
                if e.kind == kind {
                    builder.append_value(get(e));
                } else {
                    builder.append_null();
                }
            }
            Arc::new(builder.finish())
        }
    }
}

fn timestamps<T: ArrowTimestampType>(
    values: Vec<i64>,
    nulls: Option<NullBuffer>,
    tz: &Option<Arc<str>>,
) -> ArrayRef {
    Arc::new(
        PrimitiveArray::<T>::new(ScalarBuffer::from(values), nulls).with_timezone_opt(tz.clone()),
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::datatypes::{Field, Int64Type};

    use super::*;
    use crate::nexmark::model::{Auction, Bid, Person};

    fn ts() -> DataType {
        DataType::Timestamp(TimeUnit::Millisecond, None)
    }

    fn row(fields: &[(&str, DataType)]) -> DataType {
        DataType::Struct(Fields::from(
            fields
                .iter()
                .map(|(n, t)| Field::new(*n, t.clone(), true))
                .collect::<Vec<_>>(),
        ))
    }

    /// The physical columns of Flink's Nexmark DDL as the catalog declares them
    /// (identifiers folded to lower case).
    pub(crate) fn flink_schema() -> Schema {
        use DataType::{Int32, Int64, Utf8};
        Schema::new(vec![
            Field::new("event_type", Int32, true),
            Field::new(
                "person",
                row(&[
                    ("id", Int64),
                    ("name", Utf8),
                    ("emailaddress", Utf8),
                    ("creditcard", Utf8),
                    ("city", Utf8),
                    ("state", Utf8),
                    ("datetime", ts()),
                    ("extra", Utf8),
                ]),
                true,
            ),
            Field::new(
                "auction",
                row(&[
                    ("id", Int64),
                    ("itemname", Utf8),
                    ("description", Utf8),
                    ("initialbid", Int64),
                    ("reserve", Int64),
                    ("datetime", ts()),
                    ("expires", ts()),
                    ("seller", Int64),
                    ("category", Int64),
                    ("extra", Utf8),
                ]),
                true,
            ),
            Field::new(
                "bid",
                row(&[
                    ("auction", Int64),
                    ("bidder", Int64),
                    ("price", Int64),
                    ("channel", Utf8),
                    ("url", Utf8),
                    ("datetime", ts()),
                    ("extra", Utf8),
                ]),
                true,
            ),
        ])
    }

    fn sample_events() -> Vec<Event> {
        let person = Event {
            kind: EventKind::Person,
            person: Person {
                id: 1000,
                name: "Peter Jones".into(),
                city: "Bend",
                state: "OR",
                date_time: 1_500,
                ..Default::default()
            },
            ..Default::default()
        };
        let auction = Event {
            kind: EventKind::Auction,
            auction: Auction {
                id: 1000,
                item_name: "thing".into(),
                date_time: 2_000,
                expires: 9_999,
                ..Default::default()
            },
            ..Default::default()
        };
        let bid = Event {
            kind: EventKind::Bid,
            bid: Bid {
                auction: 1000,
                price: 4242,
                channel: "Google".into(),
                date_time: -1_500,
                ..Default::default()
            },
            ..Default::default()
        };
        vec![person, auction, bid]
    }

    #[test]
    fn builds_flink_schema() {
        let schema = Arc::new(flink_schema());
        let layout = EventLayout::try_new(&schema).unwrap();
        let batch = layout.build(&schema, &sample_events()).unwrap();
        assert_eq!(batch.num_rows(), 3);
        let kinds = batch
            .column(0)
            .as_primitive::<datafusion::arrow::datatypes::Int32Type>();
        assert_eq!(kinds.values().to_vec(), vec![0, 1, 2]);
        let person = batch.column(1).as_struct();
        assert_eq!(
            (person.is_valid(0), person.is_valid(1), person.is_valid(2)),
            (true, false, false)
        );
        assert_eq!(person.column(0).as_primitive::<Int64Type>().value(0), 1000);
        assert_eq!(person.column(1).as_string::<i32>().value(0), "Peter Jones");
        assert!(person.column(1).is_null(1));
        let bid = batch.column(3).as_struct();
        assert_eq!(bid.null_count(), 2);
        assert_eq!(bid.column(2).as_primitive::<Int64Type>().value(2), 4242);
        assert_eq!(bid.column(3).as_string::<i32>().value(2), "Google");
        let when = bid.column(5).as_primitive::<TimestampMillisecondType>();
        assert_eq!(when.value(2), -1_500);
        let auction = batch.column(2).as_struct();
        let expires = auction.column(6).as_primitive::<TimestampMillisecondType>();
        assert_eq!(expires.value(1), 9_999);
    }

    #[test]
    fn any_subset_order_case_and_timestamp_unit() {
        let schema = Arc::new(Schema::new(vec![
            Field::new(
                "BID",
                row(&[
                    (
                        "DateTime",
                        DataType::Timestamp(TimeUnit::Second, Some("UTC".into())),
                    ),
                    ("price", DataType::Int64),
                ]),
                true,
            ),
            Field::new("Event_Type", DataType::Int8, false),
            Field::new(
                "auction",
                row(&[("expires", DataType::Timestamp(TimeUnit::Microsecond, None))]),
                true,
            ),
        ]));
        let layout = EventLayout::try_new(&schema).unwrap();
        let batch = layout.build(&schema, &sample_events()).unwrap();
        let bid = batch.column(0).as_struct();
        let seconds = bid.column(0).as_primitive::<TimestampSecondType>();
        assert_eq!(seconds.value(2), -2, "floor of -1.5 s");
        assert_eq!(seconds.timezone(), Some("UTC"));
        assert_eq!(bid.column(1).as_primitive::<Int64Type>().value(2), 4242);
        let kinds = batch
            .column(1)
            .as_primitive::<datafusion::arrow::datatypes::Int8Type>();
        assert_eq!(kinds.values().to_vec(), vec![0, 1, 2]);
        let expires = batch.column(2).as_struct().column(0).clone();
        let expires = expires.as_primitive::<TimestampMicrosecondType>();
        assert_eq!(expires.value(1), 9_999_000);
        assert!(expires.is_null(0) && expires.is_null(2));
        let empty = layout.build(&schema, &[]).unwrap();
        assert_eq!(empty.num_rows(), 0);
    }

    #[test]
    fn columns_it_cannot_fill_are_named() {
        let check = |fields: Vec<Field>| {
            EventLayout::try_new(&Schema::new(fields))
                .err()
                .expect("rejected")
                .to_string()
        };
        let message = check(vec![Field::new("price", DataType::Int64, true)]);
        assert!(
            message.contains("column 'price'") && message.contains("event_type INT"),
            "{message}"
        );
        let message = check(vec![Field::new("event_type", DataType::Utf8, true)]);
        assert!(message.contains("'event_type' of type STRING"), "{message}");
        let message = check(vec![Field::new("person", DataType::Int64, true)]);
        assert!(message.contains("ROW<id BIGINT, name VARCHAR"), "{message}");
        let message = check(vec![Field::new(
            "person",
            row(&[("id", DataType::Int64)]),
            false,
        )]);
        assert!(message.contains("NOT NULL"), "{message}");
        let message = check(vec![Field::new(
            "bid",
            row(&[("bidder", DataType::Int64), ("tip", DataType::Int64)]),
            true,
        )]);
        assert!(
            message.contains("column 'bid.tip'") && message.contains("auction, bidder, price"),
            "{message}"
        );
        let message = check(vec![Field::new(
            "auction",
            row(&[("reserve", DataType::Int32)]),
            true,
        )]);
        assert!(
            message.contains("'auction.reserve' of type INT")
                && message.contains("reserve is a BIGINT"),
            "{message}"
        );
        let message = check(vec![Field::new(
            "bid",
            row(&[("datetime", DataType::Date32)]),
            true,
        )]);
        assert!(message.contains("TIMESTAMP(3)"), "{message}");
    }
}
