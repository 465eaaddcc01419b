# The rescued image: API, worker and CLI in one; the compose file picks the role by command.
FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ipmitool fence-agents openssh-client ca-certificates tini \
      pxelinux syslinux-common ipxe grub-efi-amd64-signed \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY . .
ENV RESCUED_DATA_DIR=/data RESCUED_API_HOST=0.0.0.0 RESCUED_API_PORT=8080
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["npm", "run", "api"]
