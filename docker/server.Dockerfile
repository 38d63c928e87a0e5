# One of the lab's two HTTP servers, statically linked, in an otherwise empty image.
#
# Contract with the lab driver (it builds this through the Docker API, classic builder):
# the build context holds only this file and the static binary, named by BIN.
#   RUSTFLAGS="-C target-feature=+crt-static" \
#     cargo build --release --target x86_64-unknown-linux-gnu -p server
#   cp target/x86_64-unknown-linux-gnu/release/server-async ctx/ && cp docker/server.Dockerfile ctx/Dockerfile
#   docker build --build-arg BIN=server-async --build-arg PORT=45000 -t lab/server-async ctx
# Tune at run time with SERVER_* variables (SERVER_BACKLOG, SERVER_WORKERS, ...) or flags.
FROM scratch
ARG BIN=server-async
ARG PORT=45000
COPY ${BIN} /server
# nobody:nogroup; numeric, since scratch has no /etc/passwd.
USER 65534:65534
EXPOSE ${PORT}
# The server is PID 1 and handles SIGTERM itself: `docker stop` exits 0 within ~1 s.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/server"]
