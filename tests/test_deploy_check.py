"""Production configuration: Django's deploy checks and the compose file."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

from tests.service_checks import require_executable

REPO = Path(__file__).resolve().parent.parent

# Variables that would make the child process anything but production-like.
DEVELOPMENT_ONLY = {
    "DJANGO_ALLOW_ASYNC_UNSAFE",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "CSRF_TRUSTED_ORIGINS",
    "EMAIL_URL",
}


def production_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in DEVELOPMENT_ONLY}
    env.update(overrides)
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_with_production_settings():
    env = production_env(
        DJANGO_DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),  # 67 characters, high entropy
        ALLOWED_HOSTS="example.com",
        EMAIL_URL="smtp+tls://parley:secret@mail.example.com:587",
    )

    result = run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_check_warns_when_production_settings_have_no_mail_server():
    env = production_env(
        DJANGO_DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="example.com",
    )

    result = run([sys.executable, "manage.py", "check"], env)

    assert "parley.W001" in result.stderr
    assert "EMAIL_URL is not set" in result.stderr


def compose_config(tmp_path: Path) -> list[str]:
    """``docker-compose config -q``, blind to a developer's own ``.env`` file."""
    docker_compose = require_executable("docker-compose")
    empty_env_file = tmp_path / "empty.env"
    empty_env_file.write_text("")
    return [docker_compose, "--env-file", str(empty_env_file), "config", "--quiet"]


def test_docker_compose_file_is_valid(tmp_path):
    result = run(
        compose_config(tmp_path), production_env(SECRET_KEY=secrets.token_urlsafe(50))
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_docker_compose_validates_without_a_key_but_parley_refuses_the_placeholder(
    tmp_path,
):
    """`docker-compose config` works anywhere; the app never runs on a known key."""
    env = production_env()
    env.pop("SECRET_KEY", None)
    result = run(compose_config(tmp_path), env)
    assert result.returncode == 0, result.stdout + result.stderr

    placeholder = production_env(
        DJANGO_DEBUG="0",
        ALLOWED_HOSTS="example.com",
        SECRET_KEY="insecure-placeholder-set-SECRET_KEY",
    )
    result = run([sys.executable, "manage.py", "check"], placeholder)
    assert result.returncode != 0
    assert "Set SECRET_KEY" in result.stderr
