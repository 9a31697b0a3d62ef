//! The outputs table, decoded on first use: it is the record's largest (an output root of
//! 20 000 sources hashed and compressed holds 50 000 outputs), and a build with nothing
//! changed, whose output folders are all untouched, never needs it. The file's section is
//! checked (xxh3) when the record loads, so a decode that fails later means a writer's bug;
//! it then reads as "nothing written", which is always safe. Changes the record's log holds
//! for it wait beside the encoded section and are applied when it is decoded. Its mutations
//! are tracked like every other table's ([`super::tracked`]).

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, OnceLock};

use super::OutEntry;
use super::tracked::{Table, Touched};

type Map = BTreeMap<String, OutEntry>;

#[derive(Clone, Default)]
pub struct Outputs {
    /// The record file's bytes and where the table's section is in them, until decoded.
    encoded: Option<(Arc<Vec<u8>>, std::ops::Range<usize>)>,
    /// Changes from the record's log, in order, for the encoded section.
    pending: Vec<(String, Option<OutEntry>)>,
    table: OnceLock<Table<String, OutEntry>>,
}

impl Outputs {
    pub(super) fn encoded(file: Arc<Vec<u8>>, section: std::ops::Range<usize>) -> Outputs {
        Outputs {
            encoded: Some((file, section)),
            pending: Vec::new(),
            table: OnceLock::new(),
        }
    }

    fn table(&self) -> &Table<String, OutEntry> {
        self.table.get_or_init(|| {
            // Only a table decoded from the saved record starts with nothing changed.
            let Some((file, section)) = &self.encoded else {
                return Table::default();
            };
            let mut table = Table::loaded(
                file.get(section.clone())
                    .and_then(|bytes| super::file::decode_outputs(bytes).ok())
                    .unwrap_or_default(),
            );
            for (key, value) in &self.pending {
                table.apply(key.clone(), *value);
            }
            table
        })
    }

    /// Decodes the table now (a no-op once decoded): for a thread of its own, while the
    /// caller does other work before its first lookup.
    pub fn decode(&self) {
        self.table();
    }

    fn table_mut(&mut self) -> &mut Table<String, OutEntry> {
        self.table();
        self.encoded = None;
        self.pending = Vec::new();
        self.table
            .get_mut()
            .expect("the table was decoded just above")
    }

    /// The encoded section, while the table was not decoded and the log changed nothing in
    /// it: saved again as it is.
    pub(super) fn undecoded(&self) -> Option<&[u8]> {
        match (&self.encoded, self.table.get()) {
            (Some((file, section)), None) if self.pending.is_empty() => file.get(section.clone()),
            _ => None,
        }
    }

    /// A change read from the record's log: applied now if the table is decoded, else when
    /// it is.
    pub(super) fn apply(&mut self, key: String, value: Option<OutEntry>) {
        match self.table.get_mut() {
            Some(table) => table.apply(key, value),
            None => self.pending.push((key, value)),
        }
    }

    /// What changed since the last save (`None`: nothing, the saved table was not decoded).
    pub fn touched(&self) -> Option<&Touched<String>> {
        if self.table.get().is_none() && self.encoded.is_some() {
            return None;
        }
        Some(self.table().touched())
    }

    pub(super) fn saved(&mut self) {
        if let Some(table) = self.table.get_mut() {
            table.saved();
        }
    }

    pub fn insert(&mut self, key: String, value: OutEntry) -> Option<OutEntry> {
        self.table_mut().insert(key, value)
    }

    pub fn remove<Q>(&mut self, key: &Q) -> Option<OutEntry>
    where
        String: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.table_mut().remove(key)
    }

    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut OutEntry>
    where
        String: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.table_mut().get_mut(key)
    }

    pub fn retain(&mut self, keep: impl FnMut(&String, &OutEntry) -> bool) {
        self.table_mut().retain(keep);
    }

    pub fn clear(&mut self) {
        self.table_mut().clear();
    }
}

impl Extend<(String, OutEntry)> for Outputs {
    fn extend<I: IntoIterator<Item = (String, OutEntry)>>(&mut self, iter: I) {
        self.table_mut().extend(iter);
    }
}

impl Deref for Outputs {
    type Target = Map;

    fn deref(&self) -> &Map {
        self.table()
    }
}

impl DerefMut for Outputs {
    fn deref_mut(&mut self) -> &mut Map {
        self.table_mut()
    }
}

impl From<Map> for Outputs {
    fn from(map: Map) -> Outputs {
        Outputs {
            encoded: None,
            pending: Vec::new(),
            table: OnceLock::from(Table::from(map)),
        }
    }
}

impl PartialEq for Outputs {
    fn eq(&self, other: &Outputs) -> bool {
        **self.table() == **other.table()
    }
}

impl std::fmt::Debug for Outputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.table().fmt(f)
    }
}
