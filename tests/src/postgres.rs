//! A throwaway Postgres cluster for tests — real Postgres, no mock: `initdb`
//! in a temp dir, reachable only by a Unix socket in that dir (no TCP), run
//! as a non-root user (`postgres` when the tests run as root, as the server
//! refuses root), stopped when dropped.
//!
//! On a machine without Postgres, [`PgCluster::start`] returns `None` and
//! says once, on the terminal (past the test harness's capture), that the
//! Postgres tests were not run and how to run them — unless
//! `MICROPAY_REQUIRE_POSTGRES=1` (set by `.ci/run`), when a missing or
//! broken Postgres fails the test.

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::Command,
    sync::Once,
};

/// Set to `1` to make a missing Postgres a test failure.
pub const REQUIRE_ENV: &str = "MICROPAY_REQUIRE_POSTGRES";

/// A running throwaway cluster.
pub struct PgCluster {
    _dir: tempfile::TempDir,
    bin: PathBuf,
    data: PathBuf,
    socket: PathBuf,
    /// The database superuser (the OS user the server runs as).
    user: String,
    /// Run the server's tools as this user (when the tests run as root).
    run_as: Option<String>,
    running: bool,
    /// Server options beyond the socket and durability ones (TLS).
    extra: String,
    /// The TCP port, when the server listens on one (TLS clusters).
    port: Option<u16>,
    /// The throwaway CA that signed the server's certificate (TLS clusters).
    ca: Option<PathBuf>,
}

static SKIPPED: Once = Once::new();

fn required() -> bool {
    std::env::var(REQUIRE_ENV).is_ok_and(|v| v == "1")
}

/// The directory of Postgres's server programs: `$MICROPAY_PG_BIN`, else
/// Debian's newest `/usr/lib/postgresql/<version>/bin`, else `initdb`'s on
/// `PATH`.
fn find_bin() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("MICROPAY_PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut debian: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    debian.sort();
    if let Some((_, bin)) = debian.pop() {
        return Some(bin);
    }
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .find(|dir| dir.join("initdb").exists() && dir.join("pg_ctl").exists())
    })
}

fn output(cmd: &mut Command) -> Result<String, String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

impl PgCluster {
    /// Starts a cluster, or `None` when Postgres is not installed (see the
    /// module docs). Panics when it is installed but does not start.
    pub fn start() -> Option<PgCluster> {
        let Some(bin) = find_bin() else {
            let why = "Postgres is not installed (no initdb)";
            assert!(
                !required(),
                "{REQUIRE_ENV}=1 but {why}: apt-get install postgresql"
            );
            SKIPPED.call_once(|| {
                // straight to the terminal: libtest captures only print! macros
                let _ = writeln!(
                    std::io::stderr(),
                    "note: the Postgres tests were not run: {why}; install it (apt-get install postgresql) or run .ci/run, which does"
                );
            });
            return None;
        };
        match Self::try_start(bin) {
            Ok(cluster) => Some(cluster),
            Err(e) => panic!("Postgres is installed but a test cluster did not start: {e}"),
        }
    }

    fn try_start(bin: PathBuf) -> Result<PgCluster, String> {
        let root = output(Command::new("id").arg("-u"))? == "0";
        let run_as = root.then(|| "postgres".to_string());
        let user = match &run_as {
            Some(u) => u.clone(),
            None => output(Command::new("id").arg("-un"))?,
        };
        let dir = tempfile::Builder::new()
            .prefix("micropay-pg")
            .tempdir()
            .map_err(|e| e.to_string())?;
        let (data, socket) = (dir.path().join("data"), dir.path().join("socket"));
        std::fs::create_dir(&socket).map_err(|e| e.to_string())?;
        if let Some(u) = &run_as {
            // the server's user must reach its directories
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
                .map_err(|e| e.to_string())?;
            output(Command::new("chown").arg(u).arg(dir.path()).arg(&socket))?;
        }
        let mut cluster = PgCluster {
            _dir: dir,
            bin,
            data,
            socket,
            user,
            run_as,
            running: false,
            extra: String::new(),
            port: None,
            ca: None,
        };
        cluster.tool(
            "initdb",
            &[
                "-D",
                &cluster.data.display().to_string(),
                "--auth=trust",
                "--no-sync",
                "-U",
                &cluster.user.clone(),
            ],
        )?;
        cluster.run_server()?;
        Ok(cluster)
    }

