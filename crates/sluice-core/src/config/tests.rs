//! Resolving configuration from files, flags and defaults.

use super::dev::resolve_dev;
use super::files::{discover, key_line, load_sluice_toml};
use super::*;

#[test]
fn key_lines_respect_sections() {
    let text =
        "[project]\nname = \"x\"\n\n[tool.sluice]\noutput = \"static\"\nsources = [\"media\"]\n";
    assert_eq!(key_line(text, Some("[tool.sluice]"), "sources"), Some(6));
    assert_eq!(key_line(text, Some("[tool.sluice]"), "name"), None);
    assert_eq!(key_line("output = 1\n", None, "output"), Some(1));
    assert_eq!(key_line("outputs = 1\n", None, "output"), None);
}

#[test]
fn parse_errors_name_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sluice.toml");
    std::fs::write(&file, "output = \"static\"\nsourcez = [\"media\"]\n").unwrap();
    let Err(Error::Config {
        location, message, ..
    }) = load_sluice_toml(&file)
    else {
        panic!("expected a config error");
    };
    assert_eq!(location.unwrap(), format!("{}:2:1", file.display()));
    assert!(message.contains("sourcez"), "{message}");
}

#[test]
fn flags_beat_files_beat_pyproject_beat_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join("sluice.toml"), "output = \"out-toml\"\n").unwrap();
    std::fs::write(
        root.join("pyproject.toml"),
        "[tool.sluice]\noutput = \"out-py\"\nsources = [\"assets\", { path = \"v\", prefix = \"vendor\" }]\n",
    )
    .unwrap();
    let sub = root.join("deep/er");
    std::fs::create_dir_all(&sub).unwrap();
    let config = Config::load(&sub, &Overrides::default()).unwrap();
    assert_eq!(config.project_dir, root);
    assert_eq!(config.output.value, root.join("out-toml"));
    assert_eq!(
        config.output.origin,
        Origin::File(root.join("sluice.toml"), Some(1))
    );
    assert_eq!(config.sources.value[1].prefix.as_deref(), Some("vendor"));
    assert_eq!(
        config.sources.origin,
        Origin::File(root.join("pyproject.toml"), Some(3))
    );
    assert_eq!(config.static_url.value, "/static/");
    assert_eq!(config.ignore.value, ["CVS", ".*", "*~"]);
    let flags = Overrides {
        output: Some("x".into()),
        no_default_ignore: true,
        ..Default::default()
    };
    let config = Config::load(&sub, &flags).unwrap();
    assert_eq!(config.output.value, sub.join("x"));
    assert!(config.ignore.value.is_empty());
}

#[test]
fn dev_keys_with_their_lines() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(
        root.join("pyproject.toml"),
        "[tool.sluice]\noutput = \"o\"\n\n[tool.sluice.dev]\nport = 8100\ncommand = [\"gunicorn\", \"-b\", \"127.0.0.1:{port}\", \"app\"]\n",
    )
    .unwrap();
    let config = Config::load(root, &Overrides::default()).unwrap();
    let command = config.dev.command.unwrap();
    assert_eq!(
        command.value,
        DevCommand::Argv(vec![
            "gunicorn".into(),
            "-b".into(),
            "127.0.0.1:{port}".into(),
            "app".into()
        ])
    );
    assert_eq!(
        command.origin,
        Origin::File(root.join("pyproject.toml"), Some(6))
    );
    assert_eq!(config.dev.port.value, 8100);
    assert_eq!(config.dev.host.value, "127.0.0.1");
    assert_eq!(config.dev.host.origin, Origin::Default);

    // A string runs through a shell only when asked to.
    std::fs::write(
        root.join("sluice.toml"),
        "output = \"o\"\n[dev]\ncommand = \"gunicorn app\"\n",
    )
    .unwrap();
    let Err(Error::Config { location, hint, .. }) = Config::load(root, &Overrides::default())
    else {
        panic!("a command string without shell = true must be refused");
    };
    assert_eq!(
        location.unwrap(),
        format!("{}:3", root.join("sluice.toml").display())
    );
    assert!(hint.unwrap().contains("shell = true"));
    std::fs::write(
        root.join("sluice.toml"),
        "output = \"o\"\n[dev]\ncommand = \"gunicorn -b :$PORT app\"\nshell = true\nhost = \"0.0.0.0\"\n",
    )
    .unwrap();
    let config = Config::load(root, &Overrides::default()).unwrap();
    assert_eq!(
        config.dev.command.unwrap().value,
        DevCommand::Shell("gunicorn -b :$PORT app".into())
    );
    assert_eq!(config.dev.host.value, "0.0.0.0");
    // sluice.toml's [dev] has no port: pyproject's still counts.
    assert_eq!(config.dev.port.value, 8100);
}

