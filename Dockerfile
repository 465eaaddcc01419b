# The rescued image: API, worker and CLI in one; the compose file picks the role by command.
# It runs as the unprivileged user "rescued": node carries only the file capability CAP_NET_BIND_SERVICE, so
# that the API process can bind TFTP's port 69 (RESCUED_TFTP_PORT=69) without root. The code in /app belongs to
# root and is read-only to the service; only /data (the data folder, RESCUED_CA_DIR's default /data/ca) is its.
FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ipmitool fence-agents openssh-client ca-certificates tini libcap2-bin \
      pxelinux syslinux-common ipxe grub-efi-amd64-signed \
 && setcap cap_net_bind_service=+ep "$(command -v node)" \
 && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 rescued \
 && useradd --system --uid 10001 --gid rescued --home-dir /data --no-create-home --shell /usr/sbin/nologin rescued \
 && mkdir -p /data/ca \
 && chown -R rescued:rescued /data \
 && chmod 0700 /data
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY . .
ENV RESCUED_DATA_DIR=/data RESCUED_API_HOST=0.0.0.0 RESCUED_API_PORT=8080 HOME=/data \
    NPM_CONFIG_CACHE=/tmp/npm-cache NPM_CONFIG_UPDATE_NOTIFIER=false
USER rescued:rescued
VOLUME /data
EXPOSE 8080 69/udp
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["npm", "run", "api"]
