//! Flink's restart strategies: whether a failed job restarts, and after how long.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use eddy_runtime::config::{restart, Configuration};

/// A job's restart strategy and what it has counted so far.
#[derive(Debug)]
pub enum RestartStrategy {
    None,
    FixedDelay {
        attempts: u64,
        delay: Duration,
        restarts: u64,
    },
    FailureRate {
        max_failures: usize,
        interval: Duration,
        delay: Duration,
        failures: VecDeque<Instant>,
    },
    ExponentialDelay {
        initial: Duration,
        max: Duration,
        multiplier: f64,
        reset_threshold: Duration,
        jitter: f64,
        attempts: u64,
        current: Duration,
        restarts: u64,
        last_failure: Option<Instant>,
    },
}

impl RestartStrategy {
    /// The strategy `restart-strategy.type` names; unset, Flink's default: exponential
    /// delay with checkpointing on, no restarts without.
    pub fn from_config(config: &Configuration, checkpointing: bool) -> Self {
        let kind = config.get_string(&restart::TYPE).to_ascii_lowercase();
        let kind = match kind.as_str() {
            "" if checkpointing => "exponential-delay",
            "" => "none",
            k => k,
        };
        match kind {
            "fixed-delay" | "fixeddelay" => RestartStrategy::FixedDelay {
                attempts: config.get_int(&restart::FIXED_DELAY_ATTEMPTS).max(0) as u64,
                delay: config.get_duration(&restart::FIXED_DELAY_DELAY),
                restarts: 0,
            },
            "failure-rate" | "failurerate" => RestartStrategy::FailureRate {
                max_failures: config.get_int(&restart::FAILURE_RATE_MAX_FAILURES).max(1) as usize,
                interval: config.get_duration(&restart::FAILURE_RATE_INTERVAL),
                delay: config.get_duration(&restart::FAILURE_RATE_DELAY),
                failures: VecDeque::new(),
            },
            "exponential-delay" | "exponentialdelay" => {
                let initial = config.get_duration(&restart::EXPONENTIAL_INITIAL_BACKOFF);
                RestartStrategy::ExponentialDelay {
                    initial,
                    max: config.get_duration(&restart::EXPONENTIAL_MAX_BACKOFF),
                    multiplier: config.get_float(&restart::EXPONENTIAL_MULTIPLIER).max(1.0),
                    reset_threshold: config.get_duration(&restart::EXPONENTIAL_RESET_THRESHOLD),
                    jitter: config
                        .get_float(&restart::EXPONENTIAL_JITTER)
                        .clamp(0.0, 1.0),
                    attempts: config.get_int(&restart::EXPONENTIAL_ATTEMPTS).max(0) as u64,
                    current: initial,
                    restarts: 0,
                    last_failure: None,
                }
            }
            _ => RestartStrategy::None,
        }
    }

    /// A failure happened at `now`: the delay before restarting, or `None` when the job
    /// must fail for good.
    pub fn on_failure(&mut self, now: Instant) -> Option<Duration> {
        match self {
            RestartStrategy::None => None,
            RestartStrategy::FixedDelay {
                attempts,
                delay,
                restarts,
            } => {
                if *restarts >= *attempts {
                    return None;
                }
                *restarts += 1;
                Some(*delay)
            }
            RestartStrategy::FailureRate {
                max_failures,
                interval,
                delay,
                failures,
            } => {
                failures.push_back(now);
                while failures
                    .front()
                    .is_some_and(|t| now.duration_since(*t) > *interval)
                {
                    failures.pop_front();
                }
                (failures.len() <= *max_failures).then_some(*delay)
            }
            RestartStrategy::ExponentialDelay {
                initial,
                max,
                multiplier,
                reset_threshold,
                jitter,
                attempts,
                current,
                restarts,
                last_failure,
            } => {
                if last_failure.is_some_and(|t| now.duration_since(t) >= *reset_threshold) {
                    *current = *initial;
                    *restarts = 0;
                }
                *last_failure = Some(now);
                if *restarts >= *attempts {
                    return None;
                }
                *restarts += 1;
                let base = *current;
                *current = Duration::from_secs_f64(
                    (current.as_secs_f64() * *multiplier).min(max.as_secs_f64()),
                );
                let spread = base.as_secs_f64() * *jitter;
                let offset = if spread > 0.0 {
                    rand::random_range(-spread..=spread)
                } else {
                    0.0
                };
                Some(Duration::from_secs_f64(
                    (base.as_secs_f64() + offset).max(0.0),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Configuration {
        let mut c = Configuration::new();
        for (k, v) in pairs {
            c.set(k, v).unwrap();
        }
        c
    }

    #[test]
    fn defaults_follow_flink() {
        assert!(matches!(
            RestartStrategy::from_config(&Configuration::new(), false),
            RestartStrategy::None
        ));
        assert!(matches!(
            RestartStrategy::from_config(&Configuration::new(), true),
            RestartStrategy::ExponentialDelay { .. }
        ));
    }

    #[test]
    fn fixed_delay_counts_attempts() {
        let mut s = RestartStrategy::from_config(
            &config(&[
                ("restart-strategy.type", "fixed-delay"),
                ("restart-strategy.fixed-delay.attempts", "2"),
                ("restart-strategy.fixed-delay.delay", "10 ms"),
            ]),
            false,
        );
        let now = Instant::now();
        assert_eq!(s.on_failure(now), Some(Duration::from_millis(10)));
        assert_eq!(s.on_failure(now), Some(Duration::from_millis(10)));
        assert_eq!(s.on_failure(now), None);
    }

    #[test]
    fn failure_rate_forgets_old_failures() {
        let mut s = RestartStrategy::from_config(
            &config(&[
                ("restart-strategy.type", "failure-rate"),
                (
                    "restart-strategy.failure-rate.max-failures-per-interval",
                    "1",
                ),
                ("restart-strategy.failure-rate.failure-rate-interval", "1 s"),
            ]),
            false,
        );
        let t0 = Instant::now();
        assert!(s.on_failure(t0).is_some());
        assert!(s.on_failure(t0 + Duration::from_millis(10)).is_none());
        assert!(s.on_failure(t0 + Duration::from_secs(5)).is_some());
    }

    #[test]
    fn exponential_delay_grows_to_its_maximum() {
        let mut s = RestartStrategy::from_config(
            &config(&[
                ("restart-strategy.type", "exponential-delay"),
                (
                    "restart-strategy.exponential-delay.initial-backoff",
                    "100 ms",
                ),
                ("restart-strategy.exponential-delay.max-backoff", "300 ms"),
                ("restart-strategy.exponential-delay.backoff-multiplier", "2"),
                ("restart-strategy.exponential-delay.jitter-factor", "0"),
            ]),
            true,
        );
        let now = Instant::now();
        let delays: Vec<_> = (0..4)
            .map(|_| s.on_failure(now).unwrap().as_millis())
            .collect();
        assert_eq!(delays, vec![100, 200, 300, 300]);
    }
}
