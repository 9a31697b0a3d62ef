//! Where the backend listens, read off its command line.
//!
//! sluice's own server takes the public port (8000 by default, the one a Django developer
//! opens), so the backend must listen elsewhere, and the proxy must know where. A command
//! that says `{port}` gets a free port. One that names its own address
//! (`runserver 8711`, `gunicorn -b 127.0.0.1:8711`, `uvicorn --port 8711`) is proxied there.
//! One of the servers Django projects run that names none would listen on its default —
//! runserver's 8000, sluice's own — so sluice adds the address argument with `{port}`, as a
//! user would (`runserver` → `runserver 127.0.0.1:{port}`). Any other command is given the
//! port as `$PORT` and `{port}` and must listen there.
//!
//! Pure: argv in, argv and address out.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Where the backend of a command line listens, as far as sluice can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listens {
    /// The argv carries `{port}` (given, or added by sluice: `added` names what was added).
    Placeholder { host: IpAddr, added: Option<String> },
    /// The command names its own address: the proxy connects there.
    Named { host: IpAddr, port: u16 },
    /// Not a server sluice knows, and no `{port}`: it is told `$PORT` and must listen there.
    Unknown,
}

/// The servers whose address arguments sluice reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Server {
    /// Django's `runserver` (and django-extensions' `runserver_plus`): `[addr:]port`.
    Runserver,
    /// gunicorn: `-b/--bind HOST:PORT`.
    Gunicorn,
    /// uvicorn, daphne, `flask run`: `--port N` (`-p N`), `--host H` (daphne: `-b H`).
    PortFlag,
    /// hypercorn: `-b/--bind HOST:PORT`.
    Hypercorn,
}

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// The argv to run (with an address argument added where the server would otherwise take
/// sluice's port) and where it will listen.
pub fn plan(argv: &[String]) -> (Vec<String>, Listens) {
    let mut argv = argv.to_vec();
    if argv.iter().any(|a| a.contains("{port}")) {
        let host = placeholder_host(&argv);
        return (argv, Listens::Placeholder { host, added: None });
    }
    let Some((at, server)) = server(&argv) else {
        return (argv, Listens::Unknown);
    };
    let args = &argv[at + 1..];
    match server {
        Server::Runserver => {
            if let Some(addrport) = runserver_addrport(args) {
                return match parse_host_port(addrport, LOOPBACK) {
                    Some((host, port)) => (argv, Listens::Named { host, port }),
                    None => (argv, Listens::Unknown),
                };
            }
            let ipv6 = args.iter().any(|a| a == "-6" || a == "--ipv6");
            let added = if ipv6 {
                "[::1]:{port}"
            } else {
                "127.0.0.1:{port}"
            };
            argv.insert(at + 1, added.into());
            let host = if ipv6 {
                IpAddr::V6(Ipv6Addr::LOCALHOST)
            } else {
                LOOPBACK
            };
            let added = Some(added.to_string());
            (argv, Listens::Placeholder { host, added })
        }
        Server::Gunicorn | Server::Hypercorn => match option_value(args, &["-b", "--bind"]) {
            Some(bind) if bind.starts_with("unix:") || bind.starts_with("fd://") => {
                (argv, Listens::Unknown)
            }
            // gunicorn's default port is 8000; hypercorn's too.
            Some(bind) => match parse_bind(bind, 8000) {
                Some((host, port)) => (argv, Listens::Named { host, port }),
                None => (argv, Listens::Unknown),
            },
            None => {
                let added = ["-b".to_string(), "127.0.0.1:{port}".to_string()];
                argv.splice(at + 1..at + 1, added);
                let added = Some("-b 127.0.0.1:{port}".to_string());
                (
                    argv,
                    Listens::Placeholder {
                        host: LOOPBACK,
                        added,
                    },
                )
            }
        },
        Server::PortFlag => {
            let host = option_value(args, &["--host", "-h", "-b", "--bind"])
                .and_then(parse_ip)
                .map(connect_host)
                .unwrap_or(LOOPBACK);
            match option_value(args, &["--port", "-p"]) {
                Some(port) => match port.parse::<u16>() {
                    Ok(port) => (argv, Listens::Named { host, port }),
                    Err(_) => (argv, Listens::Unknown),
                },
                None => {
                    let added = ["--port".to_string(), "{port}".to_string()];
                    argv.splice(at + 1..at + 1, added);
                    let added = Some("--port {port}".to_string());
                    (argv, Listens::Placeholder { host, added })
                }
            }
        }
    }
}