#[test]
fn django_projects_get_runserver_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(
        root.join("sluice.toml"),
        "output = \"o\"\nsources = [\"m\"]\npython = \"/opt/py/bin/python\"\n",
    )
    .unwrap();
    if std::env::var_os("DJANGO_SETTINGS_MODULE").is_none() {
        let config = Config::load(root, &Overrides::default()).unwrap();
        assert!(config.dev.command.is_none());
    }
    // A settings module but no manage.py: Django's own runner.
    let python = Value {
        value: "py".to_string(),
        origin: Origin::Default,
    };
    let dev = resolve_dev(&[], root, &python, Some("mysite.settings"), None).unwrap();
    assert_eq!(
        dev.command.unwrap().value,
        DevCommand::Argv(vec![
            "py".into(),
            "-m".into(),
            "django".into(),
            "runserver".into(),
            "--settings=mysite.settings".into(),
            "127.0.0.1:{port}".into()
        ])
    );
    std::fs::write(root.join("manage.py"), "").unwrap();
    let command = Config::load(root, &Overrides::default())
        .unwrap()
        .dev
        .command
        .unwrap();
    assert_eq!(command.origin, Origin::Default);
    assert_eq!(
        command.value,
        DevCommand::Argv(vec![
            "/opt/py/bin/python".into(),
            "manage.py".into(),
            "runserver".into(),
            "127.0.0.1:{port}".into()
        ])
    );
}

#[test]
fn bundles_compile_and_minify_from_pyproject() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let pyproject = root.join("pyproject.toml");
    std::fs::write(
        &pyproject,
        "[tool.sluice]\nsources = [\"media\"]\ncompile = false\n\n\
         [tool.sluice.bundles.js.app]\nfiles = [\"js/*.js\"]\noutput = \"js/app.js\"\n\n\
         [tool.sluice.build]\nminify = false\nbrowserslist = [\"chrome 100\", \"> 1%\"]\n",
    )
    .unwrap();
    let config = Config::load(root, &Overrides::default()).unwrap();
    let browsers = config.build.browserslist.as_ref().expect("browserslist");
    assert_eq!(browsers.value, ["chrome 100", "> 1%"]);
    assert_eq!(browsers.origin, Origin::File(pyproject.clone(), Some(11)));
    assert_eq!(config.bundles.len(), 1);
    let app = &config.bundles[0];
    assert_eq!(
        (app.kind, app.name.as_str(), app.output.as_str()),
        (crate::bundles::BundleKind::Js, "app", "js/app.js")
    );
    assert_eq!(app.origin, Origin::File(pyproject.clone(), Some(5)));
    assert!(config.compilers.value.is_empty());
    assert_eq!(
        config.compilers.origin,
        Origin::File(pyproject.clone(), Some(3))
    );
    assert!(!config.build.minify.value);
    assert_eq!(
        config.build.minify.origin,
        Origin::File(pyproject.clone(), Some(10))
    );
    // Defaults: every compiler, minify on, no bundles.
    let empty = tempfile::tempdir().unwrap();
    std::fs::write(empty.path().join("sluice.toml"), "").unwrap();
    let config = Config::load(empty.path(), &Overrides::default()).unwrap();
    assert!(config.bundles.is_empty());
    assert_eq!(config.compilers.value, CompilerKind::DEFAULT);
    assert!(config.build.minify.value);
    assert!(config.build.browserslist.is_none());
    // Not a list of strings: an error at its line.
    std::fs::write(
        empty.path().join("sluice.toml"),
        "[build]\nbrowserslist = \"defaults\"\n",
    )
    .unwrap();
    let error = Config::load(empty.path(), &Overrides::default()).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("`browserslist` in [build] must be a list"),
        "{error}"
    );
    std::fs::write(empty.path().join("sluice.toml"), "").unwrap();
    // Two bundles writing one output.
    std::fs::write(
        empty.path().join("sluice.toml"),
        "[bundles.css.a]\nfiles = []\noutput = \"x.css\"\n[bundles.css.b]\nfiles = []\noutput = \"x.css\"\n",
    )
    .unwrap();
    let Err(Error::Config { message, .. }) = Config::load(empty.path(), &Overrides::default())
    else {
        panic!("expected a config error");
    };
    assert!(message.contains("both write x.css"), "{message}");
}

