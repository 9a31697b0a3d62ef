//! What ships: every collected file under the name pages load it by — its Django-named copy
//! when hashing, else its own name — with the bytes a browser receives: the file, and its
//! `.gz`/`.br` copies when the build made them. Budgets ([`super::budget`]) and the build
//! report read it; it is made from the outputs as the build will leave them, before anything
//! moves.

use std::collections::{BTreeMap, HashMap};

use sluice_assets::django_manifest::{adjustable, hashed_name};

use crate::record::{Key, OutKind, PlanFact};

/// One output as the build leaves it: its path, bytes, identity and kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Out {
    pub path: String,
    pub len: u64,
    pub key: Option<Key>,
    pub kind: OutKind,
    /// Waiting in the staging folder (else in the output already).
    pub staged: bool,
}

/// One collected file as it ships.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shipped {
    /// Its logical path (`css/site.min.css`).
    pub logical: String,
    /// The output pages load (`css/site.min.3f2a…css` when hashing).
    pub served: String,
    pub raw: u64,
    /// Its `.gz` copy, when the build made one (none: compressing did not pay, the type is
    /// never compressed, or gzip is off).
    pub gzip: Option<u64>,
    pub brotli: Option<u64>,
    /// The md5 of the served copy's bytes, when the record knows it.
    pub key: Option<Key>,
}

/// Logical path → served name: the plan's name of a `*.css`/`*.js` file, `name.<md5[:12]>.ext`
/// of any other (`keys`: the md5 of every collected file), or the logical path itself
/// without hashing.
pub fn served_names(
    keys: &BTreeMap<String, Key>,
    plan: &BTreeMap<String, PlanFact>,
    hashing: bool,
) -> BTreeMap<String, String> {
    keys.iter()
        .map(|(logical, key)| {
            let served = if !hashing {
                logical.clone()
            } else if adjustable(logical).is_some()
                && let Some(planned) = plan.get(logical)
            {
                planned.hashed.clone()
            } else {
                hashed_name(logical, &key.hex()[..12])
            };
            (logical.clone(), served)
        })
        .collect()
}

/// Every file of `names` that has an output among `outputs`, in logical order.
pub fn shipped<'a>(
    names: &BTreeMap<String, String>,
    outputs: impl IntoIterator<Item = &'a Out>,
) -> Vec<Shipped> {
    #[derive(Default, Clone, Copy)]
    struct Sizes {
        raw: Option<(u64, Option<Key>)>,
        gzip: Option<u64>,
        brotli: Option<u64>,
    }
    let mut by_path: HashMap<&str, Sizes> = HashMap::new();
    for o in outputs {
        let base = |suffix: &str| o.path.strip_suffix(suffix).unwrap_or(&o.path);
        match o.kind {
            OutKind::Copy | OutKind::Hashed | OutKind::Dev => {
                by_path.entry(&o.path).or_default().raw = Some((o.len, o.key))
            }
            OutKind::Gzip => by_path.entry(base(".gz")).or_default().gzip = Some(o.len),
            OutKind::Brotli => by_path.entry(base(".br")).or_default().brotli = Some(o.len),
            OutKind::Zstd | OutKind::Manifest | OutKind::Record => {}
        }
    }
    names
        .iter()
        .filter_map(|(logical, served)| {
            let sizes = by_path.get(served.as_str())?;
            let (raw, key) = sizes.raw?;
            Some(Shipped {
                logical: logical.clone(),
                served: served.clone(),
                raw,
                gzip: sizes.gzip,
                brotli: sizes.brotli,
                key,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(path: &str, len: u64, kind: OutKind) -> Out {
        Out {
            path: path.into(),
            len,
            key: Some(Key::of(path.as_bytes())),
            kind,
            staged: false,
        }
    }

    #[test]
    fn the_hashed_copy_ships_with_its_compressed_copies() {
        let k = Key::of(b"png");
        let keys = BTreeMap::from([
            ("css/a.css".to_string(), Key::of(b"css")),
            ("img/x.png".to_string(), k),
        ]);
        let plan = BTreeMap::from([(
            "css/a.css".to_string(),
            PlanFact {
                hashed: "css/a.0123456789ab.css".into(),
                key: Key::of(b"rewritten"),
                len: 9,
                refs: Vec::new(),
            },
        )]);
        let names = served_names(&keys, &plan, true);
        let png = format!("img/x.{}.png", &k.hex()[..12]);
        assert_eq!(names["img/x.png"], png);
        let outputs = [
            out("css/a.css", 10, OutKind::Copy),
            out("css/a.css.br", 3, OutKind::Brotli),
            out("css/a.0123456789ab.css", 9, OutKind::Hashed),
            out("css/a.0123456789ab.css.br", 2, OutKind::Brotli),
            out("css/a.0123456789ab.css.gz", 4, OutKind::Gzip),
            out(&png, 50, OutKind::Hashed),
            out("staticfiles.json", 80, OutKind::Manifest),
        ];
        let shipped = shipped(&names, &outputs);
        assert_eq!(shipped.len(), 2);
        assert_eq!(shipped[0].served, "css/a.0123456789ab.css");
        assert_eq!(
            (shipped[0].raw, shipped[0].gzip, shipped[0].brotli),
            (9, Some(4), Some(2))
        );
        assert_eq!((shipped[1].raw, shipped[1].gzip), (50, None));
        // Without hashing, the file itself.
        let names = served_names(&keys, &plan, false);
        assert_eq!(names["css/a.css"], "css/a.css");
        assert_eq!(shipped_raw(&names, &outputs), [("css/a.css".into(), 10)]);
    }

    fn shipped_raw(names: &BTreeMap<String, String>, outputs: &[Out]) -> Vec<(String, u64)> {
        shipped(names, outputs)
            .into_iter()
            .map(|s| (s.served, s.raw))
            .collect()
    }
}
