//! Where watermarks are merged: a subtask's watermark is the minimum over its input
//! channels. A finished channel no longer holds it back; neither does an idle one, until
//! it becomes active again and its watermark catches up with the merged one.

use crate::stream_element::StreamElement;
use crate::time::{Watermark, WatermarkStatus};

#[derive(Debug, Clone, Copy)]
struct Channel {
    watermark: Watermark,
    idle: bool,
    /// Whether the channel takes part in the minimum: false after it returns from idleness
    /// behind the merged watermark, until it catches up.
    aligned: bool,
    finished: bool,
}

/// Flink's `StatusWatermarkValve`.
#[derive(Debug)]
pub struct StatusWatermarkValve {
    channels: Vec<Channel>,
    last_emitted: Watermark,
    idle: bool,
}

impl StatusWatermarkValve {
    /// A valve over `num_channels` inputs, none of which has reported yet.
    pub fn new(num_channels: usize) -> Self {
        Self {
            channels: vec![
                Channel {
                    watermark: Watermark::MIN,
                    idle: false,
                    aligned: true,
                    finished: false,
                };
                num_channels
            ],
            last_emitted: Watermark::MIN,
            idle: false,
        }
    }

    fn emit_if_advanced(&mut self, candidate: Watermark, out: &mut Vec<StreamElement>) {
        if candidate > self.last_emitted {
            self.last_emitted = candidate;
            out.push(StreamElement::Watermark(candidate));
        }
    }

    fn advance(&mut self, out: &mut Vec<StreamElement>) {
        let live = self.channels.iter().filter(|c| !c.finished);
        let contributing: Vec<Watermark> = live
            .clone()
            .filter(|c| !c.idle && c.aligned)
            .map(|c| c.watermark)
            .collect();
        if let Some(min) = contributing.iter().min() {
            self.emit_if_advanced(*min, out);
        } else if live.clone().next().is_none() {
            self.emit_if_advanced(Watermark::MAX, out);
        } else if live.clone().all(|c| c.idle) {
            // Every live input is idle: Flink releases the highest watermark of all
            // channels, finished ones (at +inf) included.
            let max = self
                .channels
                .iter()
                .map(|c| c.watermark)
                .max()
                .unwrap_or(Watermark::MIN);
            self.emit_if_advanced(max, out);
        }
    }

    fn update_status(&mut self, out: &mut Vec<StreamElement>) {
        let all_idle = self.channels.iter().filter(|c| !c.finished).all(|c| c.idle)
            && self.channels.iter().any(|c| !c.finished);
        if all_idle != self.idle {
            self.idle = all_idle;
            out.push(StreamElement::WatermarkStatus(if all_idle {
                WatermarkStatus::Idle
            } else {
                WatermarkStatus::Active
            }));
        }
    }

    /// Records a channel's watermark; pushes the subtask's new watermark to `out` if it
    /// advanced.
    pub fn input_watermark(
        &mut self,
        channel: usize,
        watermark: Watermark,
        out: &mut Vec<StreamElement>,
    ) {
        let last = self.last_emitted;
        let c = &mut self.channels[channel];
        if watermark > c.watermark {
            c.watermark = watermark;
        }
        if !c.aligned && c.watermark >= last {
            c.aligned = true;
        }
        self.advance(out);
    }

    /// Records a channel going idle or becoming active.
    pub fn input_status(
        &mut self,
        channel: usize,
        status: WatermarkStatus,
        out: &mut Vec<StreamElement>,
    ) {
        let last = self.last_emitted;
        let c = &mut self.channels[channel];
        match status {
            WatermarkStatus::Idle => c.idle = true,
            WatermarkStatus::Active => {
                c.idle = false;
                c.aligned = c.watermark >= last;
            }
        }
        self.update_status(out);
        self.advance(out);
    }

    /// Records the end of a channel; pushes the new watermark to `out` if it advanced.
    pub fn channel_finished(&mut self, channel: usize, out: &mut Vec<StreamElement>) {
        self.channels[channel].finished = true;
        self.advance(out);
    }