/// The server a command line runs, and the index of the token naming it (its options follow).
fn server(argv: &[String]) -> Option<(usize, Server)> {
    argv.iter().enumerate().find_map(|(i, arg)| {
        let name = arg.rsplit('/').next().unwrap_or(arg);
        let kind = match name {
            "runserver" | "runserver_plus" => Server::Runserver,
            "gunicorn" => Server::Gunicorn,
            "hypercorn" => Server::Hypercorn,
            "uvicorn" | "daphne" => Server::PortFlag,
            // `flask run`: the options follow `run`.
            "flask" if argv.get(i + 1).map(String::as_str) == Some("run") => {
                return Some((i + 1, Server::PortFlag));
            }
            _ => return None,
        };
        Some((i, kind))
    })
}

/// runserver's positional `[addr:]port`, skipping its options and their values.
fn runserver_addrport(args: &[String]) -> Option<&str> {
    // The options of runserver (and of every management command) that take a value.
    const WITH_VALUE: &[&str] = &["--settings", "--pythonpath", "-v", "--verbosity"];
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if WITH_VALUE.contains(&arg.as_str()) {
            args.next();
        } else if !arg.starts_with('-') {
            return Some(arg);
        }
    }
    None
}

/// The value of the first of `names` in `args`: `-b X`, `--bind X`, `--bind=X`, `-bX`.
fn option_value<'a>(args: &'a [String], names: &[&str]) -> Option<&'a str> {
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        for name in names {
            if arg == name {
                return it.next().map(String::as_str);
            }
            if let Some(value) = arg.strip_prefix(name) {
                if name.starts_with("--") {
                    if let Some(value) = value.strip_prefix('=') {
                        return Some(value);
                    }
                } else if !value.is_empty() && name.len() == 2 {
                    return Some(value);
                }
            }
        }
    }
    None
}

/// Django's `[addr:]port`: `8000`, `0:8000`, `0.0.0.0:8000`, `[::1]:8000`, `localhost:8000`.
fn parse_host_port(text: &str, default_host: IpAddr) -> Option<(IpAddr, u16)> {
    let (host, port) = match text.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() => (Some(host), port),
        _ => (None, text),
    };
    let port: u16 = port.parse().ok()?;
    let host = match host {
        None => default_host,
        Some("0") => LOOPBACK,
        Some(h) => connect_host(parse_ip(h)?),
    };
    Some((host, port))
}

/// gunicorn's and hypercorn's bind: `HOST:PORT`, `HOST` (port 8000), `:PORT`, `[::1]:PORT`.
fn parse_bind(text: &str, default_port: u16) -> Option<(IpAddr, u16)> {
    if let Some(port) = text.strip_prefix(':') {
        return Some((LOOPBACK, port.parse().ok()?));
    }
    match text.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(':') && !port.contains(']') => {
            Some((connect_host(parse_ip(host)?), port.parse().ok()?))
        }
        _ => Some((connect_host(parse_ip(text)?), default_port)),
    }
}

/// An address a server is told to bind: an IP (bracketed for IPv6) or `localhost`.
fn parse_ip(text: &str) -> Option<IpAddr> {
    let bare = text.trim_start_matches('[').trim_end_matches(']');
    match bare {
        "localhost" => Some(LOOPBACK),
        _ => bare.parse().ok(),
    }
}

/// Where to connect to a server bound to `ip`: the loopback address for "every address".
fn connect_host(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) if v4.is_unspecified() => LOOPBACK,
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        other => other,
    }
}

