# The offline load generator image, lab/ab:local.
#
# Built by `lab images` / `lab run` only when the configured load generator image (httpd:2.4 by
# default) is neither present locally nor pullable: the build context's rootfs/ holds the
# host's own `ab` (at /usr/bin/ab) and every shared library `ldd` lists for it, at the same
# paths, plus an empty /tmp. Nothing is fetched.
FROM scratch
COPY rootfs/ /
ENV PATH=/usr/local/bin:/usr/bin:/bin
ENTRYPOINT ["/usr/bin/ab"]