    /// Whether every channel has ended.
    pub fn all_finished(&self) -> bool {
        self.channels.iter().all(|c| c.finished)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn watermarks(out: &mut Vec<StreamElement>) -> Vec<i64> {
        out.drain(..)
            .filter_map(|e| match e {
                StreamElement::Watermark(w) => Some(w.0),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn minimum_over_channels_and_finished_channels_release() {
        let mut v = StatusWatermarkValve::new(2);
        let mut out = Vec::new();
        v.input_watermark(0, Watermark(10), &mut out);
        assert!(watermarks(&mut out).is_empty());
        v.input_watermark(1, Watermark(5), &mut out);
        assert_eq!(watermarks(&mut out), vec![5]);
        v.input_watermark(1, Watermark(20), &mut out);
        assert_eq!(watermarks(&mut out), vec![10]);
        v.input_watermark(1, Watermark(3), &mut out);
        assert!(watermarks(&mut out).is_empty());
        v.channel_finished(0, &mut out);
        assert_eq!(watermarks(&mut out), vec![20]);
        assert!(!v.all_finished());
        v.channel_finished(1, &mut out);
        assert_eq!(watermarks(&mut out), vec![i64::MAX]);
        assert!(v.all_finished());
    }

    #[test]
    fn idle_channels_stop_holding_back_and_rejoin_once_caught_up() {
        let mut v = StatusWatermarkValve::new(2);
        let mut out = Vec::new();
        v.input_watermark(0, Watermark(100), &mut out);
        v.input_watermark(1, Watermark(5), &mut out);
        assert_eq!(watermarks(&mut out), vec![5]);
        // Channel 1 goes idle: channel 0 alone decides.
        v.input_status(1, WatermarkStatus::Idle, &mut out);
        assert_eq!(watermarks(&mut out), vec![100]);
        v.input_watermark(0, Watermark(150), &mut out);
        assert_eq!(watermarks(&mut out), vec![150]);
        // Channel 1 returns behind: it does not pull the watermark back...
        v.input_status(1, WatermarkStatus::Active, &mut out);
        v.input_watermark(1, Watermark(120), &mut out);
        v.input_watermark(0, Watermark(200), &mut out);
        assert_eq!(watermarks(&mut out), vec![200]);
        // ...and holds it back again once it has caught up.
        v.input_watermark(1, Watermark(210), &mut out);
        v.input_watermark(0, Watermark(300), &mut out);
        assert_eq!(watermarks(&mut out), vec![210]);
    }

    #[test]
    fn a_finished_input_releases_everything_once_the_others_idle() {
        let mut v = StatusWatermarkValve::new(2);
        let mut out = Vec::new();
        v.input_watermark(0, Watermark(5), &mut out);
        v.input_watermark(1, Watermark::MAX, &mut out);
        v.channel_finished(1, &mut out);
        assert_eq!(watermarks(&mut out), vec![5]);
        v.input_status(0, WatermarkStatus::Idle, &mut out);
        assert_eq!(watermarks(&mut out), vec![i64::MAX]);
    }

    #[test]
    fn all_inputs_idle_makes_the_subtask_idle() {
        let mut v = StatusWatermarkValve::new(2);
        let mut out = Vec::new();
        v.input_watermark(0, Watermark(7), &mut out);
        v.input_status(1, WatermarkStatus::Idle, &mut out);
        out.clear();
        v.input_status(0, WatermarkStatus::Idle, &mut out);
        assert!(matches!(
            out.as_slice(),
            [StreamElement::WatermarkStatus(WatermarkStatus::Idle)]
        ));
        out.clear();
        v.input_status(0, WatermarkStatus::Active, &mut out);
        assert!(matches!(
            out.as_slice(),
            [StreamElement::WatermarkStatus(WatermarkStatus::Active)]
        ));
    }
}
