//! A record table that knows which of its keys changed since the record was last saved, so a
//! save appends just those to the record's log ([`super::log`]) instead of writing the whole
//! record again. Reading goes through `Deref` to the map. The mutations a pass makes
//! (`insert`, `remove`, `get_mut`, `entry`, `retain`, `extend`) note their keys; anything else
//! that borrows the map mutably (`DerefMut`: `values_mut`, `iter_mut`, a `&mut BTreeMap`
//! argument) counts as every key changed, which the next save answers with a whole record.
//! A table made from nothing (`Default`, `From<BTreeMap>`, `collect`) counts as all changed
//! too: only a table decoded from the saved record starts clean.

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet, btree_map};
use std::ops::{Deref, DerefMut};

/// Which keys changed since the last save.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Touched<K> {
    Keys(BTreeSet<K>),
    /// Any key may have: the table is saved whole.
    All,
}

impl<K: Ord + Clone> Touched<K> {
    pub fn clean() -> Touched<K> {
        Touched::Keys(BTreeSet::new())
    }

    pub fn note(&mut self, key: &K) {
        if let Touched::Keys(keys) = self
            && !keys.contains(key)
        {
            keys.insert(key.clone());
        }
    }

    pub fn is_clean(&self) -> bool {
        matches!(self, Touched::Keys(keys) if keys.is_empty())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table<K: Ord + Clone, V> {
    map: BTreeMap<K, V>,
    touched: Touched<K>,
}

impl<K: Ord + Clone, V> Default for Table<K, V> {
    fn default() -> Table<K, V> {
        Table {
            map: BTreeMap::new(),
            touched: Touched::All,
        }
    }
}

impl<K: Ord + Clone, V> From<BTreeMap<K, V>> for Table<K, V> {
    fn from(map: BTreeMap<K, V>) -> Table<K, V> {
        Table {
            map,
            touched: Touched::All,
        }
    }
}

impl<K: Ord + Clone, V> FromIterator<(K, V)> for Table<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Table<K, V> {
        Table::from(iter.into_iter().collect::<BTreeMap<K, V>>())
    }
}

impl<K: Ord + Clone, V> Table<K, V> {
    /// A table as the saved record holds it: nothing changed yet.
    pub(super) fn loaded(map: BTreeMap<K, V>) -> Table<K, V> {
        Table {
            map,
            touched: Touched::clean(),
        }
    }

    pub fn touched(&self) -> &Touched<K> {
        &self.touched
    }

    /// After a save: what is in memory is what the record holds.
    pub(super) fn saved(&mut self) {
        self.touched = Touched::clean();
    }

    /// Applies a change read from the log, without noting it (it is saved already).
    pub(super) fn apply(&mut self, key: K, value: Option<V>) {
        match value {
            Some(v) => self.map.insert(key, v),
            None => self.map.remove(&key),
        };
    }

    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        self.touched.note(&key);
        self.map.insert(key, value)
    }

    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let (key, value) = self.map.remove_entry(key)?;
        self.touched.note(&key);
        Some(value)
    }

    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let (k, _) = self.map.get_key_value(key)?;
        self.touched.note(&k.clone());
        self.map.get_mut(key)
    }

    pub fn entry(&mut self, key: K) -> btree_map::Entry<'_, K, V> {
        self.touched.note(&key);
        self.map.entry(key)
    }

    /// Keeps the entries `keep` says yes to (it sees each value, and cannot change it).
    pub fn retain(&mut self, mut keep: impl FnMut(&K, &V) -> bool) {
        let touched = &mut self.touched;
        self.map.retain(|k, v| {
            let kept = keep(k, v);
            if !kept {
                touched.note(k);
            }
            kept
        });
    }

    pub fn clear(&mut self) {
        if !self.map.is_empty() {
            self.touched = Touched::All;
        }
        self.map.clear();
    }
}

impl<K: Ord + Clone, V> Extend<(K, V)> for Table<K, V> {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl<K: Ord + Clone, V> Deref for Table<K, V> {
    type Target = BTreeMap<K, V>;

    fn deref(&self) -> &BTreeMap<K, V> {
        &self.map
    }
}

impl<K: Ord + Clone, V> DerefMut for Table<K, V> {
    fn deref_mut(&mut self) -> &mut BTreeMap<K, V> {
        self.touched = Touched::All;
        &mut self.map
    }
}

impl<'a, K: Ord + Clone, V> IntoIterator for &'a Table<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = btree_map::Iter<'a, K, V>;

    fn into_iter(self) -> Self::IntoIter {
        self.map.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(t: &Table<String, u8>) -> Vec<&str> {
        match t.touched() {
            Touched::Keys(k) => k.iter().map(String::as_str).collect(),
            Touched::All => vec!["*"],
        }
    }

    #[test]
    fn each_mutation_notes_its_key_and_a_blind_one_notes_all() {
        let mut t = Table::loaded(BTreeMap::from([("a".to_string(), 1), ("b".into(), 2)]));
        assert!(t.touched().is_clean());
        t.insert("c".into(), 3);
        t.remove("zz");
        t.remove("a");
        *t.get_mut("b").unwrap() += 1;
        t.retain(|k, _| k != "c");
        assert_eq!(keys(&t), ["a", "b", "c"]);
        assert_eq!(t.len(), 1);
        t.saved();
        t.extend([("d".to_string(), 4)]);
        *t.entry("e".into()).or_default() = 5;
        assert_eq!(keys(&t), ["d", "e"]);
        t.values_mut().for_each(|v| *v = 0);
        assert_eq!(keys(&t), ["*"]);
        assert_eq!(keys(&Table::default()), ["*"]);
    }
}