/// The host of a `{port}` argument (`[::1]:{port}` connects over IPv6).
fn placeholder_host(argv: &[String]) -> IpAddr {
    argv.iter()
        .find_map(|a| {
            let at = a.find("{port}")?;
            let before = a[..at].strip_suffix(':')?;
            let host = before.rsplit(['=', ' ']).next()?;
            parse_ip(host).map(connect_host)
        })
        .unwrap_or(LOOPBACK)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planned(line: &str) -> (String, Listens) {
        let argv: Vec<String> = line.split(' ').map(String::from).collect();
        let (argv, listens) = plan(&argv);
        (argv.join(" "), listens)
    }

    fn named(host: &str, port: u16) -> Listens {
        Listens::Named {
            host: host.parse().unwrap(),
            port,
        }
    }

    #[test]
    fn runserver_without_an_address_is_given_one() {
        let (argv, listens) = planned("python manage.py runserver");
        assert_eq!(argv, "python manage.py runserver 127.0.0.1:{port}");
        assert_eq!(
            listens,
            Listens::Placeholder {
                host: LOOPBACK,
                added: Some("127.0.0.1:{port}".into())
            }
        );
        // Options before the address stay where they are; --ipv6 gets an IPv6 one.
        let (argv, _) = planned("python manage.py runserver --nothreading -6");
        assert_eq!(
            argv,
            "python manage.py runserver [::1]:{port} --nothreading -6"
        );
        let (argv, _) = planned("django-admin runserver --settings site.settings");
        assert_eq!(
            argv,
            "django-admin runserver 127.0.0.1:{port} --settings site.settings"
        );
    }

    #[test]
    fn an_address_in_the_command_is_where_the_proxy_connects() {
        let cases = [
            ("python manage.py runserver 8711", named("127.0.0.1", 8711)),
            (
                "python manage.py runserver 0:8711",
                named("127.0.0.1", 8711),
            ),
            (
                "python manage.py runserver 0.0.0.0:8711",
                named("127.0.0.1", 8711),
            ),
            (
                "python manage.py runserver --settings=a.b [::1]:8711",
                named("::1", 8711),
            ),
            (
                "python -m django runserver -v 2 localhost:9000",
                named("127.0.0.1", 9000),
            ),
            (
                "gunicorn -b 127.0.0.1:8711 site.wsgi",
                named("127.0.0.1", 8711),
            ),
            ("gunicorn --bind=:8711 site.wsgi", named("127.0.0.1", 8711)),
            ("gunicorn -b0.0.0.0 site.wsgi", named("127.0.0.1", 8000)),
            (
                "/venv/bin/hypercorn --bind [::]:8711 app",
                named("::1", 8711),
            ),
            (
                "uvicorn site.asgi:app --port 8711",
                named("127.0.0.1", 8711),
            ),
            (
                "daphne -b 0.0.0.0 -p 8711 site.asgi:app",
                named("127.0.0.1", 8711),
            ),
            (
                "flask run --host 127.0.0.2 --port=8711",
                named("127.0.0.2", 8711),
            ),
        ];
        for (line, want) in cases {
            let (argv, listens) = planned(line);
            assert_eq!(argv, line, "the command is kept as it is");
            assert_eq!(listens, want, "{line}");
        }
    }

    #[test]
    fn servers_without_an_address_get_the_placeholder_others_are_left_alone() {
        assert_eq!(
            planned("gunicorn site.wsgi").0,
            "gunicorn -b 127.0.0.1:{port} site.wsgi"
        );
        assert_eq!(
            planned("python -m uvicorn site.asgi:app").0,
            "python -m uvicorn --port {port} site.asgi:app"
        );
        assert_eq!(planned("flask run").0, "flask run --port {port}");
        // {port} given: nothing added; an IPv6 placeholder connects over IPv6.
        let (argv, listens) = planned("gunicorn -b [::1]:{port} app");
        assert_eq!(argv, "gunicorn -b [::1]:{port} app");
        assert_eq!(
            listens,
            Listens::Placeholder {
                host: "::1".parse().unwrap(),
                added: None
            }
        );
        // Unknown commands and unix sockets: $PORT it is.
        assert_eq!(planned("make run").1, Listens::Unknown);
        assert_eq!(planned("honcho start web").1, Listens::Unknown);
        assert_eq!(planned("gunicorn -b unix:/tmp/s app").1, Listens::Unknown);
        assert_eq!(
            planned("python manage.py runserver nonsense").1,
            Listens::Unknown
        );
    }
}
