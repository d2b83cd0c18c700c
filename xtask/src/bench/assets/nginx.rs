//! nginx for `cargo xtask bench assets`: configured as a CDN origin would be
//! (precompressed siblings, `sendfile`, `open_file_cache`, the same caching
//! and nosniff headers), run as a child process on a free loopback port with
//! its config and temp paths in a temp dir.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

/// nginx's brotli_static module from `libnginx-mod-http-brotli-static`.
pub(super) const BROTLI_MODULE: &str = "/usr/lib/nginx/modules/ngx_http_brotli_static_module.so";

/// Starts Debian's nginx serving `site`; returns once it accepts connections.
/// The temp dir holds its config, pid, logs and temp paths: keep it alive as
/// long as the child.
pub(super) fn start(site: &Path) -> anyhow::Result<(Child, SocketAddr, tempfile::TempDir)> {
    let dir = tempfile::Builder::new()
        .prefix("wip-bench-nginx")
        .tempdir()?;
    // A free loopback port: bind :0, read it, release it for nginx.
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let conf = dir.path().join("nginx.conf");
    std::fs::write(&conf, config(dir.path(), site, port))?;
    let child = Command::new("/usr/sbin/nginx")
        .arg("-p")
        .arg(dir.path())
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting nginx")?;
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(addr).is_err() {
        if Instant::now() > deadline {
            bail!(
                "nginx did not listen on {addr}; see {}",
                dir.path().join("error.log").display()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok((child, addr, dir))
}

/// nginx as a CDN origin would be configured: precompressed siblings,
/// sendfile, open_file_cache, the same cache and nosniff headers.
fn config(dir: &Path, site: &Path, port: u16) -> String {
    let d = dir.display();
    let site = site.display();
    format!(
        r#"daemon off;
master_process on;
worker_processes 2;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
load_module {BROTLI_MODULE};
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_requests 100000;
    open_file_cache max=1000 inactive=60s;
    open_file_cache_valid 60s;
    types {{
        application/wasm wasm;
        text/javascript js;
        text/html html;
        text/css css;
        application/json json;
    }}
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port};
        root {site};
        brotli_static on;
        gzip_static on;
        gzip_vary on;
        etag on;
        location / {{
            add_header Cache-Control "public, max-age=31536000, immutable";
            add_header X-Content-Type-Options nosniff;
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
    fn config_serves_the_site_precompressed_on_the_given_port() {
        let conf = config(Path::new("/tmp/x"), Path::new("/srv/site"), 4242);
        assert!(conf.contains("listen 127.0.0.1:4242;"), "{conf}");
        assert!(conf.contains("root /srv/site;"), "{conf}");
        assert!(conf.contains("brotli_static on;"), "{conf}");
        assert!(
            conf.contains(&format!("load_module {BROTLI_MODULE};")),
            "{conf}"
        );
        assert!(conf.contains("application/wasm wasm;"), "{conf}");
        assert!(conf.contains("pid /tmp/x/nginx.pid;"), "{conf}");
    }
}