/// The message, location and hint of a configuration error.
fn parts(error: Error) -> (String, Option<String>, Option<String>) {
    match error {
        Error::Config {
            message,
            location,
            hint,
        } => (message, location, hint),
        other => panic!("not a configuration error: {other}"),
    }
}

#[test]
fn a_missing_source_folder_names_where_it_came_from() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(
        root.join("sluice.toml"),
        "output = \"o\"\nsources = [\"medai\"]\n",
    )
    .unwrap();
    let config = Config::load(root, &Overrides::default()).unwrap();
    let (message, location, hint) = parts(config.check_sources().unwrap_err());
    assert_eq!(
        message,
        format!(
            "source folder {} does not exist",
            root.join("medai").display()
        )
    );
    assert_eq!(
        location.unwrap(),
        format!("{}:2", root.join("sluice.toml").display())
    );
    assert!(hint.unwrap().contains("fix `sources` in sluice.toml"));

    // From the flag: the flag is named, not a configuration file.
    let flags = Overrides {
        sources: vec![("nope".into(), None)],
        ..Default::default()
    };
    let config = Config::load(root, &flags).unwrap();
    let (_, location, hint) = parts(config.check_sources().unwrap_err());
    assert_eq!(location.unwrap(), "--source on the command line");
    let hint = hint.unwrap();
    assert!(hint.contains("the folder given with --source"), "{hint}");
    assert!(!hint.contains("configuration"), "{hint}");

    // A file where a folder should be.
    std::fs::write(root.join("medai"), "").unwrap();
    let config = Config::load(root, &Overrides::default()).unwrap();
    let (message, ..) = parts(config.check_sources().unwrap_err());
    assert!(message.ends_with("medai is not a folder"), "{message}");
    std::fs::remove_file(root.join("medai")).unwrap();
    std::fs::create_dir(root.join("medai")).unwrap();
    let config = Config::load(root, &Overrides::default()).unwrap();
    config.check_sources().unwrap();

    // The default `media` in a project that configures no sources.
    std::fs::write(root.join("sluice.toml"), "output = \"o\"\n").unwrap();
    let config = Config::load(root, &Overrides::default()).unwrap();
    let (message, location, hint) = parts(config.check_sources().unwrap_err());
    assert!(
        message.ends_with("(the default: no `sources` configured)"),
        "{message}"
    );
    assert_eq!(location, None);
    assert!(hint.unwrap().contains("set `sources`"));
}

#[test]
fn outside_any_project_the_missing_project_is_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let (project, layers, found) = discover(dir.path(), None).unwrap();
    if found {
        // A sluice.toml or manage.py above the temp folder: nothing to check here.
        return;
    }
    assert!(layers.is_empty());
    let error = source_error(&project.join("media"), false, &Origin::Default, false);
    let (message, location, hint) = parts(error);
    assert_eq!(
        message,
        format!(
            "no project here: no manage.py, sluice.toml or pyproject.toml with [tool.sluice] \
             in {} or any folder above",
            dir.path().display()
        )
    );
    assert_eq!(location, None);
    assert!(hint.unwrap().contains("the folder with manage.py"));
}

#[test]
fn editor_url_needs_a_path() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(
        root.join("sluice.toml"),
        "output = \"o\"\n[dev]\neditor_url = \"vscode://file/{path}:{line}:{column}\"\n",
    )
    .unwrap();
    let config = Config::load(root, &Overrides::default()).unwrap();
    let editor = config.dev.editor_url.unwrap();
    assert_eq!(editor.value, "vscode://file/{path}:{line}:{column}");
    assert_eq!(
        editor.origin,
        Origin::File(root.join("sluice.toml"), Some(3))
    );
    std::fs::write(
        root.join("sluice.toml"),
        "output = \"o\"\n[dev]\neditor_url = \"vscode://file/\"\n",
    )
    .unwrap();
    let (message, location, _) = parts(Config::load(root, &Overrides::default()).unwrap_err());
    assert!(message.contains("has no {path}"), "{message}");
    assert_eq!(
        location.unwrap(),
        format!("{}:3", root.join("sluice.toml").display())
    );
}

