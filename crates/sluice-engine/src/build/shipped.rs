//! What ships: every collected file under the name pages load it by — its Django-named copy
//! when hashing, else its own name — with the bytes a browser receives: the file, and its
//! `.gz`/`.br` copies when the build made them. Budgets ([`super::budget`]) and the build
//! report read it; it is made from the outputs the build decided on, before anything moves.

use std::collections::{BTreeMap, HashMap};

use sluice_assets::compress::Encoding;
use sluice_assets::django_manifest::{adjustable, hashed_name};

use super::outputs::{Desired, Kind};
use crate::record::{Key, PlanFact};

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
    /// The md5 of the served copy's bytes.
    pub key: Key,
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
    outputs: impl IntoIterator<Item = &'a Desired>,
) -> Vec<Shipped> {
    #[derive(Default, Clone, Copy)]
    struct Sizes {
        raw: Option<(u64, Key)>,
        gzip: Option<u64>,
        brotli: Option<u64>,
    }
    let mut by_path: HashMap<&str, Sizes> = HashMap::new();
    for d in outputs {
        match d.kind {
            Kind::Raw { .. } => by_path.entry(&d.path).or_default().raw = Some((d.len, d.key)),
            Kind::Encoded(encoding) => {
                let base = &d.path[..d.path.len() - encoding.suffix().len()];
                let sizes = by_path.entry(base).or_default();
                match encoding {
                    Encoding::Gzip => sizes.gzip = Some(d.len),
                    Encoding::Brotli => sizes.brotli = Some(d.len),
                    #[cfg(feature = "zstd")]
                    Encoding::Zstd => {}
                }
            }
            Kind::Manifest | Kind::Record => {}
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

    fn desired(path: &str, len: u64, kind: Kind) -> Desired {
        Desired {
            path: path.into(),
            key: Key::of(path.as_bytes()),
            len,
            kind,
            copy: 0,
            source: None,
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
            desired("css/a.css", 10, Kind::Raw { hashed: false }),
            desired("css/a.css.br", 3, Kind::Encoded(Encoding::Brotli)),
            desired("css/a.0123456789ab.css", 9, Kind::Raw { hashed: true }),
            desired(
                "css/a.0123456789ab.css.br",
                2,
                Kind::Encoded(Encoding::Brotli),
            ),
            desired(
                "css/a.0123456789ab.css.gz",
                4,
                Kind::Encoded(Encoding::Gzip),
            ),
            desired(&png, 50, Kind::Raw { hashed: true }),
            desired("staticfiles.json", 80, Kind::Manifest),
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

    fn shipped_raw(names: &BTreeMap<String, String>, outputs: &[Desired]) -> Vec<(String, u64)> {
        shipped(names, outputs)
            .into_iter()
            .map(|s| (s.served, s.raw))
            .collect()
    }
}
