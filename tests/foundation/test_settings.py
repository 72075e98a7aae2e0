"""Settings (CONTRACT.md section 2): every bad or missing variable is named, never a traceback."""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from dotenv import dotenv_values

from ditbot.cli import main as cli
from ditbot.core import credentials
from ditbot.core.credentials import GENERATE
from ditbot.core.settings import Settings, SettingsError
from tests.credentials import API_TOKEN, PORTAL_SECRET, SIGNING_SECRET

DITBOT = Path(sys.executable).with_name("ditbot")


def problems_of(environ: dict[str, str], tmp_path: Path, **kwargs: object) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(environ, dotenv=tmp_path / "absent.env", **kwargs)  # type: ignore[arg-type]
    return caught.value.problems


def run_ditbot(
    args: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The installed console script, with a clean environment (only PATH and HOME)."""
    clean = {"PATH": os.environ.get("PATH", ""), "HOME": str(cwd), "LANG": "C.UTF-8"}
    return subprocess.run(
        [str(DITBOT), *args],
        cwd=cwd,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_defaults_of_contract(tmp_path: Path) -> None:
    settings = Settings.from_env({}, dotenv=tmp_path / "absent.env")
    assert settings.database_url == "sqlite:///ditbot.db"
    assert (settings.host, settings.port) == ("127.0.0.1", 3000)
    assert settings.public_url == "http://localhost:3000"
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.api_token is None and settings.channel_portal is None
    assert settings.locale == "fr" and settings.smtp_security == "none"
    assert (settings.smtp_host, settings.smtp_port) == ("localhost", 25)


def test_every_invalid_variable_is_named_in_one_run(tmp_path: Path) -> None:
    problems = problems_of(
        {
            "DITBOT_PORT": "http",
            "SMTP_SECURITY": "ssl",
            "DITBOT_LOCALE": "de",
            "DITBOT_CHANNEL_PORTAL": "#general",
            "DITBOT_CHANNEL_RELANCES": "managers",
            "SLACK_BOT_TOKEN": "xoxp-user-token",
            "DATABASE_URL": "ditbot.db",
            "DITBOT_MAIL_FROM": "nobody",
            "DITBOT_PUBLIC_URL": "localhost:3000",
            "SMTP_PORT": "0",
        },
        tmp_path,
    )
    text = "\n".join(problems)
    for name in (
        "DITBOT_PORT",
        "SMTP_SECURITY",
        "DITBOT_LOCALE",
        "DITBOT_CHANNEL_PORTAL",
        "DITBOT_CHANNEL_RELANCES",
        "SLACK_BOT_TOKEN",
        "DATABASE_URL",
        "DITBOT_MAIL_FROM",
        "DITBOT_PUBLIC_URL",
        "SMTP_PORT",
    ):
        assert sum(problem.startswith(name) for problem in problems) == 1, (name, text)
    assert "'none', 'starttls' or 'tls'" in text
    assert "channel id such as C0123ABCD" in text
    assert "'fr' or 'en'" in text


@pytest.mark.parametrize(
    ("value", "expected"),
    [("abc", "not a whole number"), ("70000", "between 0 and 65535"), ("-1", "between")],
)
def test_bad_port_refused(tmp_path: Path, value: str, expected: str) -> None:
    (problem,) = problems_of({"DITBOT_PORT": value}, tmp_path)
    assert problem.startswith("DITBOT_PORT") and expected in problem


@pytest.mark.parametrize("value", ["STARTTLS", "tls", "none"])
def test_smtp_security_accepts_its_three_values(tmp_path: Path, value: str) -> None:
    settings = Settings.from_env({"SMTP_SECURITY": value}, dotenv=tmp_path / "absent.env")
    assert settings.smtp_security == value.lower()


@pytest.mark.parametrize("value", ["C0123ABCD", "G01ABCDEF"])
def test_channel_ids_accepted(tmp_path: Path, value: str) -> None:
    settings = Settings.from_env({"DITBOT_CHANNEL_PORTAL": value}, dotenv=tmp_path / "absent.env")
    assert settings.channel_portal == value


def test_required_variables_are_named_with_how_to_get_them(tmp_path: Path) -> None:
    problems = problems_of(
        {"DITBOT_LOCALE": "es"},
        tmp_path,
        required=["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "DITBOT_PORTAL_SECRET"],
    )
    text = "\n".join(problems)
    assert "SLACK_BOT_TOKEN is not set" in text and "OAuth & Permissions" in text
    assert "SLACK_SIGNING_SECRET is not set" in text and "Basic Information" in text
    assert "DITBOT_PORTAL_SECRET is not set" in text and GENERATE in text
    assert "DITBOT_LOCALE" in text  # the invalid one is named in the same run


def test_dotenv_is_read_and_environment_wins(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "# ditbot settings\n"
        "export SLACK_BOT_TOKEN=xoxb-from-dotenv\n"
        f"DITBOT_PORTAL_SECRET='{PORTAL_SECRET} #quoted'\n"
        f'DITBOT_API_TOKEN="{API_TOKEN} with spaces"\n'
        "DITBOT_PORT=4000  # the port\n"
        "DITBOT_LOCALE=en\n"
        "\n"
        "not a setting line\n",
        encoding="utf-8",
    )
    settings = Settings.from_env({"DITBOT_LOCALE": "fr"}, dotenv=dotenv)
    assert settings.slack_bot_token == "xoxb-from-dotenv"
    assert settings.portal_secret == f"{PORTAL_SECRET} #quoted"
    assert settings.api_token == f"{API_TOKEN} with spaces"
    assert settings.port == 4000
    assert settings.locale == "fr"


def test_dotenv_with_a_bom(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_bytes(b"\xef\xbb\xbfSLACK_BOT_TOKEN=xoxb-bom\r\nDITBOT_PORT=3001\r\n")
    settings = Settings.from_env({}, dotenv=dotenv)
    assert (settings.slack_bot_token, settings.port) == ("xoxb-bom", 3001)


def test_postgres_urls_use_psycopg3(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"DATABASE_URL": "postgresql://u@db/ditbot"}, dotenv=tmp_path / "absent.env"
    )
    assert settings.database_url == "postgresql+psycopg://u@db/ditbot"


def test_a_postgres_url_without_the_driver_says_which_extra_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """psycopg is the `[postgres]` extra: an install without it gets the pip line, not a trace."""
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "psycopg" else real_find_spec(name, *a),
    )
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"DATABASE_URL": "postgresql://u@db/x"}, dotenv=tmp_path / "absent")
    assert caught.value.problems == [
        "DATABASE_URL='postgresql://u@db/x' needs the PostgreSQL driver, which is not installed: "
        "pip install 'ditbot[postgres]'."
    ]


def test_serve_with_a_token_and_nothing_else_exits_2_naming_each_variable(tmp_path: Path) -> None:
    """DITBOT_LOCALE unset: a French admin reads French (the default), commands left as typed."""
    # With no token at all, `serve` is the playground (tests/playground/test_serve.py).
    result = run_ditbot(["serve"], tmp_path, {"SLACK_BOT_TOKEN": "xoxb-a-real-looking-token"})
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stderr.startswith(
        "ditbot ne peut pas démarrer, corrigez ces réglages (environnement ou .env)\u202f:\n"
    )
    for name, how in (
        ("SLACK_SIGNING_SECRET", "le Signing Secret sous Basic Information de votre application"),
        ("DITBOT_PORTAL_SECRET", f"générez-en une avec `{GENERATE}`"),
    ):
        line = next(line for line in result.stderr.splitlines() if name in line)
        assert line.startswith(f"  - {name} n’est pas défini\u202f: "), line
        assert how in line, line
    assert "SLACK_APP_TOKEN" not in result.stderr  # only needed with --socket-mode
    assert not (tmp_path / "ditbot.db").exists()  # nothing was started


def test_serve_reads_dotenv_and_names_invalid_and_missing_together(tmp_path: Path) -> None:
    """DITBOT_LOCALE=en in the .env gives English, though the settings cannot be read."""
    (tmp_path / ".env").write_text(
        "SLACK_BOT_TOKEN=xoxb-1\nDITBOT_PORT=eighty\nSMTP_SECURITY=ssl\nDITBOT_LOCALE=en\n",
        encoding="utf-8",
    )
    result = run_ditbot(["serve", "--socket-mode"], tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(
        "ditbot cannot start, fix these settings (environment or .env):\n"
    )
    assert "  - SMTP_SECURITY='ssl' must be 'none', 'starttls' or 'tls'.\n" in result.stderr
    assert "DITBOT_PORT='eighty'" in result.stderr
    assert "SMTP_SECURITY='ssl'" in result.stderr
    assert "SLACK_APP_TOKEN is not set" in result.stderr
    assert "DITBOT_PORTAL_SECRET is not set" in result.stderr
    assert "SLACK_BOT_TOKEN" not in result.stderr  # the .env provided it
    assert "SLACK_SIGNING_SECRET" not in result.stderr  # not needed in Socket Mode


def test_other_commands_refuse_bad_settings_with_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", "not a url")
    monkeypatch.setenv("DITBOT_LOCALE", "en")
    assert cli.main(["db", "upgrade"]) == 2
    err = capsys.readouterr().err
    assert "DATABASE_URL='not a url' is not a database URL" in err
    assert "Traceback" not in err


def test_an_invalid_locale_is_reported_and_the_problems_said_in_french(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", "not a url")
    monkeypatch.setenv("DITBOT_LOCALE", "de")
    assert cli.main(["db", "upgrade"]) == 2
    assert capsys.readouterr().err == (
        "ditbot ne peut pas démarrer, corrigez ces réglages (environnement ou .env)\u202f:\n"
        "  - DATABASE_URL='not a url' n’est pas une URL de base de données, par ex. "
        "sqlite:///ditbot.db ou postgresql+psycopg://user@host/db.\n"
        "  - DITBOT_LOCALE='de' doit être 'fr' ou 'en'.\n"
    )


def test_serve_on_a_taken_port_says_so_and_exits_1(tmp_path: Path) -> None:
    from ditbot.playground.slack_api import FakeSlack

    with FakeSlack() as fake, socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_ditbot(
            ["serve"],
            tmp_path,
            {
                "SLACK_BOT_TOKEN": "xoxb-test",
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "DITBOT_PORTAL_SECRET": PORTAL_SECRET,
                "SLACK_API_URL": fake.base_url,
                "DATABASE_URL": f"sqlite:///{tmp_path / 'ditbot.db'}",
                "DITBOT_PORT": str(port),
            },
        )
    assert result.returncode == 1
    assert f"erreur\u202f: impossible d’écouter sur 127.0.0.1:{port}" in result.stderr
    assert "DITBOT_PORT" in result.stderr
    assert "Traceback" not in result.stderr


def test_dotenv_values_are_taken_as_written(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        'SMTP_PASSWORD=pa${HOME}ss\nDITBOT_API_TOKEN="to${HOME}ken-of-the-rest-api-0123456789"\n',
        encoding="utf-8",
    )
    settings = Settings.from_env({}, dotenv=dotenv)
    assert settings.smtp_password == "pa${HOME}ss"
    assert settings.api_token == "to${HOME}ken-of-the-rest-api-0123456789"


ROOT = Path(__file__).resolve().parents[2]
KEYS = ("SLACK_SIGNING_SECRET", "DITBOT_PORTAL_SECRET", "DITBOT_API_TOKEN")


def test_serve_with_the_secrets_of_env_example_exits_2_naming_each(tmp_path: Path) -> None:
    """`cp .env.example .env && ditbot serve`, as the README says, must not start anything."""
    (tmp_path / ".env").write_bytes((ROOT / ".env.example").read_bytes())
    with socket.socket() as closed:  # a Slack API that does not answer: nothing may call it
        closed.bind(("127.0.0.1", 0))
        slack = f"http://127.0.0.1:{closed.getsockname()[1]}/api/"
    # The environment wins over the .env's DITBOT_LOCALE=fr: this test reads the English.
    result = run_ditbot(["serve"], tmp_path, {"SLACK_API_URL": slack, "DITBOT_LOCALE": "en"})
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    for name in (*KEYS, "SLACK_BOT_TOKEN"):
        (line,) = [line for line in lines if line.startswith(f"  - {name} ")]
        assert "is the example value of .env.example, which anyone can read" in line, line
    example = dotenv_values(ROOT / ".env.example")
    for name in ("DITBOT_PORTAL_SECRET", "DITBOT_API_TOKEN"):
        assert f"{name} is the example value" in result.stderr
        assert str(example[name]) not in result.stderr  # a secret is never printed
    assert GENERATE in result.stderr
    assert "Signing Secret under Basic Information" in result.stderr
    assert not (tmp_path / "ditbot.db").exists()


@pytest.mark.parametrize(
    ("name", "value", "how"),
    [
        ("DITBOT_API_TOKEN", "x" * 31, GENERATE),
        ("DITBOT_PORTAL_SECRET", "abc", GENERATE),
        ("SLACK_SIGNING_SECRET", "a1b2c3d4e5f6a7b8c9d0e1f2", "Basic Information"),
    ],
)
def test_a_key_under_32_characters_is_refused_with_how_to_get_one(
    tmp_path: Path, name: str, value: str, how: str
) -> None:
    (problem,) = problems_of({name: value}, tmp_path)
    assert problem.startswith(f"{name} is too short: {len(value)} characters"), problem
    assert "at least 32" in problem and how in problem
    assert value not in problem


def test_keys_of_32_characters_are_accepted(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "SLACK_SIGNING_SECRET": "8f742231b10e8888abcd99yyyzzz85a5"[:32],
            "DITBOT_PORTAL_SECRET": "p" * 32,
            "DITBOT_API_TOKEN": API_TOKEN,
            "SMTP_PASSWORD": "short",  # not a key: the SMTP server decides what it accepts
        },
        dotenv=tmp_path / "absent.env",
    )
    assert settings.portal_secret == "p" * 32 and settings.api_token == API_TOKEN


def test_an_example_value_is_refused_for_any_secret_in_any_case(tmp_path: Path) -> None:
    example = dotenv_values(ROOT / ".env.example")
    portal_example = str(example["DITBOT_PORTAL_SECRET"])
    problems = problems_of(
        {
            "DITBOT_API_TOKEN": portal_example.upper(),
            "SMTP_PASSWORD": f" {example['DITBOT_API_TOKEN']} ",
        },
        tmp_path,
    )
    assert [p.split(" ")[0] for p in problems] == ["DITBOT_API_TOKEN", "SMTP_PASSWORD"]
    assert all("example value of .env.example" in p for p in problems)


def test_the_published_values_are_those_of_the_files(tmp_path: Path) -> None:
    """ditbot/core/published.py is what the files publish today: regenerate it when they change."""
    from ditbot.core.published import PUBLISHED

    assert credentials.published_in(ROOT) == PUBLISHED, (
        "the example secrets of .env.example, README.md or the packages changed: "
        "run `python -m ditbot.core.credentials` and commit ditbot/core/published.py"
    )
    example = dotenv_values(ROOT / ".env.example")
    for name in (*KEYS, "SLACK_BOT_TOKEN"):
        assert credentials.published(str(example[name])) == ".env.example", name


def test_an_example_in_the_readme_or_a_package_document_is_found(tmp_path: Path) -> None:
    (tmp_path / ".env.example").write_text("# DITBOT_API_TOKEN=\nSLACK_APP_TOKEN=xapp-...\n")
    (tmp_path / "README.md").write_text(
        "```sh\nexport DITBOT_PORTAL_SECRET='from-the-readme'\n```\n"
        'curl -H "Authorization: Bearer $DITBOT_API_TOKEN" # a reference, not a value\n'
        "DITBOT_API_TOKEN=<your token>\n"
    )
    (tmp_path / "ditbot" / "docs").mkdir(parents=True)
    (tmp_path / "ditbot" / "docs" / "proxy.md").write_text('SLACK_SIGNING_SECRET="0123abcd"\n')
    assert credentials.published_in(tmp_path) == {
        "0123abcd": "ditbot/docs/proxy.md",
        "from-the-readme": "README.md",
        "xapp-...": ".env.example",
    }


def test_secrets_are_compared_as_bytes_in_constant_time() -> None:
    assert credentials.same("abc", "abc") and credentials.same(b"abc", "abc")
    assert not credentials.same("abc", "abd") and not credentials.same(None, "abc")
    assert not credentials.same("clé\udcff", "cle")  # no TypeError on non-ASCII text


def test_no_token_or_signature_is_compared_with_equals() -> None:
    """`==` on a secret leaks, through its timing, how much of it a guess got right."""
    secretive = re.compile(r"token|secret|signature|digest|mac\b|csrf|password", re.I)
    values = (ast.Name, ast.Attribute, ast.Subscript)  # len(token), token.count(".") are not
    found = []
    for path in [*ROOT.glob("ditbot/**/*.py"), *ROOT.glob("bot/**/*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Compare) and any(
                isinstance(op, ast.Eq | ast.NotEq) for op in node.ops
            ):
                operands = [node.left, *node.comparators]
                names = [ast.unparse(o) for o in operands if isinstance(o, values)]
                if any(secretive.search(name) for name in names):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    assert found == [], "compare secrets with ditbot.core.credentials.same:\n" + "\n".join(found)