#[test]
fn bad_prefix_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("sluice.toml"),
        "sources = [{ path = \"m\", prefix = \"../x\" }]\n",
    )
    .unwrap();
    assert!(Config::load(dir.path(), &Overrides::default()).is_err());
}

#[test]
fn budgets_with_their_lines_and_errors_at_theirs() {
    use crate::budget::Measure;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let file = root.join("sluice.toml");
    std::fs::write(
        &file,
        "sources = [\"media\"]\n\n[build]\nhash = true\n\n[build.budgets]\n\
         \"css/site.min.css\" = \"40 kB br\"\n'js/**/*.js' = \"200 kB gzip total\"\n",
    )
    .unwrap();
    let config = Config::load(root, &Overrides::default()).unwrap();
    let budgets = &config.build.budgets;
    assert_eq!(budgets.len(), 2);
    assert_eq!(budgets[0].pattern.as_str(), "css/site.min.css");
    assert_eq!(
        (budgets[0].limit.bytes, budgets[0].limit.measure),
        (40_000, Measure::Brotli)
    );
    assert_eq!(budgets[0].origin, Origin::File(file.clone(), Some(7)));
    assert!(budgets[1].limit.total);
    assert_eq!(budgets[1].origin, Origin::File(file.clone(), Some(8)));

    // Under [tool.sluice] in pyproject.toml, as an inline table: the line of `budgets`.
    std::fs::remove_file(&file).unwrap();
    let pyproject = root.join("pyproject.toml");
    std::fs::write(
        &pyproject,
        "[tool.sluice]\nsources = [\"media\"]\n\n[tool.sluice.build]\n\
         budgets = { \"img/*.png\" = \"10 KiB\" }\n",
    )
    .unwrap();
    let config = Config::load(root, &Overrides::default()).unwrap();
    assert_eq!(config.build.budgets[0].limit.bytes, 10 * 1024);
    assert_eq!(
        config.build.budgets[0].origin,
        Origin::File(pyproject.clone(), Some(5))
    );
    std::fs::remove_file(&pyproject).unwrap();

    // A bad limit, a bad pattern, a limit that is no string: errors at their line.
    for (entry, says) in [
        ("\"css/a.css\" = \"40 kB brr\"", "unexpected \"brr\""),
        ("\"../outside.css\" = \"1 kB\"", "stay inside the output"),
        ("\"css/a.css\" = 40", "must be a string"),
    ] {
        std::fs::write(&file, format!("[build.budgets]\n\n{entry}\n")).unwrap();
        let (message, location, hint) =
            parts(Config::load(root, &Overrides::default()).unwrap_err());
        assert!(message.starts_with("budget "), "{message}");
        assert!(message.contains(says), "{entry}: {message}");
        assert_eq!(location, Some(format!("{}:3", file.display())), "{entry}");
        assert!(hint.is_some_and(|h| h.contains("200 kB gzip")));
    }
    std::fs::write(&file, "[build]\nbudgets = 3\n").unwrap();
    let (message, location, _) = parts(Config::load(root, &Overrides::default()).unwrap_err());
    assert!(message.contains("must be a table"), "{message}");
    assert_eq!(location, Some(format!("{}:2", file.display())));
}

#[test]
fn an_output_root_has_one_spelling() {
    use std::path::Path;
    for spelling in [
        "/p/static",
        "/p/static/",
        "/p/./static",
        "/p/sub/../static",
        "/p//static//",
    ] {
        assert_eq!(
            super::absolute_path(Path::new(spelling)),
            Path::new("/p/static"),
            "{spelling}"
        );
    }
    assert_eq!(super::absolute_path(Path::new("/../x")), Path::new("/x"));
}

#[test]
fn the_poll_key_forces_or_forbids_polling_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("media")).unwrap();
    let file = root.join("sluice.toml");
    for (text, want) in [
        ("poll = false", Some(super::PollSetting::Never)),
        ("poll = true", Some(super::PollSetting::Always(None))),
        ("poll = 250", Some(super::PollSetting::Always(Some(250)))),
        ("", None),
    ] {
        std::fs::write(&file, format!("sources = [\"media\"]\n{text}\n")).unwrap();
        let config = Config::load(root, &Overrides::default()).unwrap();
        assert_eq!(config.poll.as_ref().map(|v| v.value), want, "{text}");
        if let Some(poll) = &config.poll {
            assert_eq!(poll.origin, Origin::File(file.clone(), Some(2)));
        }
    }
    std::fs::write(&file, "sources = [\"media\"]\npoll = \"often\"\n").unwrap();
    let error = Config::load(root, &Overrides::default())
        .unwrap_err()
        .to_string();
    assert!(error.contains("invalid configuration"), "{error}");
}

