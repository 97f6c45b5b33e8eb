# parole: one image for the three processes (`serve`, `worker`, `web`); compose.yaml runs them with Redis.
# Build: docker build -t parole .   Configuration comes from the environment (see README, Configuration).

# The base: any Debian-based image with Python 3.11+ and its venv module (python3 -m venv). Default: the
# official slim image; tests/test_container.py builds with a Debian bookworm made by debootstrap.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: the wheel, from the sources (templates, flows, data, fonts and the emulator's spec inside it)
FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
COPY pyproject.toml setup.py README.md LICENSE ./
COPY bot ./bot
COPY dialogs ./dialogs
COPY nlp ./nlp
COPY emulator ./emulator
COPY whatsapp_emulator ./whatsapp_emulator
COPY templates ./templates
RUN python3 -m venv /opt/build \
    && /opt/build/bin/pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

# --- run: the wheel with the analysis (the `worker` extra: spaCy and its French model), as a non-root user,
# in a virtual environment (/opt/parole: a Debian Python refuses pip outside one)
FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PAROLE_DATA_DIR=/var/lib/parole \
    PATH=/opt/parole/bin:$PATH
COPY --from=build /wheels /wheels
RUN WHEEL="$(find /wheels -name 'parole-*.whl')" \
    && python3 -m venv /opt/parole \
    && pip install --no-cache-dir "parole[worker] @ file://${WHEEL}" \
    && rm -rf /wheels \
    && useradd --system --uid 10001 --home-dir /var/lib/parole --create-home parole
USER 10001
WORKDIR /var/lib/parole
# serve (webhook and web chat), web (admin), worker (/healthz and /metrics)
EXPOSE 8080 8081 8082
# The default command's /healthz (compose.yaml gives `web` and `worker` their own ports'). 503 fails it.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
ENTRYPOINT ["parole"]
CMD ["serve", "--webhook", "--host", "0.0.0.0", "--port", "8080"]
