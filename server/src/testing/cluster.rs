//! A local cluster of real processes, for the cluster tests, `cargo xtask
//! cluster` and `cargo xtask bench cluster`: `wip-server` replicas sharing
//! the registry through Debian's `nats-server` with JetStream (one node or
//! a cluster: [`super::nats`]), and Debian's nginx balancing across them.
//! Everything listens on loopback and keeps its data under the directory
//! it is given; every child is killed when its handle drops.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free loopback port: bind `:0`, read it, release it for the child.
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Waits until something accepts connections on `addr`.
pub fn wait_listening(addr: SocketAddr, within: Duration) -> std::io::Result<()> {
    let deadline = Instant::now() + within;
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        if Instant::now() > deadline {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("nothing listens on {addr}"),
            ));
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    Ok(())
}

/// SIGKILL, then reap.
pub(super) fn kill(child: &mut Option<Child>) {
    if let Some(mut c) = child.take() {
        let _ = c.kill();
        let _ = c.wait();
    }
}

/// What every replica of a cluster is started with.
#[derive(Debug, Clone)]
pub struct ReplicaConfig {
    /// The `wip-server` binary.
    pub binary: PathBuf,
    /// `--registry`.
    pub registry: String,
    /// `--guests-dir`.
    pub guests_dir: PathBuf,
    /// `--assets-dir`.
    pub assets_dir: PathBuf,
    /// `--admin-token`.
    pub admin_token: String,
    /// `--tenants-file`.
    pub tenants_file: PathBuf,
    /// More flags.
    pub extra: Vec<String>,
}

/// One `wip-server` process.
#[derive(Debug)]
pub struct Replica {
    addr: SocketAddr,
    data_dir: PathBuf,
    child: Option<Child>,
}

impl Replica {
    /// Starts a replica with its local store in `data_dir`; returns once it
    /// has printed its address (its registry may still be catching up).
    pub fn start(config: &ReplicaConfig, data_dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(data_dir)?;
        let log = std::fs::File::create(data_dir.with_extension("log"))?;
        let mut child = Command::new(&config.binary)
            .args(["--addr", "127.0.0.1:0", "--registry", &config.registry])
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--guests-dir")
            .arg(&config.guests_dir)
            .arg("--assets-dir")
            .arg(&config.assets_dir)
            .args(["--admin-token", &config.admin_token])
            .arg("--tenants-file")
            .arg(&config.tenants_file)
            .args(&config.extra)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()?;
        let stdout = child.stdout.take().expect("piped");
        let mut log = std::fs::OpenOptions::new()
            .append(true)
            .open(data_dir.with_extension("log"))?;
        let (tx, rx) = std::sync::mpsc::channel();
        // Its address, then every line (its logs go to stdout) to the log.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("listening on http://") {
                    let _ = tx.send(url.trim_end_matches('/').to_owned());
                }
                let _ = writeln!(log, "{line}");
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(120))
            .map_err(|_| {
                std::io::Error::other(format!(
                    "the replica did not start; see {}",
                    data_dir.with_extension("log").display()
                ))
            })?
            .parse()
            .map_err(std::io::Error::other)?;
        Ok(Self {
            addr,
            data_dir: data_dir.to_owned(),
            child: Some(child),
        })
    }

    /// Its address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Its local store.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// `kill -9`.
    pub fn kill(&mut self) {
        kill(&mut self.child);
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Debian's nginx in front of replicas: round robin, and a request whose
/// replica fails to answer (refused, reset, timed out) is passed to the
/// next one, so a killed replica costs no failed call.
#[derive(Debug)]
pub struct Balancer {
    addr: SocketAddr,
    child: Option<Child>,
}

impl Balancer {
    /// Starts nginx with its config and temp paths under `dir`.
    pub fn start(dir: &Path, upstreams: &[SocketAddr]) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let port = free_port()?;
        let conf = dir.join("nginx.conf");
        std::fs::write(&conf, nginx_config(dir, port, upstreams))?;
        let child = Command::new("/usr/sbin/nginx")
            .arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let addr = ([127, 0, 0, 1], port).into();
        let mut balancer = Self {
            addr,
            child: Some(child),
        };
        if let Err(e) = wait_listening(addr, Duration::from_secs(10)) {
            balancer.stop();
            return Err(e);
        }
        Ok(balancer)
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops it: SIGTERM to the master, which stops its workers (a SIGKILL
    /// would leave them running, holding the port); SIGKILL after 5 s.
    pub fn stop(&mut self) {
        let Some(child) = &mut self.child else {
            return;
        };
        #[cfg(target_os = "linux")]
        if let Some(pid) = rustix::process::Pid::from_raw(child.id() as i32) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if matches!(child.try_wait(), Ok(Some(_))) {
                self.child = None;
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        kill(&mut self.child);
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The balancer's config. Calls are retried on the next replica when one
/// fails to answer, POSTs included: an invocation is a pure function of
/// its input, an upload is idempotent by digest, and re-activating the
/// active digest changes nothing.
pub fn nginx_config(dir: &Path, port: u16, upstreams: &[SocketAddr]) -> String {
    let d = dir.display();
    let servers: String = upstreams
        .iter()
        .map(|a| format!("        server {a} max_fails=1 fail_timeout=5s;\n"))
        .collect();
    format!(
        r#"daemon off;
master_process on;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    client_max_body_size 40m;
    # One request id from the balancer to the replica's log line: the
    # caller's `x-request-id`, or nginx's own 128-bit `$request_id`.
    map $http_x_request_id $wip_request_id {{
        default $http_x_request_id;
        "" $request_id;
    }}
    upstream wip {{
{servers}        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://wip;
            # The caller's Host: a replica answers only its own names
            # (DNS rebinding), and `wip`, the upstream's, is not one.
            proxy_set_header Host $http_host;
            proxy_set_header X-Request-Id $wip_request_id;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_connect_timeout 1s;
            proxy_next_upstream error timeout non_idempotent;
            proxy_next_upstream_tries 3;
            proxy_request_buffering on;
        }}
    }}
}}
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_balancer_lists_every_replica_and_passes_failed_calls_on() {
        let upstreams: Vec<SocketAddr> = vec![
            "127.0.0.1:7001".parse().unwrap(),
            "127.0.0.1:7002".parse().unwrap(),
        ];
        let conf = nginx_config(Path::new("/tmp/c"), 7000, &upstreams);
        assert!(conf.contains("listen 127.0.0.1:7000;"), "{conf}");
        assert!(conf.contains("server 127.0.0.1:7001 max_fails=1"), "{conf}");
        assert!(conf.contains("server 127.0.0.1:7002 max_fails=1"), "{conf}");
        assert!(
            conf.contains("proxy_next_upstream error timeout non_idempotent;"),
            "{conf}"
        );
        assert!(conf.contains("pid /tmp/c/nginx.pid;"), "{conf}");
        assert!(
            conf.contains("proxy_set_header X-Request-Id $wip_request_id;"),
            "{conf}"
        );
    }
}