/// `[compile]`: entries, templates and load paths with the line each is set on (relative
/// paths from the file's folder); the defaults: the nearest `node_modules` at or above the
/// project, then the sources; a misspelt key names its file, line and column.
#[test]
fn the_compile_table_and_its_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("site");
    std::fs::create_dir_all(root.join("media")).unwrap();
    std::fs::create_dir_all(dir.path().join("node_modules")).unwrap();
    let pyproject = root.join("pyproject.toml");
    std::fs::write(
        &pyproject,
        "[tool.sluice]\nsources = [\"media\"]\n\n[tool.sluice.compile]\n\
         entries = [\"css/*.scss\"]\ntemplates = [\"templates\"]\n",
    )
    .unwrap();
    let config = Config::load(&root, &Overrides::default()).unwrap();
    let c = &config.compile;
    assert_eq!(c.entries.value, ["css/*.scss"]);
    assert_eq!(c.entries.origin, Origin::File(pyproject.clone(), Some(5)));
    assert_eq!(c.templates.value, [root.join("templates")]);
    assert_eq!(
        c.load_paths.value,
        [dir.path().join("node_modules"), root.join("media")]
    );
    assert_eq!(c.load_paths.origin, Origin::Default);
    assert_eq!(config.compilers.value, CompilerKind::DEFAULT);

    std::fs::write(
        &pyproject,
        "[tool.sluice]\nsources = [\"media\"]\n\n[tool.sluice.compile]\n\
         load_paths = [\"vendor\"]\nenabled = false\n",
    )
    .unwrap();
    let config = Config::load(&root, &Overrides::default()).unwrap();
    assert_eq!(config.compile.load_paths.value, [root.join("vendor")]);
    assert!(config.compilers.value.is_empty());
    assert_eq!(
        config.compilers.origin,
        Origin::File(pyproject.clone(), Some(6))
    );

    std::fs::write(
        &pyproject,
        "[tool.sluice]\nsources = [\"media\"]\n\n[tool.sluice.compile]\nload_path = [\"x\"]\n",
    )
    .unwrap();
    let Err(Error::Config {
        location, message, ..
    }) = Config::load(&root, &Overrides::default())
    else {
        panic!("expected a config error");
    };
    assert!(message.contains("load_path"), "{message}");
    assert!(
        location.is_some_and(|l| l.starts_with(&pyproject.display().to_string())),
        "{message}"
    );
}

#[test]
fn the_publish_table_with_its_lines_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let toml = root.join("sluice.toml");
    std::fs::write(
        &toml,
        "output = \"o\"\n[publish]\nurl = \"s3://b/static\"\nmax_age = 300\nkeep = 5\nendpoint = \"http://127.0.0.1:9000\"\n",
    )
    .unwrap();
    let p = Config::load(root, &Overrides::default()).unwrap().publish;
    let url = p.url.unwrap();
    assert_eq!(url.value, "s3://b/static");
    assert_eq!(url.origin, Origin::File(toml.clone(), Some(3)));
    assert_eq!((p.max_age.value, p.keep.value), (300, 5));
    assert_eq!((p.concurrency.value, p.retries.value), (16, 3), "defaults");
    assert_eq!(p.endpoint.unwrap().value, "http://127.0.0.1:9000");
    assert!(p.serve_compressed.is_none() && p.region.is_none());

    for (text, wanted, line) in [
        (
            "[publish]\nsecret = \"x\"\n",
            "unknown key `secret` in [publish]",
            2,
        ),
        ("[publish]\n\nkeep = -1\n", "`keep` in [publish] must be", 3),
        (
            "[publish]\nserve_compressed = \"zstd\"\n",
            "not \"gzip\" or \"br\"",
            2,
        ),
        ("[publish]\nconcurrency = 0\n", "must be 1 or more", 2),
    ] {
        std::fs::write(&toml, format!("output = \"o\"\n{text}")).unwrap();
        let (message, location, _) = parts(Config::load(root, &Overrides::default()).unwrap_err());
        assert!(message.contains(wanted), "{message}");
        assert_eq!(
            location.unwrap(),
            format!("{}:{}", toml.display(), line + 1)
        );
    }
}
