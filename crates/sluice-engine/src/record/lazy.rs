//! The outputs table, decoded on first use: it is the record's largest (an output root of
//! 20 000 sources hashed and compressed holds 50 000 outputs), and a build with nothing
//! changed, whose output folders are all untouched, never needs it. The file's section is
//! checked (xxh3) when the record loads, so a decode that fails later means a writer's bug;
//! it then reads as "nothing written", which is always safe.

use std::collections::BTreeMap;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, OnceLock};

use super::OutEntry;

type Table = BTreeMap<String, OutEntry>;

#[derive(Clone, Default)]
pub struct Outputs {
    /// The record file's bytes and where the table's section is in them, until decoded.
    encoded: Option<(Arc<Vec<u8>>, std::ops::Range<usize>)>,
    table: OnceLock<Table>,
}

impl Outputs {
    pub(super) fn encoded(file: Arc<Vec<u8>>, section: std::ops::Range<usize>) -> Outputs {
        Outputs {
            encoded: Some((file, section)),
            table: OnceLock::new(),
        }
    }

    fn table(&self) -> &Table {
        self.table.get_or_init(|| match &self.encoded {
            Some((file, section)) => file
                .get(section.clone())
                .and_then(|bytes| super::file::decode_outputs(bytes).ok())
                .map(|entries| entries.into_iter().collect())
                .unwrap_or_default(),
            None => Table::new(),
        })
    }

    /// The encoded section, while the table was not decoded: saved again as it is.
    pub(super) fn undecoded(&self) -> Option<&[u8]> {
        match (&self.encoded, self.table.get()) {
            (Some((file, section)), None) => file.get(section.clone()),
            _ => None,
        }
    }
}

impl Deref for Outputs {
    type Target = Table;

    fn deref(&self) -> &Table {
        self.table()
    }
}

impl DerefMut for Outputs {
    fn deref_mut(&mut self) -> &mut Table {
        self.table();
        self.encoded = None;
        self.table
            .get_mut()
            .expect("the table was decoded just above")
    }
}

impl From<Table> for Outputs {
    fn from(table: Table) -> Outputs {
        Outputs {
            encoded: None,
            table: OnceLock::from(table),
        }
    }
}

impl PartialEq for Outputs {
    fn eq(&self, other: &Outputs) -> bool {
        self.table() == other.table()
    }
}

impl std::fmt::Debug for Outputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.table().fmt(f)
    }
}
