//! Appeal counts: their values at run time and how they are written for the show's locale.

pub mod feed;
mod format;
pub mod store;

pub use format::NumberFormat;

use crate::show::Show;
use std::collections::BTreeMap;

/// The current value of every counter, by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts(BTreeMap<String, u64>);

impl Counts {
    /// The starting values written in the show file.
    pub fn from_show(show: &Show) -> Counts {
        Counts(
            show.counters
                .iter()
                .map(|c| (c.id.clone(), c.value))
                .collect(),
        )
    }

    pub fn get(&self, id: &str) -> Option<u64> {
        self.0.get(id).copied()
    }

    /// Sets a counter that exists; false when there is no such counter.
    pub fn set(&mut self, id: &str, value: u64) -> bool {
        match self.0.get_mut(id) {
            Some(v) => {
                *v = value;
                true
            }
            None => false,
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> {
        self.0.iter().map(|(k, v)| (k.as_str(), *v))
    }
}
