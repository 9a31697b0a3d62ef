//! The `sluice` Python package, as a user gets it: the wheel built by maturin from this
//! checkout, installed with pip into a fresh virtualenv with real Django (6.x, or 5.2 where no
//! Python 3.12 exists), django-pipeline, whitenoise and Jinja2.

mod support;

use std::process::Command;

use support::wheel::wheel_venv;
use support::{python_for_django, run_or_panic, venv_dir};

/// The packages the example site needs, Jinja2, and the wheel.
fn site_venv() -> std::path::PathBuf {
    let (_, line) = python_for_django();
    let mut requirements = support::example_requirements();
    requirements.push(line.requirement().to_owned());
    requirements.push("Jinja2>=3.1,<4".to_owned());
    let requirements: Vec<&str> = requirements.iter().map(String::as_str).collect();
    wheel_venv(&requirements)
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn the_wheel_puts_sluice_on_path_and_python_m_finds_it() {
    let python = site_venv();
    let bin = venv_dir(&python).join("bin");
    let version = format!("sluice {}", env!("CARGO_PKG_VERSION"));
    let out = run_or_panic(Command::new(bin.join("sluice")).arg("--version"), "sluice --version");
    assert_eq!(stdout(&out), version);
    let out = run_or_panic(
        Command::new(&python).args(["-m", "sluice", "--version"]),
        "python -m sluice --version",
    );
    assert_eq!(stdout(&out), version);
    // One version for crate and wheel.
    let out = run_or_panic(
        Command::new(&python).args([
            "-c",
            "import importlib.metadata as m, sluice; print(m.version('sluice')); print(sluice.find_sluice_bin())",
        ]),
        "the package's version",
    );
    let text = stdout(&out);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(env!("CARGO_PKG_VERSION")));
    assert_eq!(
        std::path::Path::new(lines.next().unwrap()),
        bin.join("sluice")
    );
}
