# The offline oha image, lab/oha:<version>.
#
# Built by `lab images` / `lab run` when a lab file says `loadgen.tool: oha` and names no
# image of its own: the build context's rootfs/ holds a static oha (cargo install oha
# --locked, +crt-static, see loadgen/src/oha_image.rs) at /usr/bin/oha and an empty /tmp.
# Nothing is fetched. With a registry, any image with `oha` on its PATH can be named instead.
FROM scratch
COPY rootfs/ /
ENV PATH=/usr/local/bin:/usr/bin:/bin
ENTRYPOINT ["/usr/bin/oha"]
