//! The broker alone, through librdkafka with nothing else: produces the lines of the given
//! files to a topic, round-robin over its partitions, then consumes them all, and prints
//! records per second of each as JSON. `bench/kafka` runs it as the ceiling a Kafka source
//! can reach on the same broker.
//!
//! `kafka_ceiling <brokers> <topic> <partitions> <file>...`

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [brokers, topic, partitions, files @ ..] = args.as_slice() else {
        return Err("usage: kafka_ceiling <brokers> <topic> <partitions> <file>...".into());
    };
    let partitions: i32 = partitions.parse()?;
    let mut lines: Vec<Vec<u8>> = Vec::new();
    for file in files {
        let text = std::fs::read(file)?;
        lines.extend(
            text.split(|&b| b == b'\n')
                .filter(|l| !l.is_empty())
                .map(<[u8]>::to_vec),
        );
    }
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("linger.ms", "5")
        .set("queue.buffering.max.messages", "1000000")
        .create()?;
    let start = Instant::now();
    for (i, line) in lines.iter().enumerate() {
        let mut record = BaseRecord::<[u8], [u8]>::to(topic)
            .payload(line)
            .partition(i as i32 % partitions);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                    producer.poll(Duration::from_millis(10));
                    record = r;
                }
                Err((e, _)) => return Err(e.into()),
            }
        }
    }
    producer.flush(Duration::from_secs(120))?;
    let produce = lines.len() as f64 / start.elapsed().as_secs_f64();

    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "kafka-ceiling")
        .set("enable.auto.commit", "false")
        .create()?;
    let mut assignment = TopicPartitionList::new();
    for p in 0..partitions {
        assignment.add_partition_offset(topic, p, Offset::Beginning)?;
    }
    consumer.assign(&assignment)?;
    let start = Instant::now();
    let deadline = start + Duration::from_secs(300);
    let mut seen = 0usize;
    while seen < lines.len() && Instant::now() < deadline {
        if let Some(Ok(_)) = consumer.poll(Duration::from_millis(100)) {
            seen += 1;
        }
    }
    let consume = seen as f64 / start.elapsed().as_secs_f64();
    println!(
        "{{\"records\":{},\"consumed\":{seen},\"produce_per_s\":{produce:.0},\"consume_per_s\":{consume:.0}}}",
        lines.len()
    );
    Ok(())
}
