//! TLS on the listener: the CLI client verifies the server's certificate
//! against a private CA (`--ca-cert`) and refuses it without; plain HTTP to
//! the TLS port fails cleanly and the server goes on serving.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use junction_testkit::binary::{ADMIN, Server, temp_dir};
use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A private CA and a certificate it signed for 127.0.0.1.
fn certificates(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=junction test CA",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    );
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
}

#[test]
fn the_listener_speaks_tls_and_the_cli_verifies_it() {
    let dir = temp_dir("tls");
    certificates(&dir);
    let (cert, key, ca) = (
        dir.join("server.pem"),
        dir.join("server.key"),
        dir.join("ca.pem"),
    );
    let s = Server::start(
        "tls",
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    assert!(
        s.stdout()
            .contains(&format!("junction listening on https://{}", s.addr)),
        "{}",
        s.stdout()
    );
    let url = format!("https://{}", s.addr);
    let list = |ca: Option<&Path>| {
        let mut args = vec![
            "integrations",
            "--server",
            &url,
            "--key",
            ADMIN,
            "--output",
            "json",
        ];
        if let Some(ca) = ca {
            args.extend(["--ca-cert", ca.to_str().unwrap()]);
        }
        args.push("list");
        s.cli(&args)
    };
    let ok = list(Some(&ca));
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&ok.stdout).trim(), "[]");
    // Without the private CA the certificate is not trusted.
    let refused = list(None);
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("TLS with") && err.contains("certificate"),
        "{err}"
    );
    // Plain HTTP to the TLS port: no HTTP answer, the connection ends.
    let mut plain = std::net::TcpStream::connect(&s.addr).unwrap();
    plain
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    plain
        .write_all(
            format!(
                "GET /healthz HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
                s.addr
            )
            .as_bytes(),
        )
        .unwrap();
    let mut got = Vec::new();
    let _ = plain.read_to_end(&mut got);
    assert!(
        !got.starts_with(b"HTTP/"),
        "plain HTTP was answered: {:?}",
        String::from_utf8_lossy(&got)
    );
    // The server goes on serving.
    assert!(list(Some(&ca)).status.success());
    std::fs::remove_dir_all(dir).unwrap();
}
