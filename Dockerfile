# syntax=docker/dockerfile:1
# One image for every role: an Orleans silo with the HTTP API co-hosted (default), or the
# HTTP-only gateway tier (Orleans__Role=Gateway). See docs/operations.md and k8s/README.md.
#
#   docker build -t api-platform:dev .
#   docker run --rm -p 8080:8080 -v api-platform-data:/data api-platform:dev   # embedded mode

# ---------------------------------------------------------------- build
FROM --platform=$BUILDPLATFORM mcr.microsoft.com/dotnet/sdk:10.0 AS build
# The image's architecture (amd64, arm64): restore and publish for it, so the silo ships self-contained, runtime and
# app ReadyToRun-compiled into one composite image (src/Silo/Silo.csproj), and starts with little JIT work.
ARG TARGETARCH
WORKDIR /src

# Restore first, from the project files only, so that a source change does not re-download
# packages. Versions are central (Directory.Packages.props); global.json pins the SDK band;
# .editorconfig carries the code-style rules the build enforces.
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/Grains.Interfaces/Grains.Interfaces.csproj src/Grains.Interfaces/
COPY src/Grains/Grains.csproj src/Grains/
COPY src/Gateway/Gateway.csproj src/Gateway/
COPY src/Silo/Silo.csproj src/Silo/
RUN dotnet restore src/Silo/Silo.csproj -a $TARGETARCH

# Only src/ goes into the image build: tests, benchmarks and docs are not needed to publish.
COPY src/ src/
RUN dotnet publish src/Silo -c Release -a $TARGETARCH -o /app --no-restore

# ---------------------------------------------------------------- runtime
# Self-contained: the runtime ships in /app, so the base is the runtime's native dependencies only.
FROM mcr.microsoft.com/dotnet/runtime-deps:10.0 AS runtime
WORKDIR /app

# The embedded (no PostgreSQL) mode keeps its SQLite file and development JWT key here; the
# folder belongs to the non-root user. On Kubernetes (PostgreSQL mode) nothing is written to it.
RUN mkdir -p /data && chown "$APP_UID:$APP_UID" /data
ENV Storage__DataDirectory=/data
# One explicit binding instead of the image's ASPNETCORE_HTTP_PORTS (both set => a warning).
ENV ASPNETCORE_HTTP_PORTS=""
ENV ASPNETCORE_URLS=http://+:8080
# The management listener (GET /metrics): on every interface of the container, not the loopback-only default.
ENV Management__Urls=http://+:9464
# A young generation of 32 MiB (hexadecimal; the runtime reads this setting from the environment only, not from
# runtimeconfig.json). Workstation, concurrent GC otherwise keeps gen0 at a few MiB and collects it dozens of times
# a second under load; see bench/README.md, "A young generation of 32 MiB".
ENV DOTNET_GCgen0size=0x2000000

COPY --from=build /app ./

# The runtime-deps image ships the unprivileged `app` user (UID 1654, in $APP_UID).
USER $APP_UID

# 8080 HTTP API; 11111 Orleans silo-to-silo; 30000 Orleans gateway (clients); 9464 metrics. Never publish
# 11111/30000 outside the cluster network: Orleans traffic is neither authenticated nor encrypted; nor 9464
# to the internet: metrics name routes, plans and grain counts.
EXPOSE 8080 11111 30000 9464

ENTRYPOINT ["/app/ApiPlatform.Silo"]