    /// Starts the server on the cluster's data directory.
    fn run_server(&mut self) -> Result<(), String> {
        let options = format!(
            "-c listen_addresses='' -k {} -c fsync=on -c synchronous_commit=on {}",
            self.socket.display(),
            self.extra
        );
        let log = self.data.join("server.log").display().to_string();
        let started = self.tool(
            "pg_ctl",
            &[
                "-D",
                &self.data.display().to_string(),
                "-o",
                &options,
                "-l",
                &log,
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
        if let Err(e) = started {
            let tail = std::fs::read_to_string(&log).unwrap_or_default();
            return Err(format!("{e}\nserver log:\n{tail}"));
        }
        self.running = true;
        Ok(())
    }

    /// A cluster that also listens on `localhost` TCP, where it takes TLS
    /// connections only: its certificate (for the name `localhost`, not for
    /// `127.0.0.1`) is signed by a throwaway CA made here ([`PgCluster::ca`]).
    /// `None` when Postgres is not installed, as [`PgCluster::start`].
    pub fn start_tls() -> Option<PgCluster> {
        let mut cluster = Self::start()?;
        cluster.stop();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("no free port: {e}"));
        let (ca, cert, key) = throwaway_certificates();
        let write = |name: &str, text: &str| {
            let path = cluster.data.join(name);
            std::fs::write(&path, text).unwrap_or_else(|e| panic!("{name}: {e}"));
            path
        };
        let ca_file = cluster._dir.path().join("ca.pem");
        std::fs::write(&ca_file, ca).unwrap_or_else(|e| panic!("ca.pem: {e}"));
        write("server.crt", &cert);
        let key_file = write("server.key", &key);
        write(
            "pg_hba.conf",
            "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostssl all all ::1/128 trust\n",
        );
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600))
                .unwrap_or_else(|e| panic!("server.key: {e}"));
        }
        if let Some(u) = &cluster.run_as {
            output(Command::new("chown").arg("-R").arg(u).arg(&cluster.data))
                .unwrap_or_else(|e| panic!("chown: {e}"));
        }
        cluster.extra = format!(
            "-c listen_addresses=localhost -c port={port} -c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key"
        );
        cluster.port = Some(port);
        cluster.ca = Some(ca_file);
        cluster
            .run_server()
            .unwrap_or_else(|e| panic!("the TLS cluster did not start: {e}"));
        Some(cluster)
    }

    /// The server's port (its Unix socket's name carries it too).
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(5432)
    }

    /// The CA file (PEM) that signed a TLS cluster's certificate.
    pub fn ca(&self) -> &Path {
        self.ca.as_deref().expect("a TLS cluster (start_tls)")
    }

    /// The database superuser.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// Stops the server (fast: every connection is ended) and starts it
    /// again on the same data, as a restart or failover does.
    pub fn restart(&mut self) {
        self.stop();
        self.run_server()
            .unwrap_or_else(|e| panic!("Postgres did not start again: {e}"));
    }

    /// Ends every connection to database `name` but this one's
    /// (`pg_terminate_backend`), as an idle timeout or a pooler does.
    pub fn terminate_connections(&self, name: &str) -> usize {
        let ended = self.sql(
            "postgres",
            &format!(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                 WHERE datname = '{name}' AND pid <> pg_backend_pid()"
            ),
        );
        ended.trim().parse().unwrap_or(0)
    }

    /// Runs one of the server's programs (as the server's user).
    fn tool(&self, name: &str, args: &[&str]) -> Result<String, String> {
        let program = self.bin.join(name);
        let mut cmd = match &self.run_as {
            Some(u) => {
                let mut c = Command::new("runuser");
                c.args(["-u", u, "--"]).arg(&program);
                c
            }
            None => Command::new(&program),
        };
        cmd.args(args);
        output(&mut cmd)
    }

    /// The socket directory.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// A connection string for database `name` (libpq key=value form).
    pub fn url(&self, name: &str) -> String {
        format!(
            "host={} port={} user={} dbname={name}",
            self.socket.display(),
            self.port(),
            self.user
        )
    }

    /// A `postgresql://` URL for database `name` over the socket — the form
    /// the CLI's `--store` and `micropay serve`'s `store` take.
    pub fn postgres_url(&self, name: &str) -> String {
        format!(
            "postgresql://{}@/{name}?host={}&port={}",
            self.user,
            self.socket.display(),
            self.port()
        )
    }

    /// Creates database `name` and returns its connection string.
    pub fn create_database(&self, name: &str) -> String {
        let createdb = self.bin.join("createdb");
        let mut cmd = Command::new(createdb);
        cmd.args([
            "-h",
            &self.socket.display().to_string(),
            "-p",
            &self.port().to_string(),
            "-U",
            &self.user,
            name,
        ]);
        output(&mut cmd).unwrap_or_else(|e| panic!("createdb {name}: {e}"));
        self.url(name)
    }

    /// Runs `sql` in database `name` with `psql`.
    pub fn sql(&self, name: &str, sql: &str) -> String {
        let mut cmd = Command::new(self.bin.join("psql"));
        cmd.args([
            "-h",
            &self.socket.display().to_string(),
            "-p",
            &self.port().to_string(),
            "-U",
            &self.user,
            "-d",
            name,
            "-v",
            "ON_ERROR_STOP=1",
            "-tA",
            "-c",
            sql,
        ]);
        output(&mut cmd).unwrap_or_else(|e| panic!("psql: {e}"))
    }

    /// Stops the server (fast shutdown: open connections are closed).
    pub fn stop(&mut self) {
        if self.running {
            let data = self.data.display().to_string();
            let _ = self.tool("pg_ctl", &["-D", &data, "-m", "fast", "-w", "stop"]);
            self.running = false;
        }
    }
}

/// A CA, and a server certificate it signed for the name `localhost`, and
/// its key: PEM, made on the spot (nothing downloaded, nothing kept).
fn throwaway_certificates() -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca = CertificateParams::new(Vec::new()).expect("CA params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca.self_signed(&ca_key).expect("CA certificate");
    let key = KeyPair::generate().expect("server key");
    let server = CertificateParams::new(vec!["localhost".to_string()])
        .expect("server params")
        .signed_by(&key, &ca, &ca_key)
        .expect("server certificate");
    (ca.pem(), server.pem(), key.serialize_pem())
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        self.stop();
    }
}
