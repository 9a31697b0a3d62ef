//! What a Django project's settings say, as collectstatic would take it: the source roots its
//! `STATICFILES_FINDERS` walk (in their order: the first finder that has a file wins), and
//! what its `STORAGES["staticfiles"]` backend makes of them (see [`super::build`]).

use crate::django::DjangoSettings;
use crate::sources::SourceRoot;

/// The roots of the finders in `STATICFILES_FINDERS` order, and a warning for each finder
/// whose files sluice does not collect.
pub(crate) fn finder_roots(settings: &DjangoSettings) -> (Vec<SourceRoot>, Vec<String>) {
    let dirs = || {
        settings
            .staticfiles_dirs
            .iter()
            .map(|(prefix, path)| SourceRoot::new(path.clone(), prefix.clone()))
    };
    let apps = || {
        settings
            .app_static_dirs
            .iter()
            .map(|(_, path)| SourceRoot::new(path.clone(), None))
    };
    if settings.finder_kinds.is_empty() {
        // Django's own default: FileSystemFinder, then AppDirectoriesFinder.
        return (dirs().chain(apps()).collect(), Vec::new());
    }
    let mut roots = Vec::new();
    let mut warnings = Vec::new();
    for finder in &settings.finder_kinds {
        let with_ignores = |mut root: SourceRoot| {
            root.ignore = finder.ignore.clone();
            root
        };
        match finder.kind.as_str() {
            "filesystem" => roots.extend(dirs().map(with_ignores)),
            "app_directories" => roots.extend(apps().map(with_ignores)),
            // django-pipeline's finders find the bundles it built; sluice builds them.
            "pipeline" => {}
            "default_storage" => warnings.push(format!(
                "STATICFILES_FINDERS: {} finds files in the default (media) storage; sluice does \
                 not collect them (list the folder in `sources` in sluice.toml if they are static \
                 files)",
                finder.class
            )),
            _ => warnings.push(match &finder.error {
                Some(error) => format!(
                    "STATICFILES_FINDERS: {} could not be imported ({error}); the files it would \
                     find are not collected",
                    finder.class
                ),
                None => format!(
                    "STATICFILES_FINDERS: {} is not a finder sluice knows (not a FileSystemFinder \
                     or AppDirectoriesFinder); the files it finds are not collected (list their \
                     folders in `sources` in sluice.toml)",
                    finder.class
                ),
            }),
        }
    }
    // A root two finders both name is walked once, at its first place.
    let mut seen = std::collections::HashSet::new();
    roots.retain(|r: &SourceRoot| seen.insert((r.path.clone(), r.prefix.clone())));
    (roots, warnings)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::django::FinderInfo;

    fn settings(finders: &[(&str, &str)]) -> DjangoSettings {
        DjangoSettings {
            django_version: "6.1".into(),
            settings_file: None,
            static_root: None,
            static_url: None,
            staticfiles_dirs: vec![
                (None, PathBuf::from("/p/media")),
                (Some("v".into()), "/p/v".into()),
            ],
            app_static_dirs: vec![("admin".into(), PathBuf::from("/site/admin/static"))],
            finders: finders.iter().map(|(c, _)| c.to_string()).collect(),
            storage: None,
            ignore_patterns: Vec::new(),
            pipeline: None,
            installed_apps: Vec::new(),
            debug: None,
            finder_kinds: finders
                .iter()
                .map(|(class, kind)| FinderInfo {
                    class: class.to_string(),
                    kind: kind.to_string(),
                    ignore: if class.starts_with("pipeline.finders.FileSystem") {
                        vec!["*.css".into()]
                    } else {
                        Vec::new()
                    },
                    error: None,
                })
                .collect(),
            storage_features: None,
            app_paths: Vec::new(),
            template_dirs: Vec::new(),
            allowed_hosts: None,
        }
    }

    fn paths(roots: &[SourceRoot]) -> Vec<&str> {
        roots.iter().map(|r| r.path.to_str().unwrap()).collect()
    }

    #[test]
    fn finders_decide_the_roots_and_their_order() {
        let (roots, warnings) = finder_roots(&settings(&[
            (
                "django.contrib.staticfiles.finders.FileSystemFinder",
                "filesystem",
            ),
            (
                "django.contrib.staticfiles.finders.AppDirectoriesFinder",
                "app_directories",
            ),
        ]));
        assert_eq!(paths(&roots), ["/p/media", "/p/v", "/site/admin/static"]);
        assert_eq!(roots[1].prefix.as_deref(), Some("v"));
        assert!(warnings.is_empty());
        // No AppDirectoriesFinder: no app folders; apps first when listed first.
        let (roots, _) = finder_roots(&settings(&[(
            "django.contrib.staticfiles.finders.FileSystemFinder",
            "filesystem",
        )]));
        assert_eq!(paths(&roots), ["/p/media", "/p/v"]);
        let (roots, _) = finder_roots(&settings(&[
            (
                "django.contrib.staticfiles.finders.AppDirectoriesFinder",
                "app_directories",
            ),
            ("pipeline.finders.FileSystemFinder", "filesystem"),
            ("pipeline.finders.PipelineFinder", "pipeline"),
        ]));
        assert_eq!(paths(&roots), ["/site/admin/static", "/p/media", "/p/v"]);
        assert_eq!(roots[1].ignore, ["*.css"]);
        assert!(roots[0].ignore.is_empty());
    }

    #[test]
    fn unknown_finders_are_named_in_a_warning() {
        let (roots, warnings) = finder_roots(&settings(&[
            ("compressor.finders.CompressorFinder", "unknown"),
            (
                "django.contrib.staticfiles.finders.DefaultStorageFinder",
                "default_storage",
            ),
        ]));
        assert!(roots.is_empty());
        assert_eq!(warnings.len(), 2);
        assert!(
            warnings[0].contains("compressor.finders.CompressorFinder"),
            "{}",
            warnings[0]
        );
        assert!(
            warnings[1].contains("DefaultStorageFinder"),
            "{}",
            warnings[1]
        );
    }
}
