//! The one source of "now" for a node: every date and time it records or decides on (event
//! times, agreement validity, retention, year-to-date counters, deadlines) is read from a
//! [`Clock`] handed to it, never from the system directly, so that a test can set the day a
//! decision is taken on and move time forward instead of sleeping.
//!
//! ```
//! use silkgate_model::{Clock, Date};
//! let hand = silkgate_model::ManualClock::at_date(Date::new(2027, 3, 1).unwrap());
//! let clock: Clock = hand.clock();
//! assert_eq!(clock.today().to_string(), "2027-03-01");
//! hand.advance_days(30);
//! assert_eq!(clock.today().to_string(), "2027-03-31");
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use crate::Date;

/// Where a [`Clock`] reads the time.
#[derive(Debug, Clone)]
enum Source {
    System,
    Manual(Arc<AtomicI64>),
}

/// A cheap-to-clone source of the current time (Unix milliseconds, UTC). The system clock in
/// production; a [`ManualClock`]'s in tests and demos, shared by every clone.
#[derive(Debug, Clone)]
pub struct Clock {
    source: Source,
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

impl Clock {
    /// The machine's wall clock.
    pub fn system() -> Self {
        Self {
            source: Source::System,
        }
    }

    /// Now, as Unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        match &self.source {
            Source::System => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
                .unwrap_or(0),
            Source::Manual(ms) => ms.load(Ordering::SeqCst),
        }
    }

    /// Now, as Unix seconds (the granularity of the `at` columns and signed documents).
    pub fn now_unix(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    /// Today's calendar day (UTC).
    pub fn today(&self) -> Date {
        Date::from_unix_seconds(self.now_unix())
    }

    /// The calendar year (UTC) of today, for yearly counters and caps.
    pub fn year(&self) -> i32 {
        i32::from(self.today().year())
    }

    /// Whether this clock is driven by hand (a test or a demo), not the machine's.
    pub fn is_manual(&self) -> bool {
        matches!(self.source, Source::Manual(_))
    }
}

/// The hand that moves a manual [`Clock`]: tests keep it and move time forward instead of
/// sleeping; every clock it handed out sees the move at once.
#[derive(Debug, Clone)]
pub struct ManualClock {
    ms: Arc<AtomicI64>,
}

impl ManualClock {
    /// A clock standing at `unix_ms`.
    pub fn at_ms(unix_ms: i64) -> Self {
        Self {
            ms: Arc::new(AtomicI64::new(unix_ms)),
        }
    }

    /// A clock standing at noon (UTC) of `day`, so that moving it by hours does not change
    /// the day by surprise.
    pub fn at_date(day: Date) -> Self {
        Self::at_ms((day.days_since_epoch() * 86_400 + 12 * 3600) * 1000)
    }

    /// A clock standing at the machine's time now, for demos and benchmarks that then move it.
    pub fn starting_now() -> Self {
        Self::at_ms(Clock::system().now_ms())
    }

    /// A clock that reads this hand.
    pub fn clock(&self) -> Clock {
        Clock {
            source: Source::Manual(self.ms.clone()),
        }
    }

    /// Moves time forward (or back, with a negative value) by `ms` milliseconds.
    pub fn advance_ms(&self, ms: i64) {
        self.ms.fetch_add(ms, Ordering::SeqCst);
    }

    /// Moves time forward by whole seconds.
    pub fn advance_secs(&self, secs: i64) {
        self.advance_ms(secs * 1000);
    }

    /// Moves time forward by whole days.
    pub fn advance_days(&self, days: i64) {
        self.advance_secs(days * 86_400);
    }

    /// Sets the time to `unix_ms`.
    pub fn set_ms(&self, unix_ms: i64) {
        self.ms.store(unix_ms, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_every_clone_and_only_when_told() {
        let hand = ManualClock::at_date(Date::new(2028, 2, 28).unwrap());
        let (a, b) = (hand.clock(), hand.clock());
        assert!(a.is_manual());
        assert_eq!(a.now_unix(), b.now_unix());
        let before = a.now_ms();
        assert_eq!(a.now_ms(), before, "a manual clock stands still");
        hand.advance_days(1);
        assert_eq!(b.today().to_string(), "2028-02-29");
        hand.advance_secs(86_400);
        assert_eq!(a.today().to_string(), "2028-03-01");
        assert_eq!(a.year(), 2028);
        hand.set_ms(0);
        assert_eq!(b.today().to_string(), "1970-01-01");
    }

    #[test]
    fn the_system_clock_is_not_manual() {
        assert!(!Clock::system().is_manual());
        assert!(Clock::default().now_unix() > 0);
    }
}
