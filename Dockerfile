# One image for every GridCommons process (gateway, services, workers, migrations); the
# command picks the process (see docker-compose.yml and deploy/README.md).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    GRIDCOMMONS_ROOT=/app

WORKDIR /app

# Third-party dependencies first, pinned by constraints.txt: this layer is rebuilt only when the
# pins or the kernel's dependency list change, not on every source edit.
COPY constraints.txt ./
COPY shared/pyproject.toml shared/pyproject.toml
COPY gateway/pyproject.toml gateway/pyproject.toml
RUN python -c "import tomllib; [print(d) for p in ('shared', 'gateway') for d in tomllib.load(open(p + '/pyproject.toml', 'rb'))['project']['dependencies'] if d != 'gridcommons']" > /tmp/requirements.txt \
    && pip install -c constraints.txt -r /tmp/requirements.txt

# The repository, then each distribution (the kernel and every entry of deploy/services.toml) in
# editable mode, as `make install` does: the code runs from /app, where deploy/services.toml and
# the migrations live too.
COPY . .
RUN pip install -c constraints.txt $(python shared/gridcommons/registry.py editables) \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin gridcommons

USER gridcommons

# Services listen on their registry port (deploy/services.toml); only the gateway is public.
EXPOSE 8000

CMD ["uvicorn", "gateway.app:create_app", "--factory", "--host", "0.0.0.0", "--port", "8000", "--no-proxy-headers"]
