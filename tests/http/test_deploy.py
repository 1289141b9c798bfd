"""The deployment files: read carefully by machine, and run where this machine can run them.

Docker is not available to the tests, so the image is not built here. Instead the Dockerfile,
the compose file and the systemd units are checked against the repository (every file they
copy or run exists, every setting they pass is one the app reads), and the container's start
script is run as the image runs it: db-upgrade, then gunicorn with deploy/gunicorn.conf.py.
"""

from __future__ import annotations

import configparser
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from fnmatch import fnmatch
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

VENV_BIN = Path(sys.executable).parent


def dockerfile_stages() -> list[dict]:
    """Each stage's base image, name and instructions (continuation lines joined)."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    stages: list[dict] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        if word == "FROM":
            image, _, name = rest.partition(" AS ")
            stages.append({"image": image.strip(), "name": name.strip(), "lines": []})
        else:
            stages[-1]["lines"].append((word, rest.strip()))
    return stages


def dockerignored(path: str) -> bool:
    patterns = [
        p.strip()
        for p in (ROOT / ".dockerignore").read_text().splitlines()
        if p.strip() and not p.startswith("#")
    ]
    parts = Path(path).parts
    return any(
        fnmatch(path, p)
        or fnmatch(parts[0], p)
        or any(fnmatch(part, p.strip("*/")) for part in parts)
        for p in patterns
    )


def test_the_image_is_debian_slim_built_in_stages_and_runs_as_a_plain_user():
    stages = dockerfile_stages()
    for stage in stages:
        assert re.fullmatch(r"[\w./-]+:[\w.-]*(bookworm-slim|slim-bookworm)", stage["image"]), (
            stage["image"]
        )
    final = stages[-1]["lines"]
    users = [rest for word, rest in final if word == "USER"]
    assert users and users[-1] not in ("root", "0")
    words = [word for word, _ in final]
    assert words.index("USER") < words.index("CMD")
    healthcheck = next(rest for word, rest in final if word == "HEALTHCHECK")
    assert "/healthz" in healthcheck
    assert [rest for word, rest in final if word == "EXPOSE"] == ["8000"]
    assert "npm" not in " ".join(rest for _, rest in final)  # Node stays in the build stage


def test_every_file_the_dockerfile_copies_exists_and_is_not_ignored():
    stages = dockerfile_stages()
    names = {stage["name"] for stage in stages if stage["name"]}
    copied: set[str] = set()
    for stage in stages:
        for word, rest in stage["lines"]:
            if word != "COPY":
                continue
            args = rest.split()
            if args[0].startswith("--from="):
                assert args[0].removeprefix("--from=") in names, rest
                continue
            args = [a for a in args if not a.startswith("--")]
            for source in args[:-1]:
                assert (ROOT / source).exists(), f"COPY {source}: no such file"
                assert not dockerignored(source), f"COPY {source}: excluded by .dockerignore"
                copied.add(source)
    # Every module and package the app is made of reaches the image.
    setup = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    needed = {f"{m}.py" for m in setup["py-modules"]} | set(setup["packages"]) | {"templates"}
    assert needed <= copied, needed - copied
    cmd = json.loads(next(rest for word, rest in stages[-1]["lines"] if word == "CMD"))
    start = ROOT / cmd[0].removeprefix("/app/")
    assert start.is_file() and os.access(start, os.X_OK)


def test_the_compose_file_runs_the_app_on_postgresql_behind_the_hosts_proxy():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    app, db = compose["services"]["app"], compose["services"]["db"]
    assert db["image"].startswith("postgres:")
    assert app["depends_on"]["db"]["condition"] == "service_healthy"
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert app["environment"]["DATABASE_URL"].startswith("postgresql://safekeep:")
    assert "@db:5432/safekeep" in app["environment"]["DATABASE_URL"]
    assert all(port.startswith("127.0.0.1:") for port in app["ports"])
    assert app["read_only"] is True and app["build"] == "."
    volume = db["volumes"][0].split(":")[0]
    assert volume in compose["volumes"]  # the data outlives the container


def test_gunicorn_listens_on_loopback_unless_told_and_the_container_is_told():
    settings = {k: v for k, v in os.environ.items() if k != "GUNICORN_BIND"}
    read = "import runpy; print(runpy.run_path('deploy/gunicorn.conf.py')['bind'])"
    done = subprocess.run(
        [sys.executable, "-c", read], cwd=ROOT, env=settings, capture_output=True, text=True
    )
    assert done.stdout.strip() == "127.0.0.1:8000", done.stderr
    # A container's loopback is out of reach of the host's published port: the image listens
    # on its own network, and compose publishes that port on the host's loopback only.
    final = dockerfile_stages()[-1]["lines"]
    env = " ".join(rest for word, rest in final if word == "ENV")
    assert "GUNICORN_BIND=0.0.0.0:8000" in env.split()
    app = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]["app"]
    assert app["environment"]["GUNICORN_BIND"] == "0.0.0.0:8000"
    assert app["ports"] == ["127.0.0.1:8000:8000"]


def test_a_worker_freezes_what_it_loaded_out_of_the_collectors_way():
    read = (
        "import gc, runpy; hook = runpy.run_path('deploy/gunicorn.conf.py')['post_worker_init'];"
        " before = gc.get_freeze_count(); hook(None); print(before, gc.get_freeze_count())"
    )
    done = subprocess.run([sys.executable, "-c", read], cwd=ROOT, capture_output=True, text=True)
    before, after = map(int, done.stdout.split())
    assert before == 0 and after > 10_000, done.stderr


def env_example_keys() -> set[str]:
    keys = set()
    for line in (ROOT / "deploy" / "env.example").read_text().splitlines():
        match = re.match(r"#?\s*([A-Z][A-Z0-9_]+)=", line)
        if match:
            keys.add(match.group(1))
    return keys


def app_settings() -> set[str]:
    return set(re.findall(r'os\.environ\.get\("([A-Z_]+)"', (ROOT / "config.py").read_text()))


def test_every_setting_passed_or_documented_is_one_something_reads():
    compose = (ROOT / "compose.yaml").read_text()
    referenced = set(re.findall(r"\$\{([A-Z_]+)", compose))
    keys = env_example_keys()
    assert referenced <= keys, f"compose reads {referenced - keys}, missing from env.example"
    gunicorn = set(
        re.findall(r'environ\.get\("([A-Z_]+)"', (ROOT / "deploy/gunicorn.conf.py").read_text())
    )
    readers = app_settings() | gunicorn | {"POSTGRES_PASSWORD", "DATABASE_URL"}
    assert keys <= readers, f"env.example names {keys - readers}, which nothing reads"
    compose_env = yaml.safe_load(compose)["services"]["app"]["environment"]
    assert set(compose_env) <= readers, set(compose_env) - readers


def test_the_configuration_manual_documents_every_setting_the_app_reads():
    manual = (ROOT / "docs" / "configuration.md").read_text()
    missing = [key for key in app_settings() if f"`{key}`" not in manual]
    assert not missing, f"docs/configuration.md's table lacks {missing}"


def units() -> dict[str, configparser.ConfigParser]:
    found = {}
    for path in sorted((ROOT / "deploy" / "systemd").iterdir()):
        unit = configparser.ConfigParser(strict=False, interpolation=None)
        unit.optionxform = str  # systemd keys are case-sensitive
        unit.read(path)
        found[path.name] = unit
    return found


def test_the_systemd_units_run_files_that_exist_and_every_timer_has_its_service():
    found = units()
    assert "safekeep.service" in found
    for name, unit in found.items():
        if name.endswith(".timer"):
            assert name.replace(".timer", ".service") in found, name
            assert unit["Install"]["WantedBy"] == "timers.target"
            continue
        service = unit["Service"]
        assert service["User"] == "safekeep" and service["EnvironmentFile"]
        for command in [service["ExecStart"], service.get("ExecStartPre", "")]:
            for path in re.findall(r"/srv/safekeep/(\S+?)(?=['\s]|$)", command):
                assert (ROOT / path).exists() or path.startswith(".venv/"), (name, path)
            for path in re.findall(r"\s(deploy/\S+)", command):
                assert (ROOT / path).exists(), (name, path)
    main = found["safekeep.service"]["Service"]
    assert "db-upgrade" in main["ExecStartPre"] and main["Type"] == "notify"
    assert "gunicorn.conf.py" in main["ExecStart"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, dict, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def test_the_containers_start_script_upgrades_the_database_and_serves_json_logs(tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "PATH": f"{VENV_BIN}:{os.environ['PATH']}",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'safekeep.db'}",
        "SECRET_KEY": "deploy-test",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
    }
    server = subprocess.Popen(
        [str(ROOT / "deploy" / "start.sh")],
        cwd=tmp_path,  # the script finds its own way to the code
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        status = None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                status, _, _ = _get(f"http://127.0.0.1:{port}/healthz")
                break
            except OSError:
                time.sleep(0.2)
        assert status == 200, "gunicorn did not answer /healthz"
        status, headers, html = _get(f"http://127.0.0.1:{port}/sign-in?x=secret-query")
        assert status == 200 and "Sign in" in html and headers["X-Request-ID"]
    finally:
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=30)
    assert server.returncode == 0, err[-2000:]
    assert "Created an empty database at schema version" in out
    lines = [json.loads(line) for line in err.splitlines() if line.strip()]  # all of it JSON
    assert any(line["logger"] == "gunicorn.error" for line in lines)
    requests = [line for line in lines if line["logger"] == "safekeep.request"]
    assert {"/healthz", "/sign-in"} <= {line["route"] for line in requests}
    assert "secret-query" not in err  # no access log with the query string


@pytest.mark.parametrize("script", ["deploy/start.sh", "deploy/safekeep"])
def test_the_shell_scripts_parse(script):
    assert subprocess.run(["sh", "-n", str(ROOT / script)]).returncode == 0


@pytest.mark.parametrize(
    ("database_url", "driver_loaded"),
    [("", False), ("postgresql://safekeep@db/safekeep", True)],
    ids=["sqlite", "postgresql"],
)
def test_the_server_loads_the_postgresql_driver_only_for_postgresql(database_url, driver_loaded):
    # peewee imports psycopg whenever it is installed: about 9 MB in every worker.
    probe = (
        "import runpy, sys; runpy.run_path('deploy/gunicorn.conf.py'); import app; "
        "print(sys.modules.get('psycopg') is not None)"
    )
    env = {**os.environ, "DATABASE_URL": database_url}
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == str(driver_loaded)


def test_a_worker_without_notify_or_single_sign_on_loads_neither_client(tmp_path):
    # Notify's client brings PyJWT and cryptography (about 9 MB a worker), the provider's
    # requests (about 3 MB): a worker that serves pages, signs people in and approves pays for
    # neither unless the council set them up.
    probe = (
        "import runpy, sys; runpy.run_path('deploy/gunicorn.conf.py'); from app import create_app; "
        f"app = create_app({{'SECRET_KEY': 'x', 'SQLITE_PATH': {str(tmp_path / 'w.db')!r}}}); "
        "client = app.test_client(); "
        "assert client.get('/sign-in').status_code == 200; "
        "print(sorted({'cryptography', 'jwt', 'requests'} & sys.modules.keys()))"
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_URL", "NOTIFY_", "SSO_", "OIDC_"))
    }
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("name", "value"),
    [("SMTP_PORT", "25x"), ("SESSION_IDLE_MINUTES", "0"), ("SMTP_TIMEOUT", "inf")],
)
def test_a_setting_from_the_environment_that_cannot_work_stops_the_app_naming_it(
    tmp_path, monkeypatch, name, value
):
    from app import create_app

    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=f"^{name} must be"):
        create_app({"SECRET_KEY": "x", "SQLITE_PATH": str(tmp_path / "never.db")})
