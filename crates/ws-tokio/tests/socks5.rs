//! SOCKS5 proxies: the client against a real SOCKS5 server, Debian's `microsocks`, started
//! here on a free loopback port (without and with username/password), and against scripted
//! fake servers for the byte-level checks: the greeting, the RFC 1929 sub-negotiation, the
//! address type of the CONNECT request (an IP address for `socks5://`, the host name for
//! `socks5h://`), every reply code, each kind of bound address, and proxies that hang up.
//!
//! The tests fail, never skip, when `microsocks` is missing:
//! `apt-get install -y microsocks` (Debian and Ubuntu).

mod support;

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr, TcpListener as StdListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::LIMIT;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use ws_tokio::proxy::{self, ProxyKind, ProxyProblem, ProxyTarget, SocksStep};
use ws_tokio::tap::{self, TapKind};
use ws_tokio::{ConnectOptions, Message, Proxy, Server, ServerOptions, Stage, WsStream, connect};

const INSTALL: &str = "the SOCKS5 tests need the `microsocks` SOCKS5 server: install it with \
                       `apt-get install -y microsocks` (Debian/Ubuntu)";

/// The `microsocks` program on PATH; panics (fails the test) with the install step if missing.
fn microsocks_program() -> PathBuf {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .map(|dir| dir.join("microsocks"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("{INSTALL}"))
}

/// A running `microsocks` on 127.0.0.1, killed when dropped.
struct Microsocks {
    child: Child,
    addr: SocketAddr,
}

impl Microsocks {
    /// Starts microsocks on a free loopback port, with `-u user -P password` if given, and
    /// waits until it accepts connections.
    async fn start(credentials: Option<(&str, &str)>) -> Self {
        let program = microsocks_program();
        for _attempt in 0..5 {
            let port = {
                let probe = StdListener::bind("127.0.0.1:0").unwrap();
                probe.local_addr().unwrap().port()
            };
            let mut command = Command::new(&program);
            command
                .args(["-i", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            if let Some((user, password)) = credentials {
                command.args(["-u", user, "-P", password]);
            }
            let child = command
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}; {INSTALL}", program.display()));
            let mut server = Self {
                child,
                addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            };
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = server.child.try_wait() {
                    break; // It exited: the port was taken meanwhile; try another.
                }
                if answers_socks5(server.addr).await {
                    return server;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        panic!("microsocks did not start listening on 127.0.0.1");
    }
}

/// Whether a SOCKS5 server answers at `addr`. A bare connect is not enough: in the moment
/// between the probe letting go of the port and microsocks binding it, another test's
/// listener can take the port (microsocks then exits), or the connect can meet itself (TCP
/// simultaneous open, when the kernel picks the same port as the source).
async fn answers_socks5(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect(addr).await else {
        return false;
    };
    if stream.local_addr().ok() == stream.peer_addr().ok() {
        return false;
    }
    // Greeting: version 5, two methods (none, username/password).
    if stream.write_all(&[0x05, 0x02, 0x00, 0x02]).await.is_err() {
        return false;
    }
    let mut choice = [0u8; 2];
    let read = tokio::time::timeout(Duration::from_secs(2), stream.read_exact(&mut choice)).await;
    matches!(read, Ok(Ok(_))) && choice[0] == 0x05 && matches!(choice[1], 0x00 | 0x02)
}

impl Drop for Microsocks {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Echoes every message back.
async fn serve_echo(server: Server) {
    while let Ok(incoming) = server.accept().await {
        tokio::spawn(async move {
            let Ok(mut ws) = incoming.upgrade(|_| ws_tokio::Decision::accept()).await else {
                return;
            };
            while let Some(Ok(message)) = ws.recv().await {
                let sent = match message {
                    Message::Text(text) => ws.send_text(text.as_str()).await,
                    Message::Binary(data) => ws.send_binary(data).await,
                    _ => Ok(()),
                };
                if sent.is_err() {
                    break;
                }
            }
        });
    }
}

/// A WebSocket echo server on 127.0.0.1 — and, where the machine has IPv6, on [::1] with
/// the same port, so that `localhost` reaches it whichever address a resolver picks.
async fn echo_server() -> u16 {
    let addr = support::echo_server(ServerOptions::default()).await;
    if let Ok(v6) = Server::bind(format!("[::1]:{}", addr.port()), ServerOptions::default()).await {
        tokio::spawn(serve_echo(v6));
    }
    addr.port()
}

/// A relay to `upstream` that records the bytes the client sent, to see what went to a real
/// SOCKS server.
async fn recording_relay(upstream: SocketAddr) -> (SocketAddr, Arc<Mutex<Vec<u8>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        let Ok((client, _)) = listener.accept().await else {
            return;
        };
        let Ok(server) = TcpStream::connect(upstream).await else {
            return;
        };
        let (mut client_read, mut client_write) = client.into_split();
        let (mut server_read, mut server_write) = server.into_split();
        tokio::spawn(async move {
            let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
        });
        let mut chunk = [0; 4096];
        while let Ok(n) = client_read.read(&mut chunk).await {
            if n == 0 || server_write.write_all(&chunk[..n]).await.is_err() {
                break;
            }
            log.lock().unwrap().extend_from_slice(&chunk[..n]);
        }
        let _ = server_write.shutdown().await;
    });
    (addr, seen)
}

/// Sends a text through `ws` and expects it back.
async fn round_trip<S>(ws: &mut WsStream<S>, text: &str)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    ws.send_text(text).await.unwrap();
    match tokio::time::timeout(LIMIT, ws.recv()).await.unwrap() {
        Some(Ok(Message::Text(back))) => assert_eq!(back.as_str(), text),
        other => panic!("expected the echo, got {other:?}"),
    }
}

fn options(url: String, proxy: String) -> ConnectOptions {
    let mut options = ConnectOptions::new(url);
    options.proxy = Proxy::Url(proxy);
    options
}

// --- Against the real server: microsocks ---

#[tokio::test]
async fn socks5_without_auth_through_microsocks() {
    let socks = Microsocks::start(None).await;
    let port = echo_server().await;
    let (tap, mut events) = tap::channel(256);
    let options = options(
        format!("ws://127.0.0.1:{port}/socks"),
        format!("socks5://{}", socks.addr),
    )
    .with_tap(tap);

    let mut ws = connect(options).await.unwrap();

    assert_eq!(
        ws.handshake().peer_addr,
        Some(socks.addr),
        "TCP goes to the proxy"
    );
    round_trip(&mut ws, "through microsocks").await;
    let mut proxy_named = None;
    while let Some(event) = events.try_recv() {
        if let TapKind::TcpConnected { proxy, .. } = event.kind {
            proxy_named = Some(proxy);
        }
    }
    assert_eq!(proxy_named, Some(Some(socks.addr.to_string())));
}

#[tokio::test]
async fn socks5_with_username_and_password_through_microsocks() {
    let socks = Microsocks::start(Some(("alice", "s:cr3t@x"))).await;
    let port = echo_server().await;
    // The password is percent-decoded from the URL.
    let proxy = format!("socks5://alice:s%3Acr3t%40x@{}", socks.addr);

    let mut ws = connect(options(format!("ws://127.0.0.1:{port}/"), proxy))
        .await
        .unwrap();

    round_trip(&mut ws, "authenticated").await;
}

#[tokio::test]
async fn microsocks_refuses_a_wrong_password_and_missing_credentials() {
    let socks = Microsocks::start(Some(("alice", "right"))).await;
    let port = echo_server().await;
    let url = format!("ws://127.0.0.1:{port}/");

    let err = connect(options(
        url.clone(),
        format!("socks5://alice:wrong@{}", socks.addr),
    ))
    .await
    .unwrap_err();
    assert!(err.is_proxy(), "{err}");
    assert!(
        matches!(
            err.proxy_problem(),
            Some(ProxyProblem::SocksAuthRejected { .. })
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("the SOCKS5 proxy refused the user name and password"),
        "{err}"
    );

    let err = connect(options(url, format!("socks5://{}", socks.addr)))
        .await
        .unwrap_err();
    assert_eq!(
        err.proxy_problem(),
        Some(&ProxyProblem::SocksNoAcceptableMethod {
            credentials_offered: false
        }),
        "{err}"
    );
    assert!(
        err.to_string().contains("socks5://user:password@host:port"),
        "{err}"
    );
}

#[tokio::test]
async fn socks5h_lets_microsocks_resolve_the_host_name() {
    let socks = Microsocks::start(None).await;
    let port = echo_server().await;
    let (relay, seen) = recording_relay(socks.addr).await;

    let mut ws = connect(options(
        format!("ws://localhost:{port}/remote-name"),
        format!("socks5h://{relay}"),
    ))
    .await
    .unwrap();
    round_trip(&mut ws, "resolved by the proxy").await;

    // What reached microsocks: the greeting, then CONNECT with ATYP 0x03 and the name.
    let sent = seen.lock().unwrap().clone();
    let mut expected = vec![5, 1, 0, 5, 1, 0, 3, 9];
    expected.extend_from_slice(b"localhost");
    expected.extend_from_slice(&port.to_be_bytes());
    assert!(
        sent.starts_with(&expected),
        "the CONNECT request should carry the host name: {sent:?}"
    );
}

#[tokio::test]
async fn socks5_resolves_the_host_name_here_and_sends_an_ip_address() {
    let socks = Microsocks::start(None).await;
    let port = echo_server().await;
    let (relay, seen) = recording_relay(socks.addr).await;

    let mut ws = connect(options(
        format!("ws://localhost:{port}/local-name"),
        format!("socks5://{relay}"),
    ))
    .await
    .unwrap();
    round_trip(&mut ws, "resolved here").await;

    let sent = seen.lock().unwrap().clone();
    assert_eq!(&sent[..6], [5, 1, 0, 5, 1, 0], "{sent:?}");
    let address = match sent[6] {
        1 => {
            assert_eq!(&sent[7..11], [127, 0, 0, 1], "{sent:?}");
            &sent[11..13]
        }
        4 => {
            let mut loopback = [0; 16];
            loopback[15] = 1;
            assert_eq!(&sent[7..23], loopback, "{sent:?}");
            &sent[23..25]
        }
        other => panic!("expected an IP address (ATYP 1 or 4), got ATYP {other}: {sent:?}"),
    };
    assert_eq!(address, port.to_be_bytes());
}

#[tokio::test]
async fn all_proxy_naming_microsocks_is_honoured() {
    let socks = Microsocks::start(None).await;
    let port = echo_server().await;
    let all_proxy = format!("socks5h://{}", socks.addr);
    let env = |name: &str| (name == "ALL_PROXY").then(|| all_proxy.clone());

    let target = proxy::resolve_with_env(&Proxy::FromEnv, false, "127.0.0.1", port, &env)
        .unwrap()
        .unwrap();
    assert_eq!(target.kind, ProxyKind::Socks5h);

    // The tunnel carries the upgrade: the echo server answers 101.
    let (mut tunnel, leftover) = proxy::connect(&target, "127.0.0.1", port).await.unwrap();
    assert!(leftover.is_empty());
    tunnel
        .write_all(
            format!(
                "GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n\
                 Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
                 Sec-WebSocket-Version: 13\r\n\r\n"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let mut answer = [0; 12];
    tokio::time::timeout(LIMIT, tunnel.read_exact(&mut answer))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&answer, b"HTTP/1.1 101");
}

#[tokio::test]
async fn microsocks_reports_a_refused_target() {
    let socks = Microsocks::start(None).await;
    let closed = {
        let probe = StdListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };

    let err = connect(options(
        format!("ws://127.0.0.1:{closed}/"),
        format!("socks5://{}", socks.addr),
    ))
    .await
    .unwrap_err();

    assert!(err.is_proxy(), "{err}");
    assert_eq!(
        err.proxy_problem(),
        Some(&ProxyProblem::SocksConnectionRefused),
        "{err}"
    );
}

// --- Against scripted fake servers ---

/// A one-connection fake SOCKS server running `script` on the accepted connection; the
/// script's panics surface through the returned handle.
async fn fake_socks<F, Fut>(script: F) -> (SocketAddr, tokio::task::JoinHandle<()>)
where
    F: FnOnce(TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        script(stream).await;
    });
    (addr, task)
}

/// Reads exactly `n` bytes.
async fn take(stream: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    stream.read_exact(&mut buf).await.unwrap();
    buf
}

/// The CONNECT request for a host name.
fn name_request(name: &str, port: u16) -> Vec<u8> {
    let mut request = vec![5, 1, 0, 3, u8::try_from(name.len()).unwrap()];
    request.extend_from_slice(name.as_bytes());
    request.extend_from_slice(&port.to_be_bytes());
    request
}

/// Tunnels to `host:port` through the proxy at `url`; the number of leftover bytes (always
/// 0 for SOCKS5) comes with the tunnel.
async fn via(url: String, host: &str, port: u16) -> ws_tokio::Result<(TcpStream, usize)> {
    let target = ProxyTarget::from_url(&url).unwrap();
    proxy::connect(&target, host, port)
        .await
        .map(|(stream, leftover)| (stream, leftover.len()))
}

#[tokio::test]
async fn every_reply_code_is_a_plain_words_problem() {
    let codes = [
        (1, ProxyProblem::SocksGeneralFailure, "general failure"),
        (2, ProxyProblem::SocksNotAllowed, "rules do not allow"),
        (3, ProxyProblem::SocksNetworkUnreachable, "target's network"),
        (
            4,
            ProxyProblem::SocksHostUnreachable,
            "cannot reach the target host",
        ),
        (5, ProxyProblem::SocksConnectionRefused, "target refused"),
        (6, ProxyProblem::SocksTtlExpired, "TTL expired"),
        (7, ProxyProblem::SocksCommandNotSupported, "CONNECT command"),
        (
            8,
            ProxyProblem::SocksAddressTypeNotSupported {
                sent_host_name: true,
            },
            "use socks5:// to resolve them here",
        ),
        (
            0x42,
            ProxyProblem::SocksUnknownReply { code: 0x42 },
            "unknown reply code 0x42",
        ),
    ];
    for (code, problem, words) in codes {
        let (addr, fake) = fake_socks(move |mut s| async move {
            assert_eq!(take(&mut s, 3).await, [5, 1, 0]);
            s.write_all(&[5, 0]).await.unwrap();
            let request = name_request("example.test", 443);
            assert_eq!(take(&mut s, request.len()).await, request);
            s.write_all(&[5, code, 0, 1, 0, 0, 0, 0, 0, 0])
                .await
                .unwrap();
        })
        .await;
        let err = via(format!("socks5h://{addr}"), "example.test", 443)
            .await
            .unwrap_err();
        fake.await.unwrap();
        assert!(err.is_proxy(), "{err}");
        assert_eq!(err.proxy_problem(), Some(&problem), "code {code}: {err}");
        assert!(err.to_string().contains(words), "code {code}: {err}");
    }
}

#[tokio::test]
async fn the_handshake_bytes_with_credentials_and_each_bound_address_type() {
    let bound_addresses: [Vec<u8>; 3] = [
        vec![1, 10, 0, 0, 1, 0x1f, 0x90],
        {
            let mut v6 = vec![4];
            v6.extend_from_slice(&[0xfd; 16]);
            v6.extend_from_slice(&[0, 80]);
            v6
        },
        {
            let mut name = vec![3, 11];
            name.extend_from_slice(b"bound.local");
            name.extend_from_slice(&[1, 187]);
            name
        },
    ];
    for bound in bound_addresses {
        let (addr, fake) = fake_socks(move |mut s| async move {
            assert_eq!(take(&mut s, 4).await, [5, 2, 0, 2], "both methods offered");
            s.write_all(&[5, 2]).await.unwrap();
            let mut auth = vec![1, 5];
            auth.extend_from_slice(b"al ce");
            auth.push(4);
            auth.extend_from_slice(b"p:w@");
            assert_eq!(take(&mut s, auth.len()).await, auth);
            s.write_all(&[1, 0]).await.unwrap();
            // An IP target is sent as an IP address, even with socks5h://.
            assert_eq!(
                take(&mut s, 10).await,
                [5, 1, 0, 1, 127, 0, 0, 1, 0x30, 0x39]
            );
            let mut reply = vec![5, 0, 0];
            reply.extend_from_slice(&bound);
            // The tunnel's first bytes come in the same segment as the reply.
            reply.extend_from_slice(b"tunnel");
            s.write_all(&reply).await.unwrap();
            assert_eq!(take(&mut s, 4).await, b"ping");
        })
        .await;
        let (mut tunnel, leftover) = via(
            format!("socks5h://al%20ce:p%3Aw%40@{addr}"),
            "127.0.0.1",
            12345,
        )
        .await
        .unwrap();
        assert_eq!(leftover, 0);
        let mut first = [0; 6];
        tunnel.read_exact(&mut first).await.unwrap();
        assert_eq!(&first, b"tunnel", "the reply was read exactly, no more");
        tunnel.write_all(b"ping").await.unwrap();
        fake.await.unwrap();
    }
}

#[tokio::test]
async fn an_ipv6_target_is_sent_as_an_ipv6_address() {
    let (addr, fake) = fake_socks(|mut s| async move {
        assert_eq!(take(&mut s, 3).await, [5, 1, 0]);
        s.write_all(&[5, 0]).await.unwrap();
        let mut expected = vec![5, 1, 0, 4];
        expected.extend_from_slice(&[0; 15]);
        expected.extend_from_slice(&[1, 0x1f, 0x90]);
        assert_eq!(take(&mut s, expected.len()).await, expected);
        s.write_all(&[5, 0, 0, 1, 0, 0, 0, 0, 0, 0]).await.unwrap();
    })
    .await;
    via(format!("socks5://{addr}"), "[::1]", 8080)
        .await
        .unwrap();
    fake.await.unwrap();
}

#[tokio::test]
async fn proxies_that_hang_up_mid_handshake() {
    // Right after the greeting.
    let (addr, fake) = fake_socks(|mut s| async move {
        take(&mut s, 3).await;
    })
    .await;
    let err = via(format!("socks5://{addr}"), "127.0.0.1", 1)
        .await
        .unwrap_err();
    fake.await.unwrap();
    assert_eq!(
        err.proxy_problem(),
        Some(&ProxyProblem::SocksClosedEarly {
            step: SocksStep::Greeting
        }),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("the SOCKS5 proxy closed the connection during the greeting"),
        "{err}"
    );

    // During the username/password check, after half an answer.
    let (addr, fake) = fake_socks(|mut s| async move {
        take(&mut s, 4).await;
        s.write_all(&[5, 2]).await.unwrap();
        take(&mut s, 5).await;
        s.write_all(&[1]).await.unwrap();
    })
    .await;
    let err = via(format!("socks5://u:p@{addr}"), "127.0.0.1", 1)
        .await
        .unwrap_err();
    fake.await.unwrap();
    assert_eq!(
        err.proxy_problem(),
        Some(&ProxyProblem::SocksClosedEarly {
            step: SocksStep::Authentication
        }),
        "{err}"
    );

    // In the middle of the CONNECT reply's bound address.
    let (addr, fake) = fake_socks(|mut s| async move {
        take(&mut s, 3).await;
        s.write_all(&[5, 0]).await.unwrap();
        take(&mut s, 10).await;
        s.write_all(&[5, 0, 0, 1, 127, 0]).await.unwrap();
    })
    .await;
    let err = via(format!("socks5://{addr}"), "127.0.0.1", 1)
        .await
        .unwrap_err();
    fake.await.unwrap();
    assert_eq!(
        err.proxy_problem(),
        Some(&ProxyProblem::SocksClosedEarly {
            step: SocksStep::Connect
        }),
        "{err}"
    );
    assert!(
        err.to_string().contains("during the CONNECT request"),
        "{err}"
    );
}

#[tokio::test]
async fn answers_that_are_not_socks5_or_choose_badly() {
    // An HTTP proxy behind a socks5:// URL.
    let (addr, fake) = fake_socks(|mut s| async move {
        take(&mut s, 3).await;
        let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
    })
    .await;
    let err = via(format!("socks5://{addr}"), "127.0.0.1", 1)
        .await
        .unwrap_err();
    fake.await.unwrap();
    assert_eq!(err.proxy_problem(), Some(&ProxyProblem::NotSocks5), "{err}");
    assert!(err.to_string().contains("use http://"), "{err}");

    // No acceptable method although credentials were offered.
    let (addr, fake) = fake_socks(|mut s| async move {
        take(&mut s, 4).await;
        s.write_all(&[5, 0xff]).await.unwrap();
    })
    .await;
    let err = via(format!("socks5://u:p@{addr}"), "127.0.0.1", 1)
        .await
        .unwrap_err();
    fake.await.unwrap();
    assert_eq!(
        err.proxy_problem(),
        Some(&ProxyProblem::SocksNoAcceptableMethod {
            credentials_offered: true
        }),
        "{err}"
    );

    // Username/password chosen though only "no authentication" was offered.
    let (addr, fake) = fake_socks(|mut s| async move {
        take(&mut s, 3).await;
        s.write_all(&[5, 2]).await.unwrap();
    })
    .await;
    let err = via(format!("socks5://{addr}"), "127.0.0.1", 1)
        .await
        .unwrap_err();
    fake.await.unwrap();
    assert_eq!(
        err.proxy_problem(),
        Some(&ProxyProblem::SocksUnexpectedMethod { method: 2 }),
        "{err}"
    );

    // A bound address of an unknown type.
    let (addr, fake) = fake_socks(|mut s| async move {
        take(&mut s, 3).await;
        s.write_all(&[5, 0]).await.unwrap();
        take(&mut s, 10).await;
        s.write_all(&[5, 0, 0, 7, 0, 0, 0, 0]).await.unwrap();
    })
    .await;
    let err = via(format!("socks5://{addr}"), "127.0.0.1", 1)
        .await
        .unwrap_err();
    fake.await.unwrap();
    assert_eq!(
        err.proxy_problem(),
        Some(&ProxyProblem::SocksUnknownAddressType { address_type: 7 }),
        "{err}"
    );
}

/// The connect timeout (which covers the proxy) on a paused clock: the proxy has our
/// greeting (it says so) and never answers; the timeout fires at exactly 300 ms of virtual
/// time.
#[tokio::test(start_paused = true)]
async fn a_silent_socks_proxy_fails_within_the_connect_timeout() {
    let hold = support::ClockHold::new();
    let (greeted, greeting_seen) = tokio::sync::oneshot::channel();
    let (addr, _fake) = fake_socks(|mut s| async move {
        take(&mut s, 3).await;
        let _ = greeted.send(());
        tokio::time::sleep(LIMIT).await;
    })
    .await;
    let mut options = options("ws://127.0.0.1:1/".to_owned(), format!("socks5://{addr}"));
    options.timeouts.connect = Duration::from_millis(300);
    let started = tokio::time::Instant::now();
    let connecting = tokio::spawn(connect(options));
    tokio::time::timeout(LIMIT, greeting_seen)
        .await
        .unwrap()
        .unwrap();
    hold.release().await;

    let err = tokio::time::timeout(LIMIT, connecting)
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();

    assert!(err.is_timeout(), "{err}");
    assert_eq!(err.timeout_stage(), Some(Stage::Proxy));
    assert_eq!(started.elapsed(), Duration::from_millis(300));
}
