//! The thread model keeps a finished connection's thread for the next connection, for
//! `--idle-thread-timeout` (see `server/src/idle_threads.rs`), and only that long.

#[macro_use]
mod common;

use common::{Client, Model, Server};

const N: u64 = 5;

/// `N` connections at once, each with one request answered, then all closed.
fn serve_n_at_once(server: &Server) {
    let mut clients: Vec<Client> = (0..N).map(|_| server.client()).collect();
    for client in &mut clients {
        client.send(b"GET /sleep/50 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    }
    for client in &mut clients {
        assert_eq!(client.response().status, 200);
    }
}

/// A thread server with this `--idle-thread-timeout`, a scraper connection (its thread is
/// counted too), and one wave of `N` connections served and closed.
fn after_one_wave(idle_thread_timeout: &str) -> (Server, Client) {
    let server = Server::start_with(
        Model::Thread,
        &["--idle-thread-timeout", idle_thread_timeout],
    );
    let mut scraper = server.client();
    scraper.scrape();
    serve_n_at_once(&server);
    (server, scraper)
}

/// Two waves of `N` connections: the second is served by the first wave's threads, so
/// no thread is created for it and the threads alive never pass the scraper's + `N`.
#[test]
fn the_next_connections_reuse_idle_threads() {
    let (server, mut scraper) = after_one_wave("60s");
    // Once the first wave's connections are closed, their threads are idle (a thread counts
    // as idle before it lets its connection go) and stay, beside the scraper's own.
    let idle = scraper.scrape_until("server_connections_open", |open| open == 1);
    assert_eq!(idle.value("server_threads_alive"), N + 1, "{}", idle.text);
    assert_eq!(
        idle.value("server_threads_alive_peak"),
        N + 1,
        "{}",
        idle.text
    );
    serve_n_at_once(&server);
    let after = scraper.scrape();
    assert_eq!(
        after.value("server_threads_alive_peak"),
        N + 1,
        "{}",
        after.text
    );
    assert_eq!(after.value("server_threads_alive"), N + 1, "{}", after.text);
}

/// With `--idle-thread-timeout 0` a thread ends with its connection, as before.
#[test]
fn a_zero_timeout_ends_each_thread_with_its_connection() {
    let (_server, mut scraper) = after_one_wave("0");
    scraper.scrape_until("server_threads_alive", |alive| alive == 1);
}
